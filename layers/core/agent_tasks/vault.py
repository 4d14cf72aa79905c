"""Sealing and opening secret values: KMS envelope encryption, the one adapter that calls KMS.

Each value gets its own data key from KMS `GenerateDataKey` (AES-256); the value is encrypted
locally with AES-256-GCM, and only the KMS-encrypted data key is kept beside it. Opening calls
KMS `Decrypt`. The KMS encryption context (also the GCM associated data) binds a sealed value to
its stack, owner and name: a sealed value copied to another owner's item, another name or another
stack's table does not open. The API's role may only generate data keys and the executor's may
only decrypt (template.yaml), each under its own stack's key and environment.
"""

from __future__ import annotations

import base64
import json
import os

from botocore.exceptions import BotoCoreError, ClientError

from agent_tasks import aws
from agent_tasks.errors import DomainError
from agent_tasks.models.secrets import SealedValue
from agent_tasks.settings import get_settings

SERVICE = "agent-tasks"


class VaultUnavailable(DomainError):
    """KMS refused or could not be reached; the message says why, never with a value."""

    code = "secrets_unavailable"


def _context(owner_id: str, name: str) -> dict[str, str]:
    return {
        "service": SERVICE,
        "environment": get_settings().environment,
        "owner_id": owner_id,
        "secret_name": name,
    }


def _aad(context: dict[str, str]) -> bytes:
    return json.dumps(context, sort_keys=True, separators=(",", ":")).encode()


def _reason(error: Exception) -> str:
    if isinstance(error, ClientError):
        return str(error.response.get("Error", {}).get("Code") or "ClientError")
    return type(error).__name__


def seal(owner_id: str, name: str, value: str) -> SealedValue:
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    key_id = get_settings().secrets_key_id
    if not key_id:
        raise VaultUnavailable("secrets are not configured in this deployment (SECRETS_KEY_ID is empty)")
    context = _context(owner_id, name)
    try:
        data_key = aws.kms().generate_data_key(KeyId=key_id, KeySpec="AES_256", EncryptionContext=context)
    except (ClientError, BotoCoreError) as error:
        raise VaultUnavailable(f"the secret could not be sealed: KMS answered {_reason(error)}") from error
    nonce = os.urandom(12)
    ciphertext = AESGCM(data_key["Plaintext"]).encrypt(nonce, value.encode("utf-8"), _aad(context))
    return SealedValue(
        key_id=str(data_key.get("KeyId") or key_id),
        encrypted_key=base64.b64encode(data_key["CiphertextBlob"]).decode(),
        nonce=base64.b64encode(nonce).decode(),
        ciphertext=base64.b64encode(ciphertext).decode(),
    )


def open_sealed(owner_id: str, name: str, sealed: SealedValue) -> str:
    """The value; VaultUnavailable (with KMS's reason, or 'integrity check failed') if it cannot be opened."""
    from cryptography.exceptions import InvalidTag
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    context = _context(owner_id, name)
    try:
        answer = aws.kms().decrypt(
            CiphertextBlob=base64.b64decode(sealed.encrypted_key),
            EncryptionContext=context,
            KeyId=sealed.key_id,
        )
    except (ClientError, BotoCoreError) as error:
        raise VaultUnavailable(f"KMS could not decrypt it ({_reason(error)})") from error
    try:
        plain = AESGCM(answer["Plaintext"]).decrypt(
            base64.b64decode(sealed.nonce), base64.b64decode(sealed.ciphertext), _aad(context)
        )
    except (InvalidTag, ValueError) as error:
        raise VaultUnavailable("the stored value failed its integrity check") from error
    return plain.decode("utf-8")
