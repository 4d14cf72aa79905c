"""Checks every request before routing: path ids no longer than any id can be (404 otherwise, before
DynamoDB's key-size limit can turn them into a 500), bodies JSON only (415 otherwise) and valid UTF-8
(400 otherwise; malformed JSON is a 400 from the validation layer).

API Gateway passes any body through; without this a text/plain or undecodable body would reach
the validation layer as something it cannot parse.
"""

from __future__ import annotations

import base64
import binascii
from http import HTTPStatus
from typing import Any

from api_routes.errors import error_response

_JSON_TYPES = ("application/json", "application/problem+json")


MAX_ID_BYTES = 512  # far above any id we make (UUIDs), far below DynamoDB's key limits


def rejected(event: dict[str, Any]) -> dict[str, Any] | None:
    """An error answer (payload 2.0) for a body we will not parse or an id that cannot exist, or None."""
    for value in (event.get("pathParameters") or {}).values():
        if len(str(value).encode("utf-8")) > MAX_ID_BYTES:  # it would exceed DynamoDB's key size: no such id
            return _answer(HTTPStatus.NOT_FOUND, "not_found", "no such resource", loc="path")
    body = event.get("body")
    if not body:
        return None
    headers = {k.lower(): v for k, v in (event.get("headers") or {}).items()}
    content_type = headers.get("content-type", "application/json").split(";")[0].strip().lower()
    if content_type not in _JSON_TYPES:
        return _answer(
            HTTPStatus.UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type", "send the body as application/json"
        )
    try:
        raw = base64.b64decode(body, validate=True) if event.get("isBase64Encoded") else body.encode("utf-8")
        raw.decode("utf-8")  # JSON itself is parsed once, by the validation layer (bad JSON: a 400 there)
    except (binascii.Error, UnicodeError):
        return _answer(HTTPStatus.BAD_REQUEST, "bad_request", "the body is not valid UTF-8 JSON")
    if event.get("isBase64Encoded"):
        event["body"] = raw.decode("utf-8")
        event["isBase64Encoded"] = False
    return None


def _answer(status: HTTPStatus, code: str, message: str, *, loc: str = "body") -> dict[str, Any]:
    response = error_response(status, code, message, [{"loc": [loc], "msg": message, "type": code}])
    return {
        "statusCode": status.value,
        "headers": {"Content-Type": "application/json"},
        "body": response.body,
    }
