"""The loop's cache breakpoints, judged by the local server's prompt-cache accounting."""

from __future__ import annotations

import itertools

from tests.support.prompt_cache import PromptCache
from tests.unit.agent.conftest import LoopHarness

SYSTEM = "You audit the files of a repository and report what changed. " * 120  # above the minimum


def test_a_turn_of_many_parallel_tool_calls_still_reads_the_transcript_from_cache(loop: LoopHarness) -> None:
    # Given a server that accounts the prompt cache, and files to read
    loop.server.prompt_cache = PromptCache(clock=lambda: 0.0)
    for index in range(12):
        (loop.workdir / f"f{index}.txt").write_text(f"file {index}")
    # And a model that lists, then reads twelve files at once (24 new blocks), then answers
    loop.server.reply_tool_use(("list_files", {"pattern": "*.txt"}))
    loop.server.reply_tool_use(*[("read_file", {"path": f"f{i}.txt"}) for i in range(12)])
    loop.server.reply_text("Twelve files.")

    # When the loop runs
    result = loop.run(system_prompt=SYSTEM)

    # Then every turn after the first reads what the turn before it wrote
    assert result.outcome == "completed"
    answers = [m for m in loop.stored if m.role == "assistant"]
    assert answers[0].usage is not None
    assert answers[0].usage.cache_read_input_tokens == 0
    assert answers[0].usage.cache_creation_input_tokens > 0
    for previous, answer in itertools.pairwise(answers):
        assert answer.usage is not None
        assert previous.usage is not None
        written_before = previous.usage.cache_read_input_tokens + previous.usage.cache_creation_input_tokens
        assert answer.usage.cache_read_input_tokens == written_before
