"""Following a transcript: `after` reads only newer messages (a key condition), `wait` long-polls, bounded."""

from __future__ import annotations

import uuid
from collections import Counter
from typing import Any

import pytest

from agent_tasks import aws as aws_clients
from agent_tasks.errors import BadRequestError, NotFoundError
from agent_tasks.models.common import utc_now
from agent_tasks.models.executions import ExecutionResponse, Session
from agent_tasks.models.transcript import TranscriptMessage
from agent_tasks.services import sessions as service
from agent_tasks.store import executions as execution_store
from agent_tasks.store import sessions as session_store
from tests.support.executions import pending_execution, stored_task


def _session_with(messages: int, owner: str = "user-1") -> Session:
    task = stored_task(owner)
    execution_id = pending_execution(task, {})
    now = utc_now()
    session = Session(
        id=str(uuid.uuid4()),
        owner_id=owner,
        execution_id=execution_id,
        task_id=task.id,
        name="follow",
        model="claude-sonnet-5-5",
        created_at=now,
        updated_at=now,
    )
    session_store.create(session)
    for seq in range(1, messages + 1):
        _add(session, seq)
    return session


def _add(session: Session, seq: int) -> None:
    role = "user" if seq % 2 else "assistant"
    content = [{"type": "text", "text": f"message {seq}"}]
    session_store.put_message(
        session, TranscriptMessage(seq=seq, role=role, content=content, created_at=utc_now())
    )


class _Scanned:
    """What DynamoDB examined for each Query: a filter would examine the whole transcript."""

    def __init__(self) -> None:
        self.scanned: Counter[str] = Counter()

    def __call__(self, parsed: dict[str, Any], model: Any, **_: Any) -> None:
        if model.name == "Query":
            self.scanned["items"] += int(parsed.get("ScannedCount", 0))
            self.scanned["queries"] += 1


@pytest.fixture
def scanned(aws: dict[str, str]) -> Any:
    counter = _Scanned()
    client = aws_clients.dynamodb()
    client.meta.events.register("after-call.dynamodb", counter)
    yield counter
    client.meta.events.unregister("after-call.dynamodb", counter)


def test_after_answers_only_newer_messages_reading_only_those(aws: dict[str, str], scanned: Any) -> None:
    # Given a session with 40 stored messages
    session = _session_with(40)
    scanned.scanned.clear()
    # When a follower asks for the messages after seq 37
    page = service.list_messages("user-1", session.id, page=1, page_size=50, cursor=None, after=37)
    # Then it gets 38..40, total is the newest seq, and DynamoDB examined only those three messages
    assert [m.seq for m in page.items] == [38, 39, 40]
    assert page.total == 40
    assert scanned.scanned["items"] == 3


def test_after_with_more_than_a_page_says_the_newest_seq(aws: dict[str, str]) -> None:
    # Given 12 messages
    session = _session_with(12)
    # When asking after 2 with pages of 5
    page = service.list_messages("user-1", session.id, page=1, page_size=5, cursor=None, after=2)
    # Then the next five come, and total still says where the transcript ends
    assert [m.seq for m in page.items] == [3, 4, 5, 6, 7]
    assert page.total == 12
    assert page.links["next"] == f"/api/v1/sessions/{session.id}/messages?after=7&page_size=5"


def test_wait_returns_as_soon_as_a_message_lands(aws: dict[str, str]) -> None:
    # Given a running session whose newest message is 2
    session = _session_with(2)
    pauses: list[float] = []

    def pause(seconds: float) -> None:
        # the agent stores message 3 while the follower waits
        pauses.append(seconds)
        if len(pauses) == 2:
            _add(session, 3)

    # When a follower waits up to 20 s for a message after 2
    page = service.list_messages(
        "user-1", session.id, page=1, page_size=50, cursor=None, after=2, wait=20, pause=pause
    )
    # Then it gets message 3 after two short pauses, not 20 s later
    assert [m.seq for m in page.items] == [3]
    assert pauses == [0.2, 0.3]


def test_wait_is_bounded_by_its_seconds_and_pauses_between_reads(aws: dict[str, str]) -> None:
    # Given a session where nothing new arrives, and a clock the pauses move
    session = _session_with(1)
    now = [0.0]
    pauses: list[float] = []

    def pause(seconds: float) -> None:
        pauses.append(seconds)
        now[0] += seconds

    # When a follower asks to wait 999 s (the route allows 20; the service caps it too)
    page = service.list_messages(
        "user-1",
        session.id,
        page=1,
        page_size=50,
        cursor=None,
        after=1,
        wait=999,
        pause=pause,
        clock=lambda: now[0],
    )
    # Then it answers empty after 20 s of pauses, each at least 0.2 s (no busy loop)
    assert page.items == []
    assert page.total == 1
    assert sum(pauses) == pytest.approx(20)
    assert min(pauses) >= 0.2
    assert len(pauses) <= 25


def test_wait_answers_at_once_when_the_execution_has_ended(aws: dict[str, str]) -> None:
    # Given a session whose execution has completed
    session = _session_with(4)
    execution_store.update(session.execution_id, {"status": "completed"})
    pauses: list[float] = []
    # When a follower waits for more after the last message
    page = service.list_messages(
        "user-1", session.id, page=1, page_size=50, cursor=None, after=4, wait=20, pause=pauses.append
    )
    # Then it answers at once, empty: nothing more will come
    assert page.items == []
    assert pauses == []


def test_after_and_cursor_together_are_refused_and_another_users_session_is_not_found(
    aws: dict[str, str],
) -> None:
    session = _session_with(2)
    with pytest.raises(BadRequestError) as refused:
        service.list_messages("user-1", session.id, page=1, page_size=5, cursor="abc", after=1)
    assert refused.value.details[0]["loc"] == ["query", "after"]
    with pytest.raises(NotFoundError):
        service.list_messages("someone-else", session.id, page=1, page_size=5, cursor=None, after=0)


def test_the_execution_answer_says_its_last_message_seq(aws: dict[str, str]) -> None:
    # Given an execution whose steps recorded 6 messages
    task = stored_task()
    execution_id = pending_execution(task, {})
    stored = execution_store.update(execution_id, {"total_messages": 6})
    assert stored is not None
    # When it is answered
    answer = ExecutionResponse.of(stored).model_dump(mode="json", by_alias=True)
    # Then it says where a follower should start
    assert answer["last_message_seq"] == 6
