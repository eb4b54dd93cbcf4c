"""Trigger filters (pure logic): columns, JSON paths, operators, checks."""

from __future__ import annotations

import re

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


def test_a_sql_trigger_keeps_its_query_and_schedule() -> None:
    sql = "SELECT source\n  FROM ingest WHERE kind = 'a  b'"
    trig = TriggerDef(on="", sql=sql, batch_s=5, sql_epoch=3)
    assert trig.check().conds == () and trig.source == "sql"
    assert trig.schedule == "sql SELECT source FROM ingest WHERE kind = 'a b'"
    again = TriggerDef.of(trig.options())
    assert again == trig and again.sql == sql  # the query run is the one given
    assert TriggerDef.of({"on": "", "sql": ""}) is None


@pytest.mark.parametrize(
    ("trig", "says"),
    [
        (TriggerDef(on="ingest", sql="SELECT * FROM ingest"), "(--on, --where)"),
        (TriggerDef(on="", where=[["kind", "eq", "a"]], sql="SELECT * FROM s"), "not both"),
        (TriggerDef(on="", sql="SELECT * FROM table(ingest)"), "streaming query"),
        (TriggerDef(on="", sql="SELECT * FROM s", overflow="spill"), "overflow"),
    ],
)
def test_a_bad_sql_trigger_is_refused(trig: TriggerDef, says: str) -> None:
    with pytest.raises(InvalidArgument, match=re.escape(says)):
        trig.check()


def test_a_sql_schedule_parses_as_a_trigger() -> None:
    from datetime import UTC, datetime

    from pulsed.scheduling.spec import parse, preview

    sched = parse("sql SELECT * FROM ingest")
    assert sched.kind == "sql" and sched.triggered and not sched.one_shot
    assert sched.next_after(datetime.now(UTC), UTC) is None
    assert preview("sql SELECT * FROM ingest", "") == []
    with pytest.raises(InvalidArgument, match="needs a streaming query"):
        parse("sql")
