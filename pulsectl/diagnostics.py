"""Everything pulsectl writes to stderr, its error hierarchy and the exit codes.

stdout carries data only (``pulsectl.output``); notes, warnings, errors and prompts come
here, so ``pulsectl ... --json | jq`` always sees valid JSON. Each ``CliError`` subclass
names its exit code; ``report`` is the one place that turns an exception into a message
and a code.
"""

from __future__ import annotations

import os
import sys

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_USAGE = 2
EXIT_UNREACHABLE = 3
EXIT_INTERRUPTED = 130

EXIT_CODES_HELP = """\
exit codes:
  0    success
  1    error (the daemon refused the request, a turn failed, systemctl failed)
  2    usage error (bad flags or arguments)
  3    daemon unreachable (no daemon on the socket and it could not be started)
  130  interrupted (Ctrl+C)"""


class CliError(Exception):
    """An error reported to the person as ``error: <message>`` with an exit code.

    Attributes:
        exit_code: the process exit code this error ends with.
        hint: an optional second line saying what to do.
    """

    exit_code = EXIT_ERROR

    def __init__(self, message: str, hint: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint


class UsageError(CliError):
    """The command line is wrong: a malformed value, a missing argument."""

    exit_code = EXIT_USAGE


class ServerError(CliError):
    """The daemon answered with a gRPC error status (other than UNAVAILABLE).

    Attributes:
        code: the status code's name, e.g. ``INVALID_ARGUMENT``.
        details: the daemon's message.
    """

    def __init__(self, code: str, details: str, hint: str = "") -> None:
        super().__init__(f"{code}: {details}" if details else code, hint)
        self.code = code
        self.details = details


class DaemonUnreachable(CliError):
    """No daemon answers on the socket and none could be started, or it went away."""

    exit_code = EXIT_UNREACHABLE


class TurnFailed(CliError):
    """A chat turn ended with a TurnError (the stream itself was fine)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}" if message else code)
        self.code = code


def exit_code_for(exc: BaseException) -> int:
    """The exit code an exception ends pulsectl with."""
    if isinstance(exc, CliError):
        return exc.exit_code
    if isinstance(exc, KeyboardInterrupt):
        return EXIT_INTERRUPTED
    return EXIT_ERROR


def _styled(text: str, code: str) -> str:
    """``text`` in an ANSI style when stderr is a colour terminal."""
    if not sys.stderr.isatty() or os.environ.get("NO_COLOR") or os.environ.get("TERM") == "dumb":
        return text
    return f"\033[{code}m{text}\033[0m"


def _write(text: str) -> None:
    sys.stderr.write(text + "\n")
    sys.stderr.flush()


def usage(text: str) -> None:
    """Help text shown because the command line was incomplete."""
    _write(text.rstrip("\n"))


def note(text: str) -> None:
    """A dim informational line: tool calls, the session id, what was started."""
    _write(_styled(text, "2"))


def warn(text: str) -> None:
    """A visible warning line that does not change the exit code."""
    _write(_styled("warning:", "1;33") + " " + text)


def error(text: str, hint: str = "") -> None:
    """An ``error: ...`` line, and an optional hint below it."""
    _write(_styled("error:", "1;31") + " " + text)
    if hint:
        _write(_styled(hint, "2"))


def report(exc: BaseException) -> int:
    """Tell the person what went wrong and return the exit code for it."""
    if isinstance(exc, CliError):
        error(exc.message, exc.hint)
    elif isinstance(exc, KeyboardInterrupt):
        pass
    else:
        error(f"{type(exc).__name__}: {exc}")
    return exit_code_for(exc)


def end_line() -> None:
    """Move to a fresh line (after ^C or ^D echoed at a prompt)."""
    _write("")


def read_line(prompt: str) -> str:
    """One line typed by the person, with readline editing when on a terminal.

    The prompt goes where readline can redraw it: the terminal (stdout) when stdout is
    one, else stderr, so redirected output never holds prompts.

    Raises:
        EOFError: end of input (Ctrl+D).
    """
    if sys.stdout.isatty():
        return input(prompt)
    sys.stderr.write(prompt)
    sys.stderr.flush()
    return input()


def ask(question: str) -> str | None:
    """Ask on stderr and read one line from stdin; None at end of input."""
    sys.stderr.write(_styled(question, "1") + " ")
    sys.stderr.flush()
    line = sys.stdin.readline()
    if not line:
        sys.stderr.write("\n")
        return None
    return line.strip()


def confirm(question: str) -> bool:
    """A ``[y/N]`` question; anything but y/yes (including end of input) is no."""
    answer = ask(f"{question} [y/N]")
    return answer is not None and answer.lower() in ("y", "yes")
