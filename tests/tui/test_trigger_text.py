"""The Tasks view's trigger column: a stream trigger's source and filter, a SQL
trigger's query on one line."""

from __future__ import annotations

from pulse.v1 import common_pb2, tasks_pb2

from pulsetui.screens.tasks import trigger_text


def test_a_trigger_shows_its_source() -> None:
    stream = tasks_pb2.Task(
        trigger=tasks_pb2.TriggerSpec(
            on="ingest", where=[common_pb2.Filter(column="payload.action", op="eq", value="x")]
        )
    )
    assert trigger_text(stream) == "on ingest where payload.action=x"
    sql = tasks_pb2.Task(trigger=tasks_pb2.TriggerSpec(sql="SELECT *\n  FROM ingest"))
    assert trigger_text(sql) == "sql SELECT * FROM ingest"
