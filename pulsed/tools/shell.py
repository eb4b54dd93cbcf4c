"""``shell(command, timeout_s?)``: run a bash command in the workspace.

Policy ``ask`` by default; a command every part of which matches a ``[tools.shell]
allow`` pattern runs unasked (``pulsed.tools.shell_policy``). How it runs:

- ``bash --noprofile --norc -c COMMAND`` with the workspace as working directory, stdin
  closed (``/dev/null``), stdout and stderr merged into one pipe;
- a scrubbed environment: PATH (without empty or relative entries), HOME, LANG, TERM,
  TZ and the names ``[tools.shell] env`` lists — never the daemon's other variables;
- its own session and process group (``start_new_session``): at the timeout, or when
  the turn is cancelled, the whole group gets SIGTERM, then SIGKILL after
  ``KILL_GRACE_S``; what is left of the group after the command exits (background
  jobs) is killed too;
- output capped at ``max_output_bytes``, keeping its head and tail;
- ``sandbox = auto``: inside bubblewrap when it works here (probed once with the same
  flags), else unsandboxed with one log line; ``bwrap``: bubblewrap or the call fails;
  ``none``: never. The sandbox mounts the system read-only, the workspace read-write, a
  fresh /tmp, /dev and /proc, hides the daemon's data and socket folders and its config
  file, and unshares the network unless ``network = true``.

The result text starts with ``exit code N · D s`` (or how it was stopped), so the
``tool_logs`` result preview carries both.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import signal
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pulsed.config.tools import ShellConfig
from pulsed.tools.base import Tool, ToolContext, ToolFailure, ToolOutput
from pulsed.tools.shell_policy import analyze

log = logging.getLogger("pulsed.tools.shell")

BASE_ENV = ("PATH", "HOME", "LANG", "TERM", "TZ")
DEFAULT_PATH = "/usr/local/bin:/usr/bin:/bin"
KILL_GRACE_S = 2.0
"""Between SIGTERM and SIGKILL of a command's process group."""
DRAIN_S = 2.0
"""How long output is still read after the command exited (a stray holder of the pipe
outside the group must not hang the call)."""
MAX_COMMAND_CHARS = 100_000


def scrubbed_env(environ: Mapping[str, str], extra: Sequence[str]) -> dict[str, str]:
    """The environment a command gets: PATH (empty and relative entries dropped, a
    default when none is left), HOME, LANG, TERM, TZ and the ``extra`` names, each only
    when ``environ`` has it. ``extra`` was vetted by the config (no keys, no PULSE_*)."""
    env = {k: environ[k] for k in (*BASE_ENV, *extra) if k in environ}
    path = [p for p in env.get("PATH", "").split(":") if p.startswith("/")]
    env["PATH"] = ":".join(path) or DEFAULT_PATH
    return env


class Sandbox:
    """Decides once whether commands run inside bubblewrap, and builds the argv.

    Args:
        mode: auto | bwrap | none ([tools.shell] sandbox).
        network: let sandboxed commands use the network.
        hidden: folders replaced by an empty tmpfs inside the sandbox (the daemon's data
            and socket folders).
        masked: files replaced by an empty file (the config file, which may hold keys).
    """

    def __init__(
        self,
        mode: str,
        network: bool,
        hidden: Sequence[Path] = (),
        masked: Sequence[Path] = (),
    ) -> None:
        self.mode = mode
        self.network = network
        self.hidden = [p for p in hidden if str(p) != "/"]
        self.masked = list(masked)
        self._usable: bool | None = None if mode != "none" else False
        self.problem = "" if mode != "none" else "sandbox = none"
        self._lock = asyncio.Lock()

    def _flags(self, workspace: Path) -> list[str]:
        flags = ["--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc", "--tmpfs", "/tmp"]
        for p in self.hidden:
            if p.is_dir():
                flags += ["--tmpfs", str(p)]
        for p in self.masked:
            if p.is_file():
                flags += ["--ro-bind", "/dev/null", str(p)]
        flags += ["--bind", str(workspace), str(workspace), "--chdir", str(workspace)]
        flags += ["--unshare-pid", "--unshare-ipc", "--unshare-uts", "--die-with-parent"]
        if not self.network:
            flags.append("--unshare-net")
        return flags

    async def usable(self, workspace: Path) -> bool:
        """Whether bubblewrap runs here with these flags (probed once: ``bwrap ... true``).

        Raises:
            ToolFailure: mode is ``bwrap`` and bubblewrap cannot run.
        """
        async with self._lock:
            if self._usable is None:
                self._usable, self.problem = await self._probe(workspace)
                if not self._usable:
                    log.warning("shell commands run without a sandbox: %s", self.problem)
                else:
                    log.info("shell commands run inside bubblewrap")
        if not self._usable and self.mode == "bwrap":
            raise ToolFailure(f"[tools.shell] sandbox = bwrap, but {self.problem}")
        return self._usable

    async def _probe(self, workspace: Path) -> tuple[bool, str]:
        try:
            proc = await asyncio.create_subprocess_exec(
                "bwrap",
                *self._flags(workspace),
                "true",
                stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.DEVNULL,
                stderr=asyncio.subprocess.PIPE,
                env={"PATH": DEFAULT_PATH},
            )
        except FileNotFoundError:
            return False, "bubblewrap (bwrap) is not installed"
        except OSError as e:
            return False, f"bwrap cannot start: {e.strerror}"
        try:
            _, err = await asyncio.wait_for(proc.communicate(), 10)
        except TimeoutError:
            proc.kill()
            await proc.wait()
            return False, "bwrap did not answer within 10 s"
        if proc.returncode != 0:
            return False, f"bwrap fails here: {err.decode(errors='replace').strip()[:200]}"
        return True, ""

    def argv(self, workspace: Path, script: list[str]) -> list[str]:
        """``script`` wrapped in bwrap (call only after ``usable`` said True)."""
        return ["bwrap", *self._flags(workspace), "--", *script]


@dataclass
class _Captured:
    """Output read from a command: head and tail kept within ``limit`` bytes."""

    limit: int
    head: bytearray
    tail: bytearray
    total: int = 0

    def add(self, chunk: bytes) -> None:
        self.total += len(chunk)
        half = self.limit // 2
        room = half - len(self.head)
        if room > 0:
            self.head += chunk[:room]
            chunk = chunk[room:]
        if chunk:
            self.tail += chunk
            if len(self.tail) > self.limit - half:
                del self.tail[: len(self.tail) - (self.limit - half)]

    def text(self) -> str:
        dropped = self.total - len(self.head) - len(self.tail)
        head = self.head.decode("utf-8", errors="replace")
        if dropped <= 0:
            return head + self.tail.decode("utf-8", errors="replace")
        tail = self.tail.decode("utf-8", errors="replace")
        return f"{head}\n[... {dropped} bytes of output cut ...]\n{tail}"


class Shell(Tool):
    """``shell(command, timeout_s?)``: run a bash command in the workspace (module doc)."""

    name = "shell"
    description = (
        "Run a bash command in the workspace (non-interactive: stdin is closed). Returns "
        "the exit code, duration and combined stdout/stderr (long output keeps its head "
        "and tail). Commands not on the allow list need the user's approval."
    )
    parameters = {
        "type": "object",
        "properties": {
            "command": {"type": "string", "description": "the bash command line"},
            "timeout_s": {
                "type": "number",
                "description": "seconds before the command is killed (default and most: "
                "the configured timeout)",
            },
        },
        "required": ["command"],
    }
    default_policy = "ask"

    def __init__(
        self,
        workspace: Path,
        cfg: ShellConfig,
        sandbox: Sandbox,
        environ: Mapping[str, str] | None = None,
    ) -> None:
        self.workspace = workspace
        self.cfg = cfg
        self.sandbox = sandbox
        self.env = scrubbed_env(os.environ if environ is None else environ, cfg.env)

    @staticmethod
    def _command(args: dict[str, Any]) -> str:
        cmd = args.get("command")
        if not isinstance(cmd, str) or not cmd.strip():
            raise ToolFailure("argument 'command' must be a non-empty string")
        if len(cmd) > MAX_COMMAND_CHARS:
            raise ToolFailure(f"command is {len(cmd)} characters; the limit is {MAX_COMMAND_CHARS}")
        return cmd

    def _timeout(self, args: dict[str, Any]) -> float:
        t = args.get("timeout_s")
        if t is None:
            return self.cfg.timeout_s
        if isinstance(t, bool) or not isinstance(t, int | float) or t <= 0:
            raise ToolFailure("argument 'timeout_s' must be a positive number of seconds")
        return min(float(t), self.cfg.timeout_s)

    def pre_approved(self, args: dict[str, Any], ctx: ToolContext) -> bool:
        cmd = args.get("command")
        return isinstance(cmd, str) and bool(cmd.strip()) and analyze(cmd, self.cfg.allow).allowed

    def approval_key(self, args: dict[str, Any], ctx: ToolContext) -> str:
        return json.dumps(
            {"command": args.get("command"), "cwd": str(self.workspace)}, ensure_ascii=False
        )

    def approval_detail(self, args: dict[str, Any], ctx: ToolContext) -> str:
        cmd = args.get("command")
        if not isinstance(cmd, str):
            return ""
        reasons = analyze(cmd, self.cfg.allow).reasons
        lines = [f"$ {cmd}", f"in {self.workspace}"]
        if reasons:
            lines += ["", "asked because:", *(f"- {r}" for r in reasons[:10])]
        return "\n".join(lines)

    def time_limit(self, args: dict[str, Any]) -> float | None:
        try:
            return self._timeout(args) + KILL_GRACE_S + DRAIN_S + 1
        except ToolFailure:
            return None

    async def execute(self, args: dict[str, Any], ctx: ToolContext) -> ToolOutput:
        cmd = self._command(args)
        timeout = self._timeout(args)
        script = ["bash", "--noprofile", "--norc", "-c", cmd]
        sandboxed = await self.sandbox.usable(self.workspace)
        argv = self.sandbox.argv(self.workspace, script) if sandboxed else script
        return await run_command(argv, self.workspace, self.env, timeout, self.cfg, sandboxed)


async def run_command(
    argv: list[str],
    cwd: Path,
    env: dict[str, str],
    timeout_s: float,
    cfg: ShellConfig,
    sandboxed: bool,
) -> ToolOutput:
    """Run ``argv`` in its own process group; the result as the module doc says.

    Raises:
        ToolFailure: the program cannot be started.
        asyncio.CancelledError: the turn was cancelled (the group is killed first).
    """
    started = time.monotonic()
    loop = asyncio.get_running_loop()
    try:
        transport, protocol = await loop.subprocess_exec(
            lambda: _Protocol(65536, loop),
            *argv,
            cwd=cwd,
            env=env,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            start_new_session=True,
        )
    except OSError as e:
        raise ToolFailure(f"cannot start {argv[0]}: {e.strerror}") from None
    proc = asyncio.subprocess.Process(transport, protocol, loop)
    out = _Captured(cfg.max_output_bytes, bytearray(), bytearray())
    assert proc.stdout is not None
    stdout = proc.stdout

    async def read() -> None:
        while chunk := await stdout.read(65536):
            out.add(chunk)

    reader = asyncio.create_task(read())
    stopped = ""
    try:
        try:
            await asyncio.wait_for(protocol.exited.wait(), timeout_s)
        except TimeoutError:
            stopped = f"timed out after {timeout_s:g} s; its process group was killed"
            await _kill_group(proc, protocol.exited)
    except asyncio.CancelledError:
        await _kill_group(proc, protocol.exited)
        reader.cancel()
        raise
    _signal_group(proc.pid, signal.SIGKILL)  # background jobs left behind
    with contextlib.suppress(TimeoutError):  # something outside the group holds the pipe
        await asyncio.wait_for(reader, DRAIN_S)
    if not reader.done():
        reader.cancel()
        transport.close()
    duration = time.monotonic() - started
    code = proc.returncode
    if stopped:
        status = stopped
    elif code is not None and code < 0:
        status = f"killed by signal {-code}"
    else:
        status = f"exit code {code}"
    note = "" if sandboxed else " · not sandboxed"
    body = out.text()
    text = (
        f"{status} · {duration:.2f} s{note}\n{body}"
        if body
        else f"{status} · {duration:.2f} s{note}"
    )
    return ToolOutput(text, is_error=bool(stopped) or code != 0)


class _Protocol(asyncio.subprocess.SubprocessStreamProtocol):
    """Stream protocol that tells when the process itself exited: ``Process.wait()``
    also waits for the pipes to close, which a background job can hold open."""

    def __init__(self, limit: int, loop: asyncio.AbstractEventLoop) -> None:
        super().__init__(limit=limit, loop=loop)
        self.exited = asyncio.Event()

    def process_exited(self) -> None:
        super().process_exited()
        self.exited.set()


def _signal_group(pgid: int, sig: int) -> bool:
    """Send ``sig`` to process group ``pgid``; False when the group is gone."""
    try:
        os.killpg(pgid, sig)
    except ProcessLookupError:
        return False
    except PermissionError:
        return False
    return True


async def _kill_group(proc: asyncio.subprocess.Process, exited: asyncio.Event) -> None:
    """SIGTERM the command's process group, SIGKILL it after ``KILL_GRACE_S``."""
    if _signal_group(proc.pid, signal.SIGTERM):
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.shield(exited.wait()), KILL_GRACE_S)
    _signal_group(proc.pid, signal.SIGKILL)
    await exited.wait()
