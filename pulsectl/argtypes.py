"""The types of pulsectl's argument values: each function turns one command-line word
into a value or raises ``argparse.ArgumentTypeError`` with what was expected (argparse
prints it as a usage error, exit 2). Pure; nothing here imports grpc."""

from __future__ import annotations

import argparse
import re
import time

from pulsectl.client import filters
from pulsectl.client.filters import FORMS, Filter

WHERE_FORMS = FORMS


def parse_where(text: str) -> Filter:
    """A ``--where`` value, ``col<op>value``, as a Filter (``col == value`` with spaces
    works too; the grammar is the client library's).

    Raises:
        argparse.ArgumentTypeError: not one of the accepted forms.
    """
    try:
        return filters.parse_where(text)
    except filters.FilterError as err:
        raise argparse.ArgumentTypeError(str(err)) from None


DURATION_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_DURATION_RE = re.compile(r"(\d+(?:\.\d+)?)([smhdw])")
TIME_FORMS = "a duration back from now such as 90s, 15m, 24h, 7d, 2w, or an ISO 8601 time"
TIME_EXAMPLE = "e.g. --since 24h or --since 2026-11-21T09:00"


def parse_duration(text: str) -> float:
    """``90s``, ``15m``, ``24h``, ``7d``, ``2w`` in seconds.

    Raises:
        ValueError: not such a duration.
    """
    match = _DURATION_RE.fullmatch(text.strip().lower())
    if not match:
        raise ValueError(text)
    return float(match.group(1)) * DURATION_UNITS[match.group(2)]


def parse_time_ms(text: str, now: float | None = None) -> int:
    """A ``--since``/``--until`` value as unix milliseconds: a duration back from ``now``
    (default: the current time), ``now``, or an ISO 8601 date or time (local when it has
    no offset).

    Raises:
        argparse.ArgumentTypeError: neither form (the message gives an example).
    """
    current = time.time() if now is None else now
    text = text.strip()
    if text.lower() == "now":
        return int(current * 1000)
    try:
        return int((current - parse_duration(text)) * 1000)
    except ValueError:
        pass
    from datetime import datetime

    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"invalid time {text!r}: use {TIME_FORMS} ({TIME_EXAMPLE})"
        ) from None
    return int(moment.timestamp() * 1000)  # naive datetimes are local time


def parse_start(text: str) -> str | int:
    """A ``--from`` value: "earliest", "latest" or a sequence number.

    Raises:
        argparse.ArgumentTypeError: none of those.
    """
    value = text.strip().lower()
    if value in ("earliest", "latest"):
        return value
    if value.isdigit():
        return int(value)
    raise argparse.ArgumentTypeError(
        f"invalid start {text!r}: use earliest, latest or a sequence number such as 1200"
    )


def positive_int(text: str) -> int:
    """A whole number above zero.

    Raises:
        argparse.ArgumentTypeError: anything else.
    """
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value <= 0:
        raise argparse.ArgumentTypeError(f"expected a whole number above 0, got {text!r}")
    return value


def usd_amount(text: str) -> float:
    """A dollar amount from 0 to 1000 (``0.05``, ``$2``).

    Raises:
        argparse.ArgumentTypeError: not such an amount.
    """
    try:
        value = float(text.strip().lstrip("$"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an amount in USD (e.g. 0.05)") from None
    if not 0 <= value <= 1000:
        raise argparse.ArgumentTypeError("the budget must be between 0 and 1000 USD")
    return value


def timeout_seconds(text: str) -> float:
    """A run timeout: seconds (``90``) or a duration (``90s``, ``15m``, ``2h``); 0 means
    the daemon's default.

    Raises:
        argparse.ArgumentTypeError: anything else.
    """
    try:
        value = float(text)
    except ValueError:
        try:
            value = parse_duration(text)
        except ValueError:
            value = -1.0
    if value < 0:
        raise argparse.ArgumentTypeError(
            f"expected seconds or a duration such as 90s, 15m or 2h, got {text!r}"
        )
    return value
