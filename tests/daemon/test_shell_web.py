"""The shell, web_fetch and approvals on the real daemon with real processes.

Allowed commands run unasked in non-interactive turns; every bypass leaves its marker
file uncreated; a hung command dies at its timeout with its process group; the daemon's
keys are not visible to commands; web_fetch refuses internal addresses and reads HTML;
"allow for this session" is bound to the exact command.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from pulse.v1 import chat_pb2

from tests.daemon.util import rows, send, wait_for
from tests.fakes.llm import FakeLLM, Reply
from tests.harness import Daemon, fake_llm_config, running

ALLOW = [
    "echo *", "ls *", "cat *", "find *", "sh *", "bash *", "python3 *", "timeout *",
    "env", "nohup *", "wc *",
]  # fmt: skip
SECRETS = {"ANTHROPIC_API_KEY": "sk-ant-daemon-secret", "GITHUB_TOKEN": "ghp-daemon-secret"}


def config(fake: FakeLLM, sandbox: str = "none", allow_private: bool = False) -> str:
    return fake_llm_config(
        fake.url,
        extra=f"""
[tools.shell]
allow = {json.dumps(ALLOW)}
sandbox = "{sandbox}"
timeout_s = 30

[tools.web]
search = "none"
allow_private = {"true" if allow_private else "false"}
timeout_s = 5
""",
    )


@pytest.fixture(scope="module")
def llm() -> Iterator[FakeLLM]:
    with FakeLLM() as fake:
        yield fake


@pytest.fixture(scope="module")
def d(llm: FakeLLM) -> Iterator[Daemon]:
    """One daemon for the module (shell unsandboxed, so host pids can be checked)."""
    daemon = Daemon(config(llm), env=SECRETS)
    with running(daemon):
        yield daemon


def last_log(d: Daemon, tool: str) -> dict[str, Any]:
    return rows(d, "tool_logs", order="desc", limit=1, tool=tool)[0]


def run_tool(d: Daemon, llm: FakeLLM, name: str, args: dict[str, Any], **kw: Any) -> dict[str, Any]:
    """One non-interactive turn making one tool call; its tool_logs row."""
    llm.script(Reply(tool_calls=[(name, args)]), Reply(text="done"))
    events = send(d, f"call {name}", **kw)
    assert events[-1].WhichOneof("event") == "final", events[-1]
    return last_log(d, name)


def test_allowed_commands_run_unasked_from_a_non_interactive_pulsectl_chat(
    d: Daemon, llm: FakeLLM
) -> None:
    llm.script(
        Reply(tool_calls=[("shell", {"command": "echo hi-from-shell && ls | wc -l"})]),
        Reply(text="ran it"),
    )
    r = d.pulsectl("chat", "run it", input="")
    assert r.returncode == 0, r.stderr
    assert "ran it" in r.stdout
    log = last_log(d, "shell")
    assert (log["approval"], log["status"]) == ("pre_approved", "ok")
    assert log["result_preview"].startswith("exit code 0 · ")
    assert "hi-from-shell" in log["result_preview"]


@pytest.mark.parametrize(
    "command",
    [
        "echo hi; touch X",
        "echo $(touch X)",
        "echo hi && touch X",
        "echo hi | tee X",
        "echo `touch X`",
        "echo hi\ntouch X",
        "sh -c 'touch X'",
        "bash -c 'echo hi; touch X'",
        "find . -exec touch X \\;",
        "ls | xargs touch X",
        'python3 -c \'open("X", "w")\'',
        "timeout 5 touch X",
        "env touch X",
        "nohup touch X",
        "echo hi > X",
        "cat <(touch X)",
        "echo $'\\''\ntouch X\n'",
        "X=1 ls; touch X",
    ],
)
def test_bypasses_do_not_run_in_an_unattended_turn(d: Daemon, llm: FakeLLM, command: str) -> None:
    log = run_tool(d, llm, "shell", {"command": command})
    assert (log["status"], log["approval"]) == ("denied", "denied")
    assert not (d.workspace / "X").exists()


def test_a_hung_command_is_stopped_with_its_process_group(d: Daemon, llm: FakeLLM) -> None:
    cmd = "sleep 1000 & echo $! > child.pid; echo $$ > shell.pid; sleep 1000"
    llm.script(Reply(tool_calls=[("shell", {"command": cmd, "timeout_s": 1})]), Reply(text="k"))
    events = _send_approving(d, "hang")
    assert events[-1].WhichOneof("event") == "final"
    log = last_log(d, "shell")
    assert log["status"] == "error"
    assert log["result_preview"].startswith("timed out after 1 s; its process group was killed")
    for name in ("child.pid", "shell.pid"):
        pid = int((d.workspace / name).read_text())
        wait_for(lambda pid=pid: not _alive(pid), timeout=10, what=f"{name} {pid} to end")


def test_the_daemons_keys_are_not_visible_to_commands(d: Daemon, llm: FakeLLM) -> None:
    log = run_tool(d, llm, "shell", {"command": "env"})
    assert log["status"] == "ok"
    result = rows(d, "messages", order="desc", limit=5, message_type="tool_result")
    text = next(r["content"]["text"] for r in result if r["content"]["name"] == "shell")
    assert "PATH=" in text
    for value in SECRETS.values():
        assert value not in text
    assert "PULSE_" not in text and "test-key" not in text


def test_allow_for_this_session_is_bound_to_the_exact_command(d: Daemon, llm: FakeLLM) -> None:
    llm.script(Reply(tool_calls=[("shell", {"command": "touch S1"})]), Reply(text="ok"))
    events = _send_approving(d, "make S1", for_session=True)
    session = events[-1].session_id
    assert (d.workspace / "S1").exists()
    (d.workspace / "S1").unlink()
    log = run_tool(d, llm, "shell", {"command": "touch S1"}, session=session)
    assert (log["approval"], log["status"]) == ("session", "ok")
    assert (d.workspace / "S1").exists()
    log = run_tool(d, llm, "shell", {"command": "touch S1 S2"}, session=session)
    assert log["approval"] == "denied"
    assert not (d.workspace / "S2").exists()
    log = run_tool(d, llm, "shell", {"command": "touch S1"})  # another session
    assert log["approval"] == "denied"


def test_web_fetch_refuses_internal_addresses(d: Daemon, llm: FakeLLM, page: str) -> None:
    for url in (
        "http://127.0.0.1:9/",
        "http://10.0.0.1/",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::1]:9/",
        "http://localhost:9/",
        page + "/page",
        page + "/redirect",
    ):
        log = run_tool(d, llm, "web_fetch", {"url": url})
        assert log["status"] == "error", url
        assert "web_fetch does not reach internal addresses" in log["error_message"], url


def test_web_fetch_reads_html_when_private_is_allowed(llm: FakeLLM, page: str) -> None:
    d = Daemon(config(llm, allow_private=True))
    try:
        d.start()
        log = run_tool(d, llm, "web_fetch", {"url": page + "/redirect"})
        assert log["status"] == "ok"
        text = log["result_preview"]
        assert f"URL: {page}/page" in text and "observable and queryable" in text
        assert "<p>" not in text and "SCRIPT" not in text
    finally:
        try:
            d.stop()
        finally:
            d.cleanup()


PAGE = b"""<!doctype html><html><head><title>Loopback page</title>
<script>var SCRIPT = 1;</script></head><body><article><h1>Pulse</h1>
<p>Every row is appended to a stream, so the agent is observable and queryable by default,
and this paragraph is long enough to count as the page's main content.</p></article>
</body></html>"""


@pytest.fixture(scope="module")
def page() -> Iterator[str]:
    """A loopback HTTP server: /page is HTML, /redirect sends to /page."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (http.server's name)
            if self.path == "/redirect":
                self.send_response(302)
                self.send_header("Location", "/page")
                self.end_headers()
                return
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(PAGE)))
            self.end_headers()
            self.wfile.write(PAGE)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def _send_approving(
    d: Daemon, text: str, for_session: bool = False, session: str = ""
) -> list[chat_pb2.TurnEvent]:
    """An interactive turn that approves every request (for this session when asked)."""
    events = []
    for ev in d.chat().Send(
        chat_pb2.SendRequest(session_id=session, text=text, interactive=True), timeout=60
    ):
        events.append(ev)
        if ev.WhichOneof("event") == "approval_request":
            req = ev.approval_request
            assert req.detail.startswith("$ "), req.detail
            d.chat().Approve(
                chat_pb2.ApproveRequest(
                    request_id=req.request_id, approved=True, for_session=for_session
                ),
                timeout=10,
            )
    return events


def _alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def test_sandboxed_commands_cannot_see_the_daemons_data(llm: FakeLLM) -> None:
    from tests.tools.test_shell import BWRAP

    if BWRAP:
        pytest.skip(BWRAP)
    d = Daemon(config(llm, sandbox="bwrap"))
    try:
        d.start()
        log = run_tool(d, llm, "shell", {"command": f"ls {d.data_dir}; cat {d.config_path}"})
        text = log["result_preview"]
        assert "not sandboxed" not in text.splitlines()[0]
        assert "pulse.db" not in text and "test-key" not in text
    finally:
        try:
            d.stop()
        finally:
            d.cleanup()
