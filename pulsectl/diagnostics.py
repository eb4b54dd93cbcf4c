"""Everything pulsectl writes to stderr, its error hierarchy and the exit codes.

stdout carries data only (``pulsectl.output``); notes, warnings, errors and prompts come
here, so ``pulsectl ... --json | jq`` always sees valid JSON. Each ``CliError`` subclass
names its exit code, and ``exit_code_for`` maps the client library's errors (an
unreachable daemon: 3); ``report`` is the one place that turns an exception into a
message and a code.
"""

from __future__ import annotations

import os
import sys

from pulsectl.client.errors import ClientError as ClientError
from pulsectl.client.errors import DaemonUnreachable as DaemonUnreachable
from pulsectl.client.errors import ServerError as ServerError

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


class CliError(ClientError):
    """An error of the command line itself (not of a call), reported as
    ``error: <message>`` with an exit code.

    Errors of calls are the client library's ``ServerError`` and ``DaemonUnreachable``
    (re-exported here); ``exit_code_for`` gives their codes.

    Attributes:
        exit_code: the process exit code this error ends with.
        hint: an optional second line saying what to do.
    """

    exit_code = EXIT_ERROR

    def __init__(self, message: str, hint: str = "") -> None:
        super().__init__(message, hint)


class UsageError(CliError):
    """The command line is wrong: a malformed value, a missing argument."""

    exit_code = EXIT_USAGE


class TurnFailed(CliError):
    """A chat turn ended with a TurnError (the stream itself was fine); ``code`` is the
    turn's error code (``budget_exceeded``, ``cancelled``, ...)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}" if message else code)
        self.code = code


def exit_code_for(exc: BaseException) -> int:
    """The exit code an exception ends pulsectl with: a CliError's own, 3 for an
    unreachable daemon, 1 for any other error, 130 for Ctrl+C."""
    if isinstance(exc, CliError):
        return exc.exit_code
    if isinstance(exc, ClientError):
        return EXIT_UNREACHABLE if exc.unreachable else EXIT_ERROR
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
    if isinstance(exc, ClientError):
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
