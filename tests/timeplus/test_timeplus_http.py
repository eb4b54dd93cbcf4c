"""The Timeplus backend's HTTP plumbing against a loopback server speaking Timeplus' HTTP
protocol (tests/fakes/timeplus.py), through the real timeplus-connect client."""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

from pulsed.store import schema
from pulsed.store.base import make_filters
from pulsed.store.timeplus import LogReader, codec, sqlparts
from pulsed.store.timeplus import filters as tpf
from pulsed.store.timeplus import sql as queries
from pulsed.store.timeplus.http import (
    Endpoint,
    Http,
    RowStream,
    TimeplusConfigError,
    TimeplusQueryError,
    TimeplusUnreachable,
)
from tests.fakes.timeplus import Fail, FakeTimeplus, Live, Request, Rows

WAIT = 10.0


@pytest.fixture
def tp() -> Iterator[FakeTimeplus]:
    with FakeTimeplus() as fake:
        yield fake


def http_for(tp: FakeTimeplus, **kw: Any) -> Http:
    return Http(
        Endpoint(host="127.0.0.1", batch_port=tp.batch_port, stream_port=tp.stream_port, **kw)
    )


class Reader:
    """Iterates a RowStream (or LogReader) in a thread; items land in a queue."""

    def __init__(self, source: Any) -> None:
        self.source = source
        self.items: queue.Queue[Any] = queue.Queue()
        self.error: BaseException | None = None
        self.done = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        try:
            for item in self.source:
                self.items.put(item)
        except BaseException as exc:
            self.error = exc
        finally:
            self.done.set()

    def next(self, timeout: float = WAIT) -> Any:
        return self.items.get(timeout=timeout)


def event_row(i: int, sn: int) -> dict[str, Any]:
    """An events row as Timeplus sends it (64-bit integers quoted)."""
    return {
        "id": f"e{i}",
        "timestamp": "2026-11-21 09:00:00.000",
        "event_type": f"t{i}",
        "source": "",
        "severity": "info",
        "payload": "{}",
        "tags": [],
        "seq": str(i),
        "_tp_sn": str(sn),
    }


def nth_live(lives: list[Live], n: int) -> Live:
    """The ``n``-th streaming answer (1-based) once its response has started."""
    deadline = time.monotonic() + WAIT
    while len(lives) < n:
        assert time.monotonic() < deadline, f"only {len(lives)} streaming queries arrived"
        time.sleep(0.005)
    live = lives[n - 1]
    assert live.started.wait(WAIT)
    return live


def live_since(lives: list[Live], since: float) -> Live:
    """The first streaming answer to a request that arrived after ``since`` (monotonic)."""
    deadline = time.monotonic() + WAIT
    while True:
        for live in list(lives):
            if live.request is not None and live.request.time >= since and live.started.is_set():
                return live
        assert time.monotonic() < deadline, "no streaming query arrived after the restart"
        time.sleep(0.005)


def live_handler(lives: list[Live], when: str = "FROM `default`.`events`") -> Any:
    def handler(req: Request) -> Live | None:
        if req.port == "stream" and when in req.sql:
            live = Live()
            lives.append(live)
            return live
        return None

    return handler


# -- requests and errors ---------------------------------------------------------------------


def test_timeplus_health_is_a_real_select_1(tp: FakeTimeplus) -> None:
    http = http_for(tp)
    http.ping()
    assert tp.wait_request(lambda r: r.sql.startswith("SELECT 1 AS ok"))
    tp.handler = lambda r: (
        Fail(241, "Memory limit exceeded", "MEMORY_LIMIT_EXCEEDED")
        if r.sql.startswith("SELECT 1")
        else None
    )
    with pytest.raises(TimeplusQueryError, match="Memory limit exceeded") as err:
        http.ping()
    assert err.value.code == 241
    http.close()


def test_timeplus_unreachable_server_is_reported_as_such() -> None:
    with FakeTimeplus() as fake:
        ep = Endpoint(host="127.0.0.1", batch_port=fake.batch_port, stream_port=fake.stream_port)
    http = Http(ep)  # the fake has stopped: nothing listens on its ports
    with pytest.raises(TimeplusUnreachable, match="refused to connect") as err:
        http.ping()
    assert err.value.maybe_sent is False
    assert "127.0.0.1" in err.value.message


def test_timeplus_refused_credentials_are_a_configuration_error(tp: FakeTimeplus) -> None:
    tp.handler = lambda r: Fail(516, "default: Authentication failed", "AUTHENTICATION_FAILED", 401)
    with pytest.raises(TimeplusConfigError, match="user and password"):
        http_for(tp).ping()
    tp.handler = lambda r: Fail(81, "Database pulse doesn't exist", "UNKNOWN_DATABASE", 404)
    with pytest.raises(TimeplusConfigError, match="database"):
        http_for(tp).ping()


def test_timeplus_values_reach_the_server_as_parameters(tp: FakeTimeplus) -> None:
    http = http_for(tp)
    for value in ("'; DROP STREAM messages; --", "back\\slash", "tab\tand\nnewline", "✓ 😀"):
        cs = tpf.checks(
            schema.MESSAGES, make_filters(schema.MESSAGES, [("session_id", "eq", value)])
        )
        stmt = queries.select_rows(sqlparts.Names(), schema.MESSAGES, cs, limit=5)
        http.query(stmt)
        req = tp.queries("FROM table(`default`.`messages`)")[-1]
        assert value not in req.sql
        assert req.params == {"p0": value}
        assert req.args["param_p0"] != "" and "FORMAT JSONEachRow" in req.sql
    http.close()


def test_timeplus_insert_names_its_columns(tp: FakeTimeplus) -> None:
    http = http_for(tp)
    rows = [
        codec.encode_row(
            schema.EVENTS,
            {
                "id": "a",
                "timestamp": "2026-11-21T09:00:00.000Z",
                "event_type": "x",
                "source": "",
                "severity": "",
                "payload": {"k": "it's"},
                "tags": ["t"],
            },
            5,
        )
    ]
    http.insert(
        sqlparts.Names().of("events"),
        [*schema.EVENTS.column_names, "seq"],
        codec.rows_to_json(rows),
        "a test",
    )
    [stored] = tp.rows("events")
    assert stored["payload"] == '{"k":"it\'s"}' and stored["seq"] == 5 and stored["_tp_sn"] == 0
    req = tp.queries("INSERT INTO")[-1]
    assert req.sql.startswith("INSERT INTO `default`.`events` (`id`, `timestamp`")
    assert req.sql.endswith("FORMAT JSONEachRow") and req.port == "batch"
    http.close()


# -- streaming reads -------------------------------------------------------------------------


def start_stream(tp: FakeTimeplus, http: Http, lives: list[Live]) -> tuple[RowStream, Live]:
    tp.handler = live_handler(lives, "FROM x")
    rs = http.stream(sqlparts.Statement("SELECT * FROM x"))
    return rs, nth_live(lives, len(lives) or 1)


def test_timeplus_stream_rows_arrive_one_by_one(tp: FakeTimeplus) -> None:
    http = http_for(tp)
    lives: list[Live] = []
    rs, live = start_stream(tp, http, lives)
    assert live.request is not None and live.request.port == "stream"
    reader = Reader(rs)
    for i in range(3):
        live.put({"n": i, "text": "x" * i})
        # Each row is read while the response is still open and nothing follows it.
        assert reader.next() == {"n": i, "text": "x" * i}
    live.end()
    assert reader.done.wait(WAIT) and reader.error is None
    http.close()


def test_timeplus_stream_cancel_is_immediate(tp: FakeTimeplus) -> None:
    http = http_for(tp)
    lives: list[Live] = []
    rs, live = start_stream(tp, http, lives)
    reader = Reader(rs)
    live.put({"n": 1})
    assert reader.next() == {"n": 1}
    t0 = time.monotonic()
    rs.close()
    assert reader.done.wait(WAIT) and reader.error is None
    assert time.monotonic() - t0 < 1.0, "a blocked read did not end at once"
    # The server stops too: the connection is gone and the query is killed by id.
    assert live.cancelled.wait(WAIT)
    kill = tp.wait_request(lambda r: r.sql.startswith("KILL QUERY"))
    assert kill.params == {"p0": rs.query_id} and kill.port == "batch"
    assert live.request is not None and live.request.query_id == rs.query_id
    http.close()


def test_timeplus_idle_stream_stays_open(tp: FakeTimeplus) -> None:
    http = http_for(tp, query_timeout_s=1.0)  # batch queries give up after 1 s...
    lives: list[Live] = []
    rs, live = start_stream(tp, http, lives)
    reader = Reader(rs)
    # ...but a streaming read has no read timeout: nothing comes for twice as long.
    assert not reader.done.wait(2.0)
    assert not live.cancelled.is_set()
    live.put({"late": True})
    assert reader.next() == {"late": True}
    rs.close()
    http.close()


def test_timeplus_error_mid_stream_surfaces_as_an_error(tp: FakeTimeplus) -> None:
    http = http_for(tp)
    lives: list[Live] = []
    rs, live = start_stream(tp, http, lives)
    reader = Reader(rs)
    live.put({"n": 1})
    assert reader.next() == {"n": 1}
    live.fail(394, "Query was cancelled", "QUERY_WAS_CANCELLED")
    assert reader.done.wait(WAIT)
    assert isinstance(reader.error, TimeplusQueryError)
    assert reader.error.code == 394 and "Query was cancelled" in reader.error.message
    http.close()


def test_timeplus_compact_stream_names_columns_first(tp: FakeTimeplus) -> None:
    http = http_for(tp)
    lives: list[Live] = []
    tp.handler = live_handler(lives, "FROM x")
    rs = http.stream(
        sqlparts.Statement("SELECT a, b FROM x"), fmt="JSONCompactEachRowWithNamesAndTypes"
    )
    assert lives[-1].started.wait(WAIT)
    reader = Reader(rs)
    lives[-1].items.put(["a", "b"])  # raw lines: names, types, then rows
    lives[-1].items.put(["string", "int64"])
    lives[-1].items.put(["x", "1"])
    assert reader.next() == ["x", "1"]
    assert rs.columns == ["a", "b"] and rs.types == ["string", "int64"]
    lives[-1].end()
    assert reader.done.wait(WAIT) and reader.error is None
    assert "FORMAT JSONCompactEachRowWithNamesAndTypes" in (
        lives[-1].request.sql if lives[-1].request else ""
    )
    http.close()


# -- resumable tails ---------------------------------------------------------------------------


def test_timeplus_tail_survives_a_server_restart(tp: FakeTimeplus) -> None:
    lives: list[Live] = []
    tp.handler = live_handler(lives)
    http = http_for(tp)
    log = LogReader(http, sqlparts.Names(), schema.EVENTS, [], 0, retry_min_s=0.02, retry_max_s=0.2)
    reader = Reader(log)
    first = tp.wait_request(lambda r: "_tp_sn >" in r.sql)
    # Nothing stored yet: the streaming read starts before the first batch.
    assert first.params == {"p0": "-1", "p1": "0"} and first.port == "stream"
    nth_live(lives, 1).put(event_row(1, 0), event_row(2, 1), event_row(3, 1))
    assert [r.seq for r in reader.next()] == [1]
    assert [r.seq for r in reader.next()] == [2]
    assert [r.seq for r in reader.next()] == [3]
    tp.stop()
    restarted = time.monotonic()  # every request from here on reaches the new server
    tp.start()
    live = live_since(lives, restarted)
    assert live.request is not None
    # Resumed after the last whole batch (0); batch 1 is read again, its rows dropped by seq.
    assert live.request.params == {"p0": "0", "p1": "3"}
    live.put(event_row(2, 1), event_row(3, 1), event_row(4, 2))
    row = reader.next()
    assert [r.seq for r in row] == [4] and row[0]["event_type"] == "t4"
    assert log.connects >= 2
    log.close()
    assert reader.done.wait(WAIT) and reader.error is None
    http.close()


def test_timeplus_tail_reads_history_when_the_log_cannot_serve_the_cursor(tp: FakeTimeplus) -> None:
    lives: list[Live] = []
    refused = {"n": 0}

    def handler(req: Request) -> Any:
        if req.port == "stream" and "_tp_sn >" in req.sql:
            if refused["n"] == 0:
                refused["n"] += 1
                return Fail(
                    1001, "sequence number 0 is no longer in the log", "SEQUENCE_OUT_OF_RANGE"
                )
            live = Live()
            lives.append(live)
            return live
        if "FROM table(`default`.`events`)" in req.sql and "ORDER BY `seq`" in req.sql:
            return Rows([event_row(7, 0), event_row(8, 0)])
        return None

    for i in (7, 8):
        tp.streams.setdefault("events", []).append({**event_row(i, 0), "_tp_sn": 0})
    tp.handler = handler
    http = http_for(tp)
    log = LogReader(http, sqlparts.Names(), schema.EVENTS, [], 5, retry_min_s=0.02)
    reader = Reader(log)
    assert [r.seq for r in reader.next()] == [7, 8]  # history first (the catch-up)
    live = nth_live(lives, 1)  # then the log, after a second catch-up
    catch_ups = tp.queries("ORDER BY `seq`")
    assert len(catch_ups) == 2 and catch_ups[-1].params["p0"] == "8"
    live.put(event_row(9, 1))
    assert [r.seq for r in reader.next()] == [9]
    log.close()
    assert reader.done.wait(WAIT)
    http.close()


def test_timeplus_tail_reports_a_persistent_query_error(tp: FakeTimeplus) -> None:
    tp.handler = lambda r: (
        Fail(47, "Missing columns: 'seq'", "UNKNOWN_IDENTIFIER", 404)
        if r.port == "stream" and "_tp_sn" in r.sql
        else None
    )
    http = http_for(tp)
    reader = Reader(LogReader(http, sqlparts.Names(), schema.EVENTS, [], 0, retry_min_s=0.02))
    assert reader.done.wait(WAIT)
    assert isinstance(reader.error, TimeplusQueryError) and reader.error.code == 47
    http.close()
