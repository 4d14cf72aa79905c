"""Who may touch secrets, as template.yaml grants it: the API seals, the executor opens, nobody else
does either, and each only under its own stack's key and encryption context."""

from __future__ import annotations

from typing import Any

from tests.support.template import template

CONTEXT = {
    "kms:EncryptionContext:service": "agent-tasks",
    "kms:EncryptionContext:environment": {"Ref": "Environment"},
}


def statements(function: str) -> list[dict[str, Any]]:
    policies = template()["Resources"][function]["Properties"].get("Policies", [])
    return [s for policy in policies if isinstance(policy, dict) for s in policy.get("Statement", [])]


def kms_statements(function: str) -> list[dict[str, Any]]:
    found = []
    for statement in statements(function):
        actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        if any(str(a).startswith("kms:") for a in actions):
            found.append(statement)
    return found


def test_only_the_api_seals_and_only_the_executor_opens() -> None:
    functions = [
        name for name, r in template()["Resources"].items() if r["Type"] == "AWS::Serverless::Function"
    ]
    grants = {
        name: [s["Action"] for s in kms_statements(name) if not _only_through_sns(s)] for name in functions
    }
    assert grants == {
        name: {"ApiFunction": [["kms:GenerateDataKey"]], "ExecutorFunction": [["kms:Decrypt"]]}.get(name, [])
        for name in functions
    }


def _only_through_sns(statement: dict[str, Any]) -> bool:
    """A grant KMS honours only when SNS calls it for a publish (an encrypted user topic's key)."""
    return statement.get("Condition") == {"StringLike": {"kms:ViaService": "sns.*.amazonaws.com"}}


def test_the_notifier_uses_keys_only_through_sns_so_it_cannot_open_secrets() -> None:
    # Given the notifier's KMS grant (for users' encrypted topics) / Then SNS is its only way in
    (statement,) = kms_statements("NotifierFunction")
    assert _only_through_sns(statement)
    assert "kms:Encrypt" not in statement["Action"]


def test_each_grant_is_this_stacks_key_under_this_stacks_context() -> None:
    for function in ("ApiFunction", "ExecutorFunction"):
        (statement,) = kms_statements(function)
        assert statement["Effect"] == "Allow"
        assert statement["Resource"] == {"Fn::GetAtt": ["SecretsKey", "Arn"]}
        assert statement["Condition"] == {"StringEquals": CONTEXT}
        assert template()["Resources"][function]["Properties"]["Environment"]["Variables"][
            "SECRETS_KEY_ID"
        ] == {"Ref": "SecretsKey"}


def test_the_key_is_the_stacks_own_rotated_and_kept() -> None:
    key = template()["Resources"]["SecretsKey"]
    assert key["Type"] == "AWS::KMS::Key"
    assert key["DeletionPolicy"] == "Retain"
    assert key["Properties"]["EnableKeyRotation"] is True
    # No Secrets Manager access beyond the Anthropic key's own path
    for function in ("ApiFunction", "ExecutorFunction", "ReporterFunction", "SchedulerFunction"):
        for statement in statements(function):
            actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
            if "secretsmanager:GetSecretValue" in actions:
                assert function == "ExecutorFunction"
