"""The shell tool on real processes: workspace, stdin, environment, timeouts and process
groups, output cap, and the bubblewrap sandbox when it runs here."""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from pulsed.config.tools import ShellConfig, ToolsConfig, validate_tools
from pulsed.errors import ConfigError
from pulsed.tools.base import ToolContext, ToolFailure
from pulsed.tools.shell import Sandbox, Shell, scrubbed_env

CTX = ToolContext(turn_id="t", session_id="s", interactive=True)
ENV = {
    "PATH": "/usr/local/bin:/usr/bin:/bin::.:bin",
    "HOME": "/root",
    "LANG": "C.UTF-8",
    "ANTHROPIC_API_KEY": "sk-ant-secret",
    "MY_SERVICE_TOKEN": "tok-secret",
    "PULSE_CONFIG": "/etc/pulse.toml",
    "EXTRA_OK": "visible",
}


def bwrap_problem() -> str:
    """Why bubblewrap cannot run here, or '' when it can."""
    if shutil.which("bwrap") is None:
        return "bubblewrap (bwrap) is not installed on this machine"
    r = subprocess.run(
        ["bwrap", "--ro-bind", "/", "/", "--unshare-net", "--unshare-pid", "true"],
        capture_output=True,
        timeout=10,
    )
    return "" if r.returncode == 0 else f"bwrap cannot run here: {r.stderr.decode()[:200]}"


def make(tmp_path: Path, sandbox: str = "none", **kw: object) -> Shell:
    ws = tmp_path / "ws"
    ws.mkdir(exist_ok=True)
    cfg = ShellConfig(sandbox=sandbox, **kw)  # type: ignore[arg-type]
    return Shell(ws, cfg, Sandbox(sandbox, cfg.network, [tmp_path / "data"]), environ=ENV)


def alive(pid: int) -> bool:
    """Whether ``pid`` runs (a zombie waiting for its reaper counts as gone)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


async def gone(pid: int, within_s: float = 5.0) -> bool:
    """Whether ``pid`` has exited within ``within_s`` (a pidfd turns readable when a
    process exits, so this waits on an event; a signal is delivered asynchronously)."""
    try:
        fd = os.pidfd_open(pid)
    except ProcessLookupError:
        return True
    loop = asyncio.get_running_loop()
    done = asyncio.Event()
    loop.add_reader(fd, done.set)
    try:
        await asyncio.wait_for(done.wait(), within_s)
        return True
    except TimeoutError:
        return not alive(pid)
    finally:
        loop.remove_reader(fd)
        os.close(fd)


async def test_runs_in_workspace_with_exit_code(tmp_path: Path) -> None:
    sh = make(tmp_path)
    out = await sh.execute({"command": "pwd; echo err >&2; exit 3"}, CTX)
    assert out.text.startswith("exit code 3 · ")
    assert str(tmp_path / "ws") in out.text and "err" in out.text
    assert out.is_error
    ok = await sh.execute({"command": "true"}, CTX)
    assert ok.text.startswith("exit code 0") and not ok.is_error


async def test_stdin_is_closed(tmp_path: Path) -> None:
    out = await make(tmp_path).execute({"command": "cat; echo done"}, CTX)
    assert out.text.startswith("exit code 0") and "done" in out.text


async def test_environment_is_scrubbed(tmp_path: Path) -> None:
    out = await make(tmp_path, env=["EXTRA_OK"]).execute({"command": "env"}, CTX)
    assert "sk-ant-secret" not in out.text and "tok-secret" not in out.text
    assert "PULSE_CONFIG" not in out.text
    assert "EXTRA_OK=visible" in out.text
    assert "PATH=/usr/local/bin:/usr/bin:/bin\n" in out.text  # relative entries dropped


def test_scrubbed_env_default_path() -> None:
    assert scrubbed_env({"PATH": ".:bin"}, []) == {"PATH": "/usr/local/bin:/usr/bin:/bin"}


@pytest.mark.parametrize(
    "name", ["ANTHROPIC_API_KEY", "SLACK_BOT_TOKEN", "PULSE_DATA_DIR", "BASH_ENV", "LD_PRELOAD"]
)
def test_config_refuses_secret_env_names(name: str) -> None:
    with pytest.raises(ConfigError, match="tools.shell.env"):
        validate_tools(ToolsConfig(shell=ShellConfig(env=[name])))


async def test_timeout_kills_the_whole_group(tmp_path: Path) -> None:
    sh = make(tmp_path)
    cmd = "sleep 1000 & echo $! > child.pid; echo $$ > shell.pid; sleep 1000"
    out = await sh.execute({"command": cmd, "timeout_s": 0.5}, CTX)
    assert out.text.startswith("timed out after 0.5 s; its process group was killed")
    assert out.is_error
    ws = tmp_path / "ws"
    for name in ("child.pid", "shell.pid"):
        pid = int((ws / name).read_text())
        assert await gone(pid), f"{name} {pid} still runs"


async def test_timeout_is_capped_by_config(tmp_path: Path) -> None:
    sh = make(tmp_path, timeout_s=0.3)
    out = await sh.execute({"command": "sleep 30", "timeout_s": 100}, CTX)
    assert out.text.startswith("timed out after 0.3 s")


async def test_cancellation_kills_the_group(tmp_path: Path) -> None:
    sh = make(tmp_path)
    ws = tmp_path / "ws"
    os.mkfifo(ws / "child.pid")  # the command's write blocks until the test reads
    task = asyncio.create_task(
        sh.execute({"command": "sleep 1000 & echo $! > child.pid; sleep 1000"}, CTX)
    )
    pid = int(await asyncio.wait_for(asyncio.to_thread((ws / "child.pid").read_text), 10))
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert await gone(pid)


async def test_background_jobs_do_not_outlive_the_command(tmp_path: Path) -> None:
    sh = make(tmp_path)
    out = await sh.execute({"command": "sleep 1000 & echo $!"}, CTX)
    assert out.text.startswith("exit code 0")
    assert await gone(int(out.text.splitlines()[1]))


async def test_output_keeps_head_and_tail(tmp_path: Path) -> None:
    sh = make(tmp_path, max_output_bytes=1000)
    out = await sh.execute({"command": "echo START; seq 1 100000; echo END"}, CTX)
    assert "START" in out.text and out.text.rstrip().endswith("END")
    assert "bytes of output cut" in out.text
    assert len(out.text) < 1300


async def test_bad_arguments(tmp_path: Path) -> None:
    sh = make(tmp_path)
    with pytest.raises(ToolFailure, match="command"):
        await sh.execute({"command": "  "}, CTX)
    with pytest.raises(ToolFailure, match="timeout_s"):
        await sh.execute({"command": "true", "timeout_s": -1}, CTX)


def test_approval_key_binds_command_and_directory(tmp_path: Path) -> None:
    sh = make(tmp_path, allow=["ls *"])
    a = sh.approval_key({"command": "touch X"}, CTX)
    assert '"touch X"' in a and str(tmp_path / "ws") in a
    assert a != sh.approval_key({"command": "touch Y"}, CTX)
    assert sh.pre_approved({"command": "ls -l"}, CTX)
    assert not sh.pre_approved({"command": "ls; touch X"}, CTX)
    detail = sh.approval_detail({"command": "ls; touch X"}, CTX)
    assert detail.startswith("$ ls; touch X") and "touch X: matches no allow pattern" in detail


async def test_sandbox_none_says_so(tmp_path: Path) -> None:
    out = await make(tmp_path).execute({"command": "true"}, CTX)
    assert "not sandboxed" in out.text.splitlines()[0]


async def test_sandbox_bwrap_required_but_missing(tmp_path: Path) -> None:
    ws = tmp_path / "ws"
    ws.mkdir()
    sb = Sandbox("bwrap", False)
    sb._usable, sb.problem = False, "bubblewrap (bwrap) is not installed"
    sh = Shell(ws, ShellConfig(sandbox="bwrap"), sb, environ=ENV)
    with pytest.raises(ToolFailure, match="sandbox = bwrap, but bubblewrap"):
        await sh.execute({"command": "true"}, CTX)


async def test_sandbox_auto_falls_back_when_bwrap_cannot_run(tmp_path: Path) -> None:
    ws = tmp_path / "ws"
    ws.mkdir()
    sb = Sandbox("auto", False)

    async def probe(_: Path) -> tuple[bool, str]:
        return False, "bubblewrap (bwrap) is not installed"

    sb._probe = probe  # type: ignore[method-assign]
    out = await Shell(ws, ShellConfig(), sb, environ=ENV).execute({"command": "echo hi"}, CTX)
    assert "not sandboxed" in out.text and "hi" in out.text


BWRAP = bwrap_problem()
needs_bwrap = pytest.mark.skipif(bool(BWRAP), reason=BWRAP or "bwrap runs")


@needs_bwrap
async def test_bwrap_sandbox(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    (data / "pulse.db").write_text("secret rows")
    sh = make(tmp_path, sandbox="bwrap")
    out = await sh.execute(
        {
            "command": "echo ok > inside.txt && cat inside.txt; "
            f"touch /usr/pulse-probe 2>&1; ls {data}; cat /proc/net/dev"
        },
        CTX,
    )
    assert "not sandboxed" not in out.text
    assert (tmp_path / "ws" / "inside.txt").read_text() == "ok\n"
    assert "Read-only file system" in out.text
    assert not Path("/usr/pulse-probe").exists()
    assert "pulse.db" not in out.text  # the daemon's data folder is hidden
    ifaces = re.findall(r"^\s*([\w.@-]+):\s+\d", out.text, re.M)
    assert ifaces == ["lo"]  # a network namespace of its own


@needs_bwrap
async def test_bwrap_timeout_kills_everything(tmp_path: Path) -> None:
    sh = make(tmp_path, sandbox="bwrap")
    out = await sh.execute({"command": "sleep 1000 & sleep 1000", "timeout_s": 0.5}, CTX)
    assert out.text.startswith("timed out")
    r = subprocess.run(["pgrep", "-f", "sleep 1000"], capture_output=True, text=True)
    mine = [p for p in r.stdout.split() if _cwd_of(int(p)) == str(tmp_path / "ws")]
    assert mine == []


def _cwd_of(pid: int) -> str:
    try:
        return os.readlink(f"/proc/{pid}/cwd")
    except OSError:
        return ""
