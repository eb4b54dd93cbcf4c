"""Trigger filters (pure logic): columns, JSON paths, operators, checks."""

from __future__ import annotations

import pytest

from pulsed.errors import InvalidArgument, NotFound
from pulsed.scheduling.where import TriggerDef, compile_where

ROW = {
    "source": "webhook:github",
    "kind": "pull_request",
    "payload": {"action": "opened", "number": 12, "draft": False, "labels": ["bug", "ui"]},
    "tags": ["a"],
}


@pytest.mark.parametrize(
    ("triples", "matches"),
    [
        ([], True),
        ([["source", "eq", "webhook:github"]], True),
        ([["source", "", "webhook:github"]], True),
        ([["source", "ne", "webhook:github"]], False),
        ([["kind", "contains", "pull"]], True),
        ([["payload.action", "eq", "opened"]], True),
        ([["payload.action", "eq", "closed"]], False),
        ([["payload.number", "gt", "10"]], True),
        ([["payload.number", "le", "11.5"]], False),
        ([["payload.number", "eq", "twelve"]], False),
        ([["payload.draft", "eq", "false"]], True),
        ([["payload.labels.1", "eq", "ui"]], True),
        ([["payload.labels", "contains", "bug"]], True),
        ([["payload.missing", "eq", "x"]], False),
        ([["payload.missing", "ne", "x"]], True),
        ([["payload.action", "eq", "opened"], ["kind", "eq", "push"]], False),
    ],
)
def test_matching(triples: list[list[str]], matches: bool) -> None:
    assert compile_where("ingest", triples).matches(ROW) is matches


def test_refusals() -> None:
    with pytest.raises(InvalidArgument, match="no column 'nope'"):
        compile_where("ingest", [["nope", "eq", "x"]])
    with pytest.raises(InvalidArgument, match="goes into a json column"):
        compile_where("ingest", [["source.x", "eq", "x"]])
    with pytest.raises(InvalidArgument, match="unknown filter operator"):
        compile_where("ingest", [["source", "like", "x"]])
    with pytest.raises(InvalidArgument, match="is int"):
        compile_where("messages", [["priority", "gt", "high"]])
    with pytest.raises(NotFound):
        compile_where("nowhere", [])
    with pytest.raises(InvalidArgument, match="overflow"):
        TriggerDef(on="ingest", overflow="spill").check()
    with pytest.raises(InvalidArgument, match="batch window"):
        TriggerDef(on="ingest", batch_s=-1).check()


def test_options_round_trip() -> None:
    t = TriggerDef(on="events", where=[["event_type", "eq", "x"]], batch_s=5, from_seq=9)
    assert TriggerDef.of(t.options()) == t
    assert TriggerDef.of({"catch_up": True}) is None
    assert compile_where("ingest", [["payload.action", "eq", "opened"]]).texts() == [
        "payload.action=opened"
    ]
