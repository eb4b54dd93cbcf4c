"""Stream triggers and ``pulsectl ingest`` on the real daemon: match and no match, a
burst inside a batch window gives one run, exactly once across kill -9, the loop guard,
``tasks test`` and the trigger preview."""

from __future__ import annotations

import json
from typing import Any

from pulse.v1 import ingest_pb2, ingest_pb2_grpc, tasks_pb2

from tests.daemon.util import rows, wait_for
from tests.fakes.llm import FakeLLM, Reply
from tests.harness import Daemon


def ctl_json(d: Daemon, *args: str, input: str | None = None) -> Any:
    out = d.pulsectl(*args, "--json", input=input)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


def runs_of(d: Daemon, task: str) -> list[dict[str, Any]]:
    """The trigger rows (run inputs) of ``task``, oldest first."""
    return rows(d, "messages", session_id=f"task:{task}", message_type="trigger")


def answered(d: Daemon, task: str) -> list[dict[str, Any]]:
    return [
        m
        for m in rows(d, "messages", session_id=f"task:{task}")
        if m["message_type"] in ("agent_response", "error")
    ]


def ingest(d: Daemon, payload: dict[str, Any], source: str = "test", **flags: str) -> Any:
    args = ["ingest", "--source", source, "--payload", json.dumps(payload)]
    for k, v in flags.items():
        args += [f"--{k.replace('_', '-')}", v]
    return ctl_json(d, *args)


def append(d: Daemon, payload: dict[str, Any], source: str = "test", kind: str = "") -> Any:
    """One Ingest.Append call straight over gRPC (no pulsectl start-up in between)."""
    row = ingest_pb2.IngestRow(source=source, kind=kind, payload_json=json.dumps(payload))
    stub = ingest_pb2_grpc.IngestStub(d.channel())
    return stub.Append(ingest_pb2.IngestAppendRequest(rows=[row]), timeout=10)


def test_ingest_from_stdin_keeps_good_lines_and_drops_duplicates(daemon: Daemon) -> None:
    lines = '{"n": 1}\nnot json\n\n{"n": 2}\n[1, 2\n"text"\n'
    out = daemon.pulsectl("ingest", "--source", "cli", "--kind", "num", input=lines)
    assert out.returncode == 1
    assert "line 2: not JSON" in out.stderr and "line 5: not JSON" in out.stderr
    assert "ingested 3 rows" in out.stderr and "2 bad lines skipped" in out.stderr
    stored = rows(daemon, "ingest")
    assert [r["payload"] for r in stored] == [{"n": 1}, {"n": 2}, "text"]
    assert {r["source"] for r in stored} == {"cli"} and {r["kind"] for r in stored} == {"num"}

    first = ingest(daemon, {"id": 7}, dedupe_key="delivery-7")
    again = ingest(daemon, {"id": 7}, dedupe_key="delivery-7")
    assert (first["appended"], first["duplicates"]) == (1, 0)
    assert (again["appended"], again["duplicates"]) == (0, 1)
    assert len(rows(daemon, "ingest", dedupe_key="delivery-7")) == 1
    bad = daemon.pulsectl("ingest", "--source", "cli", "--payload", "{nope")
    assert bad.returncode == 2 and "--payload is not JSON" in bad.stderr


def test_a_matching_row_fires_once_and_others_do_not(daemon: Daemon, fake_llm: FakeLLM) -> None:
    task = ctl_json(
        daemon,
        "tasks",
        "add",
        "prs",
        "--on",
        "ingest",
        "--where",
        "source=webhook:github",
        "--where",
        "payload.action=opened",
        "--prompt",
        "Review this pull request",
        "--deliver-to",
        "tui",
    )
    assert task["schedule"] == "on ingest" and task["trigger"]["on"] == "ingest"
    assert [f["column"] for f in task["trigger"]["where"]] == ["source", "payload.action"]
    fake_llm.script("Looks good.")
    ingest(daemon, {"action": "closed", "number": 1}, source="webhook:github")
    ingest(daemon, {"action": "opened", "number": 2}, source="elsewhere")
    ingest(daemon, {"action": "opened", "number": 3}, source="webhook:github")
    wait_for(lambda: answered(daemon, "prs"), what="the trigger's answer")
    [run] = runs_of(daemon, "prs")
    assert run["content"]["rows"] == 1 and run["content"]["origin"] == "trigger"
    [req] = fake_llm.requests
    sent = json.dumps(req.body)
    assert "Review this pull request" in sent and '\\"number\\":3' in sent
    assert '\\"number\\":2' not in sent and '\\"number\\":1' not in sent
    [log] = rows(daemon, "llm_logs", session_id="task:prs")
    assert log["origin"] == "trigger"
    [hist] = ctl_json(daemon, "tasks", "history", "prs")
    assert hist["trigger"] == "stream" and hist["answer"] == "Looks good."
    [listed] = ctl_json(daemon, "tasks", "list")
    assert listed["last_fired"] and listed["rows_waiting"] == 0

    test = ctl_json(daemon, "tasks", "test", "prs", "--payload", '{"action": "opened"}')
    assert test["matched"] is False and "source=webhook:github" in test["reason"]
    ok = ctl_json(
        daemon,
        "tasks",
        "test",
        "prs",
        "--payload",
        '{"source": "webhook:github", "payload": {"action": "opened", "number": 9}}',
    )
    assert ok["matched"] is True and '"number":9' in ok["prompt"]
    preview = daemon.tasks().Preview(
        tasks_pb2.PreviewScheduleRequest(
            schedule="on ingest",
            count=5,
            trigger=tasks_pb2.TriggerSpec(on="ingest", where=[task_filter("payload.action")]),
        ),
        timeout=10,
    )
    assert preview.problem == ""
    assert [json.loads(r.json)["payload"]["number"] for r in preview.matching_rows] == [3, 2]
    assert len(runs_of(daemon, "prs")) == 1  # nothing of this fired


def task_filter(column: str, value: str = "opened") -> Any:
    from pulse.v1 import common_pb2

    return common_pb2.Filter(column=column, op="eq", value=value)


def test_a_burst_inside_the_batch_window_is_one_run(daemon: Daemon, fake_llm: FakeLLM) -> None:
    ctl_json(
        daemon,
        "tasks",
        "add",
        "burst",
        "--on",
        "ingest",
        "--where",
        "kind=alert",
        "--batch",
        "3s",
        "--prompt",
        "Summarise the alerts",
    )
    for i in range(6):
        assert append(daemon, {"n": i}, kind="alert").appended == 1
    wait_for(lambda: answered(daemon, "burst"), what="the batched run's answer")
    [run] = runs_of(daemon, "burst")
    seqs = [r["_seq"] for r in rows(daemon, "ingest", kind="alert")]
    assert run["content"]["seqs"] == seqs and run["content"]["rows"] == 6
    [req] = fake_llm.requests
    text = json.dumps(req.body)
    assert all(f'\\"n\\":{i}' in text for i in range(6))


def test_exactly_once_across_kill9(daemon: Daemon, fake_llm: FakeLLM) -> None:
    ctl_json(
        daemon,
        "tasks",
        "add",
        "once",
        "--on",
        "ingest",
        "--batch",
        "1s",
        "--prompt",
        "Handle it",
    )
    # Killed right after the row is acknowledged, before its run starts (the batch
    # window is still open): the row fires after the restart.
    ingest(daemon, {"first": True})
    daemon.kill9()
    daemon.start()
    wait_for(lambda: answered(daemon, "once"), what="the first row's run")
    assert len(runs_of(daemon, "once")) == 1

    # Killed while the run of the second row is going on (its input is durable): the
    # turn is recovered, the row does not start a second run.
    fake_llm.script(Reply(text="slow " * 40, chunk_size=1, delay_s=0.05))
    ingest(daemon, {"second": True})
    wait_for(lambda: len(runs_of(daemon, "once")) == 2, what="the second row's run")
    wait_for(lambda: len(fake_llm.requests) >= 2, what="the second run's LLM call")
    daemon.kill9()
    daemon.start()
    wait_for(lambda: len(answered(daemon, "once")) == 2, what="the recovered run's answer")
    daemon.stop()
    daemon.start()
    ingest(daemon, {"third": True})
    wait_for(lambda: len(answered(daemon, "once")) == 3, what="the third row's run")
    carried = [s for r in runs_of(daemon, "once") for s in r["content"]["seqs"]]
    assert carried == [r["_seq"] for r in rows(daemon, "ingest")]


def test_a_trigger_ignores_its_own_rows_and_chains_stop(daemon: Daemon, fake_llm: FakeLLM) -> None:
    for name in ("ping", "pong"):
        ctl_json(
            daemon,
            "tasks",
            "add",
            name,
            "--on",
            "messages",
            "--where",
            "message_type=agent_response",
            "--prompt",
            f"{name}: react to this answer",
        )
    out = daemon.pulsectl("chat", "hello")
    assert out.returncode == 0, out.stderr
    stopped = wait_for(
        lambda: rows(daemon, "events", event_type="trigger_chain_stopped"),
        what="the chain guard's event",
    )
    assert stopped[0]["payload"]["max_depth"] == 3
    wait_for(
        lambda: all(len(answered(daemon, n)) == len(runs_of(daemon, n)) for n in ("ping", "pong")),
        what="the runs to end",
    )
    for name in ("ping", "pong"):
        runs = runs_of(daemon, name)
        # Depth 1 (the chat's answer), 2 and 3 (each other's answers), never their own.
        assert [r["content"]["depth"] for r in runs] == [1, 2, 3]


def test_over_the_rate_limit_rows_queue_or_drop(daemon: Daemon, fake_llm: FakeLLM) -> None:
    for name, overflow in (("queued", "queue"), ("dropped", "drop")):
        ctl_json(
            daemon,
            "tasks",
            "add",
            name,
            "--on",
            "ingest",
            "--where",
            f"kind={name}",
            "--max-runs-per-hour",
            "1",
            "--overflow",
            overflow,
            "--prompt",
            "react",
        )
        assert append(daemon, {"n": 1}, kind=name).appended == 1
        wait_for(lambda name=name: answered(daemon, name), what=f"{name}'s first run")
        assert append(daemon, {"n": 2}, kind=name).appended == 1
    [event] = wait_for(
        lambda: rows(daemon, "events", event_type="trigger_dropped"), what="the drop event"
    )
    assert event["payload"]["task"] == "dropped" and event["payload"]["rows"] == 1
    by_name = {t["name"]: t for t in ctl_json(daemon, "tasks", "list")}
    assert by_name["queued"]["rows_waiting"] == 1  # waits for the next allowed run
    assert by_name["dropped"]["rows_waiting"] == 0
    assert len(runs_of(daemon, "queued")) == len(runs_of(daemon, "dropped")) == 1


def test_editing_a_trigger(daemon: Daemon) -> None:
    ctl_json(daemon, "tasks", "add", "t", "--on", "ingest", "--where", "kind=a", "--prompt", "p")
    edited = ctl_json(daemon, "tasks", "edit", "t", "--batch", "5s")
    assert edited["trigger"]["batch_s"] == 5 and edited["trigger"]["where"][0]["value"] == "a"
    edited = ctl_json(daemon, "tasks", "edit", "t", "--on", "events", "--where", "severity=error")
    assert edited["schedule"] == "on events" and edited["trigger"]["batch_s"] == 5
    assert [f["column"] for f in edited["trigger"]["where"]] == ["severity"]
    back = ctl_json(daemon, "tasks", "edit", "t", "--schedule", "every 1h")
    assert back["schedule"] == "every 1h" and "trigger" not in back
    out = daemon.pulsectl("tasks", "edit", "t", "--batch", "1s")
    assert out.returncode == 2 and "give --on STREAM" in out.stderr
    bad = daemon.pulsectl(
        "tasks", "add", "u", "--on", "ingest", "--where", "nope=1", "--prompt", "p"
    )
    assert bad.returncode == 1 and "no column 'nope'" in bad.stderr
