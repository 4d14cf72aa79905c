"""Moto's TransactWriteItems copies the whole table once per *item* of the transaction.

Before a transaction, moto 5 deep-copies each table it writes, so that a cancelled transaction can be
rolled back; but it does so inside its loop over the transaction's items, overwriting the copy each
time. A task's create transaction (the task, its name lock, audit event, counts and index items) on a
table of n items copied about 8n items; tests that build up a table (the isolation property, the
scheduler's) spent most of their time there.

`copy_each_table_once(monkeypatch)` makes it one copy per table per transaction. The snapshot is the
same one moto kept (every copy is taken before the first write), so rollbacks are unchanged:
tests/unit/test_moto_speed.py checks both.
"""

from __future__ import annotations

import copy
import threading
from typing import Any

import pytest
from moto.dynamodb import models as dynamodb_models
from moto.dynamodb.models.table import Table

_ORIGINAL_TRANSACT = dynamodb_models.DynamoDBBackend.transact_write_items
_state = threading.local()


class _CopyTablesOnce:
    """Stands for the `copy` module inside moto.dynamodb.models: a table is copied once per
    transaction; everything else (items copied by UpdateItem) as before."""

    def __getattr__(self, name: str) -> Any:
        return getattr(copy, name)

    @staticmethod
    def deepcopy(value: Any, memo: dict[int, Any] | None = None) -> Any:
        snapshots: dict[int, Any] | None = getattr(_state, "snapshots", None)
        if snapshots is None or not isinstance(value, Table):
            return copy.deepcopy(value, memo)
        if id(value) not in snapshots:
            snapshots[id(value)] = copy.deepcopy(value, memo)
        return snapshots[id(value)]


def _transact_write_items(self: Any, transact_items: list[dict[str, Any]]) -> None:
    _state.snapshots = {}
    try:
        _ORIGINAL_TRANSACT(self, transact_items)
    finally:
        _state.snapshots = None


def copy_each_table_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """For this test: one table copy per TransactWriteItems (see the module docstring)."""
    monkeypatch.setattr(dynamodb_models, "copy", _CopyTablesOnce())
    monkeypatch.setattr(dynamodb_models.DynamoDBBackend, "transact_write_items", _transact_write_items)
