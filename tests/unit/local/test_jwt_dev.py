"""The development issuer verifies tokens as the HTTP API JWT authorizer does."""

from __future__ import annotations

from pathlib import Path

import jwt
import pytest

from agent_tasks_local.jwt_dev import DevIssuer, TokenRejectedError, bearer_token


@pytest.fixture
def issuer(tmp_path: Path) -> DevIssuer:
    return DevIssuer.load_or_create(tmp_path)


def test_a_minted_token_verifies_with_its_user_as_subject(issuer: DevIssuer) -> None:
    claims = issuer.verify(issuer.mint("alice"))
    assert claims["sub"] == "alice"
    assert claims["aud"] == issuer.audience


def test_the_key_is_kept_so_another_process_agrees(tmp_path: Path) -> None:
    token = DevIssuer.load_or_create(tmp_path).mint("bob")
    assert DevIssuer.load_or_create(tmp_path).verify(token)["sub"] == "bob"
    assert (tmp_path / "dev-signing-key.pem").stat().st_mode & 0o077 == 0


def test_an_expired_token_is_rejected(issuer: DevIssuer) -> None:
    with pytest.raises(TokenRejectedError, match=r"(?i)expired"):
        issuer.verify(issuer.mint("alice", ttl_seconds=-10))


def test_a_token_for_another_audience_is_rejected(issuer: DevIssuer) -> None:
    with pytest.raises(TokenRejectedError, match=r"(?i)audience"):
        issuer.verify(issuer.mint("alice", audience="someone-else"))


def test_a_token_signed_by_another_key_is_rejected(issuer: DevIssuer, tmp_path: Path) -> None:
    other = DevIssuer.load_or_create(tmp_path / "other")
    with pytest.raises(TokenRejectedError, match=r"(?i)signature"):
        issuer.verify(other.mint("alice"))


def test_a_token_from_another_issuer_is_rejected(issuer: DevIssuer) -> None:
    with pytest.raises(TokenRejectedError, match=r"(?i)issuer"):
        issuer.verify(issuer.mint("alice", iss="https://evil.example"))


def test_an_unsigned_token_is_rejected(issuer: DevIssuer) -> None:
    unsigned = jwt.encode(
        {"sub": "alice", "aud": issuer.audience, "iss": issuer.issuer, "exp": 9999999999}, None, "none"
    )
    with pytest.raises(TokenRejectedError):
        issuer.verify(unsigned)


@pytest.mark.parametrize("header", [None, "", "Basic abc", "Bearer", "Bearer   "])
def test_a_missing_or_non_bearer_header_is_rejected(header: str | None) -> None:
    with pytest.raises(TokenRejectedError):
        bearer_token(header)
