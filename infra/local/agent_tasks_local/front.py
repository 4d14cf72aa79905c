"""The HTTP API front on http://localhost:8000: what API Gateway's HTTP API does, locally.

Routes are read from the template's HttpApi events; the bearer JWT is checked as the JWT
authorizer would (a bad or missing token gets 401 before any function runs); each request
becomes a payload-2.0 event with the claims under requestContext.authorizer.jwt.claims,
and the API function is invoked through Lambda (moto), which runs it in-process.
"""

from __future__ import annotations

import base64
import json
import re
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import boto3
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.serving import BaseWSGIServer, make_server
from werkzeug.wrappers import Request, Response

from agent_tasks_local import limits
from agent_tasks_local.jwt_dev import DevIssuer, TokenRejectedError, bearer_token

_TEXT_TYPES = ("text/", "application/json", "application/xml", "application/javascript")
MAX_BODY_BYTES = int(limits.API_PAYLOAD.value)  # a larger request is a 413, as API Gateway answers


@dataclass(frozen=True)
class Route:
    method: str
    path: str  # as in the template, e.g. /api/v1/tasks/{task_id}
    needs_auth: bool
    pattern: re.Pattern[str]

    @property
    def route_key(self) -> str:
        return f"{self.method} {self.path}"


def routes_from_template(template: dict[str, Any], function_logical_id: str) -> list[Route]:
    """The explicit routes of one function, from its HttpApi events (the SAM template, untransformed)."""
    function = template["Resources"][function_logical_id]
    routes = []
    for event in function["Properties"].get("Events", {}).values():
        if event.get("Type") != "HttpApi":
            continue
        properties = event["Properties"]
        path = properties["Path"]
        auth = properties.get("Auth", {})
        pattern = re.escape(path)
        pattern = re.sub(r"\\\{(\w+)\\\+\\\}", r"(?P<\1>.+)", pattern)  # {proxy+}: the rest of the path
        pattern = re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)", pattern)
        compiled = re.compile("^" + pattern + "$")
        routes.append(Route(properties["Method"].upper(), path, auth.get("Authorizer") != "NONE", compiled))
    # API Gateway prefers the most specific route: literal segments before parameters, greedy last.
    return sorted(routes, key=lambda r: ("+}" in r.path, r.path.count("{"), -len(r.path)))


def _stringify_claims(claims: dict[str, Any]) -> dict[str, str]:
    """HTTP API passes every claim as a string (lists as "[a b]")."""
    out = {}
    for key, value in claims.items():
        if isinstance(value, list):
            out[key] = "[" + " ".join(str(v) for v in value) + "]"
        else:
            out[key] = str(value)
    return out


def _json_response(status: int, message: str, headers: dict[str, str] | None = None) -> Response:
    return Response(
        json.dumps({"message": message}), status=status, content_type="application/json", headers=headers
    )


def _unauthorized(authorization: str | None) -> Response:
    """401 as RFC 6750 §3 says: `Bearer`, with error="invalid_token" when a token was sent."""
    challenge = 'Bearer error="invalid_token"' if authorization else "Bearer"
    return _json_response(401, "Unauthorized", {"WWW-Authenticate": challenge})


class ApiFront:
    def __init__(
        self,
        *,
        routes: list[Route],
        function_name: str,
        issuer: DevIssuer,
        region: str,
        account: str,
        integration_timeout_seconds: float = limits.API_INTEGRATION_TIMEOUT.value,
    ) -> None:
        self._routes = routes
        self.integration_timeout_seconds = integration_timeout_seconds
        self._function_name = function_name
        self._issuer = issuer
        self._account = account
        self._lambda = boto3.client("lambda", region_name=region)
        self._server: BaseWSGIServer | None = None

    # -- WSGI
    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        request = Request(environ)
        response = self.handle(request)
        return response(environ, start_response)

    def handle(self, request: Request) -> Response:
        match = self._match(request.method, request.path)
        if match is None:
            return _json_response(404, "Not Found")
        route, path_parameters = match
        # By Content-Length, or (chunked) by reading one byte past the limit; werkzeug caches the body.
        request.max_content_length = MAX_BODY_BYTES + 1
        try:
            too_large = len(request.get_data()) > MAX_BODY_BYTES
        except RequestEntityTooLarge:
            too_large = True
        if too_large:
            return _json_response(413, "Request Entity Too Large")
        claims: dict[str, Any] | None = None
        if route.needs_auth:
            try:
                claims = self._issuer.verify(bearer_token(request.headers.get("Authorization")))
            except TokenRejectedError:
                return _unauthorized(request.headers.get("Authorization"))
        event = self._event(request, route, path_parameters, claims)
        result = self._invoke_within_timeout(event)
        if result is None:
            return _json_response(504, "Gateway Timeout")
        payload = json.loads(result["Payload"].read() or b"null")
        if result.get("FunctionError") or not isinstance(payload, dict) or "statusCode" not in payload:
            return _json_response(500, "Internal Server Error")
        return self._response(payload)

    def _invoke_within_timeout(self, event: dict[str, Any]) -> dict[str, Any] | None:
        """Invoke the function; None when it has not answered within the integration timeout (the
        function keeps running, as in AWS, but the client gets its 504)."""
        answer: dict[str, Any] = {}

        def invoke() -> None:
            try:
                answer["result"] = self._lambda.invoke(
                    FunctionName=self._function_name, Payload=json.dumps(event).encode()
                )
            except Exception as exc:  # noqa: BLE001 - raised again in the request's thread
                answer["error"] = exc

        worker = threading.Thread(target=invoke, daemon=True, name="api-integration")
        worker.start()
        worker.join(self.integration_timeout_seconds)
        if "error" in answer:
            raise answer["error"]
        result: dict[str, Any] | None = answer.get("result")
        return result

    def _match(self, method: str, path: str) -> tuple[Route, dict[str, str]] | None:
        for route in self._routes:
            if route.method in (method.upper(), "ANY") and (found := route.pattern.match(path)):
                return route, found.groupdict()
        return None

    def _event(
        self, request: Request, route: Route, path_parameters: dict[str, str], claims: dict[str, Any] | None
    ) -> dict[str, Any]:
        body_bytes = request.get_data()

        content_type = request.headers.get("Content-Type", "")
        is_text = not body_bytes or any(content_type.startswith(t) for t in _TEXT_TYPES)
        if is_text:
            try:
                body_bytes.decode("utf-8")
            except UnicodeDecodeError:
                is_text = False  # API Gateway passes undecodable bodies base64-encoded
        headers: dict[str, str] = {}
        for name, value in request.headers.items():
            key = name.lower()
            headers[key] = f"{headers[key]},{value}" if key in headers else value
        query = {key: ",".join(request.args.getlist(key)) for key in request.args}
        now = datetime.now(UTC)
        request_id = str(uuid.uuid4())
        context: dict[str, Any] = {
            "accountId": self._account,
            "apiId": "local",
            "domainName": request.host,
            "domainPrefix": request.host.split(".")[0],
            "http": {
                "method": request.method,
                "path": request.path,
                "protocol": request.environ.get("SERVER_PROTOCOL", "HTTP/1.1"),
                "sourceIp": request.remote_addr or "127.0.0.1",
                "userAgent": request.headers.get("User-Agent", ""),
            },
            "requestId": request_id,
            "routeKey": route.route_key,
            "stage": "$default",
            "time": now.strftime("%d/%b/%Y:%H:%M:%S +0000"),
            "timeEpoch": int(time.time() * 1000),
        }
        if claims is not None:
            context["authorizer"] = {"jwt": {"claims": _stringify_claims(claims), "scopes": None}}
        event: dict[str, Any] = {
            "version": "2.0",
            "routeKey": route.route_key,
            "rawPath": request.path,
            "rawQueryString": request.query_string.decode("latin-1"),
            "headers": headers,
            "requestContext": context,
            "isBase64Encoded": not is_text,
        }
        if request.cookies:
            event["cookies"] = [f"{k}={v}" for k, v in request.cookies.items()]
        if query:
            event["queryStringParameters"] = query
        if path_parameters:
            event["pathParameters"] = path_parameters
        if body_bytes:
            event["body"] = body_bytes.decode("utf-8") if is_text else base64.b64encode(body_bytes).decode()
        return event

    @staticmethod
    def _response(payload: dict[str, Any]) -> Response:
        body = payload.get("body") or ""
        data = base64.b64decode(body) if payload.get("isBase64Encoded") else body.encode("utf-8")
        response = Response(data, status=int(payload["statusCode"]))
        response.headers.clear()
        for name, value in (payload.get("headers") or {}).items():
            response.headers[name] = str(value)
        for name, values in (payload.get("multiValueHeaders") or {}).items():
            for value in values:
                response.headers.add(name, str(value))
        for cookie in payload.get("cookies") or []:
            response.headers.add("Set-Cookie", cookie)
        response.headers["Content-Length"] = str(len(data))
        return response

    # -- server
    def serve(self, host: str, port: int) -> BaseWSGIServer:
        self._server = make_server(host, port, self, threaded=True)
        return self._server
