"""The chat turn runner and the interactive prompt of ``pulsectl chat``.

``TurnRunner`` sends one message and follows its turn: the answer streams to the run's
``Output`` (stdout), tool calls, approvals and usage go to stderr as notes, "ask" tools
are put to the person (or approved with --yes, or denied). ``chat_loop`` is the prompt:
one session until /new, Ctrl+C cancels the running turn, readline history kept across
runs in ``<data dir>/chat_history``.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import TYPE_CHECKING

from pulsectl import diagnostics, output
from pulsectl.client.errors import ClientError, ServerError
from pulsectl.diagnostics import EXIT_OK, TurnFailed
from pulsectl.output import Output
from pulsectl.render_context import render_context

if TYPE_CHECKING:
    from pulse.v1 import chat_pb2

    from pulsectl.client.sync import PulseClient


class Turn:
    """What a chat turn told us (a plain class: dataclasses would slow start-up)."""

    def __init__(self, session_id: str = "") -> None:
        self.session_id = session_id
        self.turn_id = ""
        self.streamed = False
        """Deltas were printed, so the final text need not be."""
        self.cancelling = False
        self.error: TurnFailed | None = None


class TurnRunner:
    """Runs chat turns: prints the answer, notes tool activity, answers approvals.

    Args:
        client: the daemon connection (its ``send``, ``cancel`` and ``approve``).
        out: where the answer goes (stdout); notes go to stderr.
        json_mode: print each turn event as one JSON line instead of the answer.
        interactive: the person can answer approval requests on stdin.
        auto_yes: approve every request without asking.
        drain: on Ctrl+C, cancel the turn and keep reading until it ends (a second Ctrl+C
            abandons it); otherwise cancel it and re-raise at once.
    """

    def __init__(
        self,
        client: PulseClient,
        out: Output,
        *,
        json_mode: bool,
        interactive: bool,
        auto_yes: bool,
        drain: bool,
    ) -> None:
        self.client = client
        self.out = out
        self.json_mode = json_mode
        self.interactive = interactive
        self.auto_yes = auto_yes
        self.drain = drain
        self.model = ""
        """``[PROVIDER:]MODEL`` sent with the next message (then the session keeps it)."""

    def run(self, text: str, session_id: str = "") -> Turn:
        """Send ``text`` and follow the turn to its end."""
        turn = Turn(session_id=session_id)
        stream = self.client.send(
            text,
            session_id=session_id,
            interactive=self.interactive or self.auto_yes,
            model=self.model,
        )
        self.model = ""
        while True:
            try:
                event = next(stream, None)
                if event is None:
                    break
                self._handle(event, turn, announce=not session_id)
            except KeyboardInterrupt:
                self.out.break_line_for_stderr()
                if self.drain and turn.turn_id and not turn.cancelling:
                    self._cancel(turn)
                    diagnostics.note("cancelling the turn… (Ctrl+C again to stop waiting)")
                    continue
                if turn.turn_id and not turn.cancelling:
                    self._cancel(turn)
                stream.cancel()
                raise
        if not self.json_mode:
            self.out.finish_line()
        return turn

    def _cancel(self, turn: Turn) -> None:
        turn.cancelling = True
        try:
            self.client.cancel(turn.turn_id)
        except ClientError as err:
            diagnostics.warn(f"could not cancel the turn: {err.message}")

    def _note(self, text: str) -> None:
        self.out.break_line_for_stderr()
        diagnostics.note(text)

    def _handle(self, event: chat_pb2.TurnEvent, turn: Turn, *, announce: bool) -> None:
        if self.json_mode:
            self.out.json_line(output.to_dict(event))
        if event.session_id and event.session_id != turn.session_id:
            turn.session_id = event.session_id
            if announce:
                self._note(f"session: {event.session_id}")
        turn.turn_id = event.turn_id or turn.turn_id
        kind = event.WhichOneof("event")
        if kind == "accepted" and event.accepted.queued_behind:
            self._note(f"queued behind {event.accepted.queued_behind} turn(s)")
        elif kind == "delta":
            if not self.json_mode:
                self.out.write(event.delta.text)
            turn.streamed = True
        elif kind == "tool_call":
            call = event.tool_call
            self._note(output.tool_call_note(call.name, call.arguments_json, _note_width()))
        elif kind == "tool_result":
            res = event.tool_result
            self._note(
                output.tool_result_note(res.status, res.duration_ms, res.preview, _note_width())
            )
        elif kind == "approval_request":
            self._approve(event.approval_request)
        elif kind == "final":
            if not self.json_mode and not turn.streamed:
                self.out.write(event.final.text)
            usage = event.final.usage
            if usage.llm_calls:
                self._note(
                    f"· {output.tokens(usage.input_tokens)} in, "
                    f"{output.tokens(usage.output_tokens)} out, {output.money(usage.cost_usd)}"
                )
        elif kind == "error":
            turn.error = TurnFailed(event.error.code, event.error.message)

    def _approve(self, req: chat_pb2.ApprovalRequest) -> None:
        """Answer an approval request: --yes approves once, a person is asked
        ``[y/s/N]`` (y: once, s: for the rest of the session, anything else: deny) after
        the tool's detail (the shell's exact command, write_file's diff); without a
        terminal it is denied."""
        args = output.truncate(output.one_line(req.arguments_json), 200)
        approved = for_session = False
        if self.auto_yes:
            approved = True
            self._note(f"approved {req.tool} (--yes)")
        elif self.interactive:
            self.out.break_line_for_stderr()
            if req.detail:
                self._note(req.detail)
            else:
                self._note(f"{req.tool} {args}")
            wait = f" ({req.timeout_s:.0f}s to answer)" if req.timeout_s else ""
            answer = diagnostics.ask(
                f"allow {req.tool}? y = once, s = for this session, N = deny{wait} [y/s/N]"
            )
            choice = (answer or "").lower()
            approved = choice in ("y", "yes", "s", "session")
            for_session = choice in ("s", "session")
        try:
            self.client.approve(req.request_id, approved, for_session)
        except ClientError as err:
            diagnostics.warn(f"the answer was not taken: {err.message}")


def _note_width() -> int:
    return max(40, output.terminal_width() - 1)


CHAT_HELP = (
    "/new starts a new session, /model [PROVIDER:]MODEL switches this session's model, "
    "/context shows what the next prompt is made of, /compact [FOCUS] summarises older "
    "history, /exit or Ctrl+D quits, Ctrl+C "
    "cancels a turn"
)


def _slash(runner: TurnRunner, text: str, session_id: str) -> bool:
    """Run a /model, /context or /compact command; False when ``text`` is none of them."""
    name, _, rest = text.partition(" ")
    if name not in ("/model", "/context", "/compact"):
        return False
    try:
        if name == "/compact":
            if not session_id:
                diagnostics.note("no session yet: send a message first")
            else:
                compacted = runner.client.compact(session_id, rest.strip())
                diagnostics.note(
                    f"compacted: {compacted.covered_messages} earlier messages summarised"
                    if compacted.summary_id
                    else "too little history to compact"
                )
        elif name == "/context":
            if not session_id:
                diagnostics.note("no session yet: send a message first")
            else:
                ctx = runner.client.context(session_id, rest.strip())
                diagnostics.note(render_context(ctx, _note_width()))
        elif not session_id:
            runner.model = rest.strip()
            diagnostics.note(
                f"the new session will use {runner.model}" if runner.model else "default model"
            )
        elif not rest.strip():
            ctx = runner.client.context(session_id)
            diagnostics.note(f"this session uses {ctx.provider}:{ctx.model}")
        else:
            done = runner.client.set_session_model(session_id, rest.strip())
            diagnostics.note(f"this session now uses {done.provider}:{done.model}")
            if done.warning:
                diagnostics.warn(done.warning)
    except ClientError as err:
        diagnostics.report(err)
    return True


def chat_loop(runner: TurnRunner, session_id: str) -> int:
    """The interactive prompt: one session until /new, history kept across runs."""
    history = _load_history()
    diagnostics.note(
        f"chatting with pulsed{f' in session {session_id}' if session_id else ''}; {CHAT_HELP}"
    )
    try:
        while True:
            try:
                text = diagnostics.read_line("> ").strip()
            except EOFError:
                diagnostics.end_line()
                return EXIT_OK
            except KeyboardInterrupt:
                diagnostics.end_line()
                continue
            if not text:
                continue
            if text in ("/exit", "/quit"):
                return EXIT_OK
            if text == "/new":
                session_id = ""
                diagnostics.note("the next message starts a new session")
                continue
            if text == "/help":
                diagnostics.note(CHAT_HELP)
                continue
            if _slash(runner, text, session_id):
                continue
            if re.fullmatch(r"/\w+", text):
                diagnostics.note(f"unknown command {text}; {CHAT_HELP}")
                continue
            try:
                turn = runner.run(text, session_id)
            except KeyboardInterrupt:
                diagnostics.note("stopped waiting for the turn")
                continue
            except ServerError as err:
                diagnostics.report(err)
                continue
            session_id = turn.session_id or session_id
            if turn.error is not None:
                if turn.cancelling and turn.error.code == "cancelled":
                    diagnostics.note("cancelled")
                else:
                    diagnostics.report(turn.error)
    finally:
        _save_history(history)


def _load_history() -> Path | None:
    try:
        import readline
    except ImportError:
        return None
    from pulse.paths import client_data_dir

    path = Path(client_data_dir()) / "chat_history"
    readline.set_history_length(1000)
    try:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        readline.read_history_file(path)
    except OSError:
        pass
    return path


def _save_history(path: Path | None) -> None:
    if path is None:
        return
    import readline

    try:
        readline.write_history_file(path)
        os.chmod(path, 0o600)
    except OSError:
        pass


# sessions
