"""Who is calling: the JWT claims the HTTP API authorizer verified, and the request id."""

from __future__ import annotations

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter

from agent_tasks.errors import UnauthorizedError
from agent_tasks.services.actor import Actor

Resolver = APIGatewayHttpResolver | APIGatewayHttpRouter


def caller_id(app: Resolver) -> str:
    """The caller's user id: the verified `sub` claim and nothing else."""
    authorizer = app.current_event.request_context.authorizer
    claims = authorizer.jwt_claim if authorizer else None
    subject = (claims or {}).get("sub")
    if not isinstance(subject, str) or not subject:
        # The authorizer guarantees a token; a token without `sub` is still not a user.
        raise UnauthorizedError("the token has no subject (sub) claim")
    return subject


def request_id(app: Resolver) -> str:
    return app.current_event.request_context.request_id or ""


def actor(app: Resolver) -> Actor:
    """The caller as the services know them: verified user id and this request's id."""
    return Actor(user_id=caller_id(app), request_id=request_id(app))


def header(app: Resolver, name: str) -> str | None:
    """A request header, whatever its case (HTTP API lower-cases them)."""
    headers = app.current_event.headers or {}
    return headers.get(name.lower()) or headers.get(name)
