"""End to end, as a person sees it: pulsetui in a real terminal (tmux) against the real
daemon; type a message, read the streamed answer off the screen with capture-pane, quit."""

from __future__ import annotations

import shlex
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator

import pytest

from tests.fakes.llm import FakeLLM, Reply
from tests.harness import ROOT, Daemon

pytestmark = pytest.mark.skipif(
    shutil.which("tmux") is None, reason="tmux is not installed (.ci/run installs it)"
)


class Tmux:
    """A private tmux server (its own socket name) holding one window of given size."""

    def __init__(self) -> None:
        self.name = f"pulse-test-{uuid.uuid4().hex[:8]}"

    def run(self, *args: str) -> str:
        out = subprocess.run(
            ["tmux", "-L", self.name, *args], capture_output=True, text=True, timeout=10
        )
        return out.stdout

    def screen(self) -> str:
        return self.run("capture-pane", "-p", "-t", "main")

    def wait_for(self, *texts: str, timeout: float = 20.0) -> str:
        """Poll the screen until every one of ``texts`` shows on the same capture;
        returns that screen. (A capture is a moment of a screen being redrawn: one
        text there says nothing of another, so each text a test reads is waited for.)
        tmux has no event for "this text was drawn", so this polls, every 0.1 s.

        Raises:
            AssertionError: not all showed within ``timeout`` seconds (with the screen).
        """
        deadline = time.monotonic() + timeout
        screen = ""
        while time.monotonic() < deadline:
            screen = self.screen()
            if all(text in screen for text in texts):
                return screen
            time.sleep(0.1)
        raise AssertionError(f"{texts!r} never all showed; the screen was:\n{screen}")

    def kill(self) -> None:
        subprocess.run(["tmux", "-L", self.name, "kill-server"], capture_output=True, timeout=10)


@pytest.fixture
def tmux() -> Iterator[Tmux]:
    t = Tmux()
    try:
        yield t
    finally:
        t.kill()


def test_type_a_message_and_read_the_answer(daemon: Daemon, fake_llm: FakeLLM, tmux: Tmux) -> None:
    fake_llm.script(Reply(text="Hello from the fake model, streamed.", chunk_size=4, delay_s=0.02))
    env = " ".join(f"{k}={shlex.quote(v)}" for k, v in daemon.env.items() if k.startswith("PULSE_"))
    command = (
        f"env {env} TERM=xterm-256color {shlex.quote(sys.executable)} -m pulsetui --no-start; "
        "echo PULSETUI-EXIT=$?; sleep 30"
    )
    tmux.run("new-session", "-d", "-s", "main", "-x", "100", "-y", "30", "-c", str(ROOT), command)
    tmux.wait_for("● connected")
    tmux.run("send-keys", "-t", "main", "-l", "hello from tmux")
    tmux.wait_for("hello from tmux")  # in the message box: the console has the keys
    tmux.run("send-keys", "-t", "main", "Enter")
    tmux.wait_for("Hello from the fake model, streamed.", "hello from tmux")
    tmux.run("send-keys", "-t", "main", "C-q")
    tmux.wait_for("PULSETUI-EXIT=0", timeout=10)
