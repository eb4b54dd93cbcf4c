"""The Timeplus backend's recall SQL parses in the Timeplus dialect, binds every value
(words and vectors included) as a parameter, and reads the current version per id."""

from __future__ import annotations

from sqlglot import exp

from pulsed.store.timeplus import memory_sql, sqlparts
from tests.timeplus.test_timeplus_sql import NASTY, literals, parse, placeholders

NAMES = sqlparts.Names("pulse", "p_")


def test_token_match_binds_the_words() -> None:
    stmt = memory_sql.token_match(NAMES, ["Dog", *NASTY], 42)
    tree = parse(stmt.sql)
    assert not [lit for lit in literals(tree) if lit.is_string]
    kinds = {k: v.sql(dialect="timeplus") for k, v in placeholders(tree).items()}
    assert kinds == {"p0": "int64", "p1": "array(string)", "p2": "int64"}
    assert stmt.params["p0"] == 42 and stmt.params["p1"][0] == "dog"
    assert set(stmt.params["p1"][1:]) == {w.lower() for w in NASTY}
    assert "arg_max" in stmt.sql and "multi_search_any" in stmt.sql
    assert "`pulse`.`p_memory`" in stmt.sql


def test_nearest_binds_the_vector() -> None:
    stmt = memory_sql.nearest(NAMES, [0.5, -1, 2.25], 7, 9)
    tree = parse(stmt.sql)
    assert list(tree.find_all(exp.Order))
    kinds = {k: v.sql(dialect="timeplus") for k, v in placeholders(tree).items()}
    assert kinds["p1"] == "array(float64)"
    assert stmt.params["p1"] == [0.5, -1.0, 2.25]
    assert stmt.params["p2"] == 3 and stmt.params["p3"] == 7
    assert "cosine_distance" in stmt.sql
