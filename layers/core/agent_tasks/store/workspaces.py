"""A session's working directory, kept in S3 between RunAgent invocations as one tar.gz.

workspaces/<owner>/<execution>/workspace.tar.gz
"""

from __future__ import annotations

import io
import tarfile
from pathlib import Path

from botocore.exceptions import BotoCoreError, ClientError

from agent_tasks import aws
from agent_tasks.observability import logger
from agent_tasks.settings import get_settings


def workspace_key(owner_id: str, execution_id: str) -> str:
    return f"workspaces/{owner_id}/{execution_id}/workspace.tar.gz"


def restore(owner_id: str, execution_id: str, workdir: Path) -> bool:
    """Unpack the saved working directory into `workdir`; False when none was saved yet."""
    try:
        body = aws.s3().get_object(
            Bucket=get_settings().bucket_name, Key=workspace_key(owner_id, execution_id)
        )
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") in {"NoSuchKey", "404"}:
            return False
        raise
    with tarfile.open(fileobj=io.BytesIO(body["Body"].read()), mode="r:gz") as archive:
        # The "data" filter refuses absolute paths, links out of the directory and special files.
        archive.extractall(workdir, filter="data")
    return True


def save(owner_id: str, execution_id: str, workdir: Path) -> int:
    """Pack `workdir` and store it; returns the archive's size in bytes."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for path in sorted(workdir.rglob("*")):
            if path.is_symlink() or not (path.is_file() or path.is_dir()):
                continue
            archive.add(path, arcname=str(path.relative_to(workdir)), recursive=False)
    data = buffer.getvalue()
    aws.s3().put_object(
        Bucket=get_settings().bucket_name,
        Key=workspace_key(owner_id, execution_id),
        Body=data,
        ContentType="application/gzip",
        ServerSideEncryption="AES256",
    )
    return len(data)


def delete(owner_id: str, execution_id: str) -> bool:
    """Remove the saved working directory; False (logged) when S3 refused: the bucket's lifecycle rule
    removes it later anyway, so a failure here never fails the execution's end."""
    try:
        aws.s3().delete_object(Bucket=get_settings().bucket_name, Key=workspace_key(owner_id, execution_id))
    except (ClientError, BotoCoreError) as error:
        logger.warning(
            "workspace not deleted", extra={"execution_id": execution_id, "error": type(error).__name__}
        )
        return False
    return True
