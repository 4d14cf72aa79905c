"""Writes `agent_tasks_client/models.py` from the API's OpenAPI document: one TypedDict per schema.

The output is then put through `ruff format` (the drift test does the same). The client depends on
an HTTP library only, so its models are TypedDicts (what `json` gives back, typed), not pydantic
classes. `tests/contract/test_client_models.py` regenerates them from the
document `functions/api` builds and fails if the committed file differs: the models cannot drift.

    make client-models
"""

from __future__ import annotations

import json
import keyword
import re
import sys
from typing import Any

HEADER = '''"""The API's shapes, generated from its OpenAPI document (clients/python/codegen.py); do not edit.

Answers are plain JSON objects; these TypedDicts say which keys they have and of what type.
"""

from __future__ import annotations

from typing import Any, Literal, NotRequired, TypedDict
'''
SCALARS = {"string": "str", "integer": "int", "number": "float", "boolean": "bool", "null": "None"}


def class_name(schema_name: str) -> str:
    """`Page_TaskResponse_` -> `PageTaskResponse`, `SdkOptions-Input` -> `SdkOptionsInput`."""
    return "".join(part[:1].upper() + part[1:] for part in re.split(r"[^0-9A-Za-z]+", schema_name) if part)


def annotation(schema: dict[str, Any], known: frozenset[str] = frozenset()) -> str:
    if "$ref" in schema:
        target = schema["$ref"].rsplit("/", 1)[-1]
        # A reference to a schema the document does not define is typed as a plain object.
        return class_name(target) if target in known else "dict[str, Any]"
    if "const" in schema:
        return f"Literal[{json.dumps(schema['const'])}]"
    if "enum" in schema:
        return "Literal[" + ", ".join(json.dumps(v) for v in schema["enum"]) + "]"
    for combinator in ("anyOf", "oneOf"):
        if combinator in schema:
            options: list[str] = []
            for option in schema[combinator]:
                text = annotation(option, known)
                if text not in options:
                    options.append(text)
            return " | ".join(options)
    if "allOf" in schema and len(schema["allOf"]) == 1:
        return annotation(schema["allOf"][0], known)
    kind = schema.get("type")
    if isinstance(kind, list):
        return " | ".join(annotation({**schema, "type": k}, known) for k in kind)
    if kind == "array":
        return f"list[{annotation(schema.get('items', {}), known)}]"
    if kind == "object":
        extra = schema.get("additionalProperties")
        value = annotation(extra, known) if isinstance(extra, dict) and extra else "Any"
        return f"dict[str, {value}]"
    return SCALARS.get(str(kind), "Any")


def typed_dict(name: str, schema: dict[str, Any], known: frozenset[str]) -> str:
    properties: dict[str, Any] = schema.get("properties", {})
    required = set(schema.get("required", []))
    fields = []
    for key, prop in properties.items():
        text = annotation(prop, known)
        fields.append((key, text if key in required else f"NotRequired[{text}]"))
    title = class_name(name)
    doc = " ".join(str(schema.get("description") or schema.get("title") or name).split())
    if all(key.isidentifier() and not keyword.iskeyword(key) for key, _ in fields):
        lines = [f"class {title}(TypedDict):", f'    """{doc}"""', ""]
        lines += [f"    {key}: {text}" for key, text in fields]
        if not fields:
            lines.pop()
        return "\n".join(lines)
    # Keys that are not identifiers need the functional form (types quoted: it is evaluated).
    body = ", ".join(f"{json.dumps(key)}: {json.dumps(text)}" for key, text in fields)
    return f"{title} = TypedDict({json.dumps(title)}, {{{body}}})"


def generate(document: dict[str, Any]) -> str:
    schemas: dict[str, Any] = document.get("components", {}).get("schemas", {})
    known = frozenset(name for name, schema in schemas.items() if "properties" in schema)
    blocks = [typed_dict(name, schemas[name], known) for name in sorted(known)]
    paths = sorted(document.get("paths", {}))
    routes = "\n".join(f"    {json.dumps(path)}," for path in paths)
    return HEADER + "\n\n" + "\n\n\n".join(blocks) + f"\n\n\nROUTES = (\n{routes}\n)\n"


def main(argv: list[str]) -> int:
    with open(argv[1], encoding="utf-8") as handle:
        document = json.load(handle)
    sys.stdout.write(generate(document))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
