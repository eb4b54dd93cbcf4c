"""Column filters on a stream, and the one grammar both clients read them in.

A term is ``column<op>value`` with op one of ``=`` or ``==`` (eq), ``!=`` (ne), ``~``
(contains), ``>`` (gt), ``>=`` (ge), ``<`` (lt), ``<=`` (le). The column is an identifier
(letters, digits, ``_``; not starting with a digit). Spaces may surround the operator
(``level >= 3``); a column may be a path into a JSON column (``payload.action``, for
stream triggers); when there is one before it, those after it are dropped too, otherwise
the value is kept as typed (``text= padded`` keeps its space). Everything after the
operator is the value, so ``a=b=c`` is ``a`` eq ``b=c``. No grpc here: pulsectl parses
its arguments before it talks to the daemon.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass

OPS = {
    "=": "eq",
    "==": "eq",
    "!=": "ne",
    "~": "contains",
    ">": "gt",
    ">=": "ge",
    "<": "lt",
    "<=": "le",
}
"""Operator symbol → the API's op name (``pulse.v1.Filter.op``)."""

FORMS = "col=value, col!=value, col~value (contains), col>value, col>=value, col<value, col<=value"
"""The accepted forms, for error messages and help."""

_TERM = re.compile(
    r"\s*([A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z0-9_-]+)*)(\s*)(==|!=|>=|<=|=|~|>|<)(.*)", re.DOTALL
)


@dataclass(frozen=True, slots=True)
class Filter:
    """A predicate on one column of a stream.

    Attributes:
        column: the column's name (or a path into a JSON column: ``payload.action``).
        op: eq, ne, contains, gt, ge, lt or le.
        value: the value as text; the daemon converts it to the column's type (and
            answers INVALID_ARGUMENT when it cannot).
    """

    column: str
    op: str = "eq"
    value: str = ""


class FilterError(ValueError):
    """Text that is not a filter; the message names the accepted forms."""


def parse_where(text: str) -> Filter:
    """One term, ``col<op>value``, as a Filter (``col == value`` with spaces works too).

    Raises:
        FilterError: not one of the accepted forms.
    """
    match = _TERM.fullmatch(text)
    if not match:
        raise FilterError(f"invalid filter {text!r}: use one of {FORMS}")
    column, space, op, value = match.groups()
    return Filter(column, OPS[op], value.lstrip() if space else value)


def parse_filters(text: str) -> list[Filter]:
    """A line of terms separated by spaces, shell-quoted where a value holds spaces:
    ``source=tui message_type!=error 'content~hello world'`` → three Filters.

    Raises:
        FilterError: unbalanced quotes, or a term that is not a filter.
    """
    try:
        terms = shlex.split(text)
    except ValueError as err:
        raise FilterError(f"cannot read the filter: {err}") from None
    return [parse_where(term) for term in terms]
