"""``pulsectl memory ...`` against the real daemon: add prints the id (``--json``:
``{"id": ...}``), list/search/show/edit/forget, and clear errors for bad input."""

from __future__ import annotations

import json

from tests.harness import Daemon


def test_memory_commands(daemon: Daemon) -> None:
    out = daemon.pulsectl(
        "memory", "add", "My dog is called Rex", "--type", "fact", "--category", "family"
    )
    assert out.returncode == 0, out.stderr
    mid = out.stdout.strip()
    assert mid.startswith("mem_")

    out = daemon.pulsectl(
        "memory", "add", "I prefer tea over coffee", "--importance", "0.9", "--json"
    )
    assert out.returncode == 0, out.stderr
    tea = json.loads(out.stdout)["id"]

    listed = json.loads(daemon.pulsectl("memory", "list", "--json").stdout)
    assert [m["id"] for m in listed] == [tea, mid]
    assert listed[1]["memory_type"] == "fact" and listed[1]["category"] == "family"
    assert listed[0]["importance"] == 0.9
    facts = json.loads(daemon.pulsectl("memory", "list", "--type", "fact", "--json").stdout)
    assert [m["id"] for m in facts] == [mid]
    table = daemon.pulsectl("memory", "list").stdout
    assert "Rex" in table and "fact/family" in table

    hits = json.loads(daemon.pulsectl("memory", "search", "dog name", "--json").stdout)
    assert [h["memory"]["id"] for h in hits] == [mid]
    assert hits[0]["why"] == "keyword" and 0 < hits[0]["score"] <= 1
    text = daemon.pulsectl("memory", "search", "dog").stdout
    assert "keyword" in text and mid in text

    out = daemon.pulsectl("memory", "edit", mid, "My dog is called Max")
    assert out.returncode == 0, out.stderr
    shown = daemon.pulsectl("memory", "show", mid)
    assert "versions (2)" in shown.stdout
    assert "called Rex" in shown.stdout and "called Max" in shown.stdout

    out = daemon.pulsectl("memory", "forget", tea)
    assert out.returncode == 0 and tea in out.stdout
    assert json.loads(daemon.pulsectl("memory", "search", "tea", "--json").stdout) == []
    out = daemon.pulsectl("memory", "show", tea)
    assert out.returncode == 1 and "no memory" in out.stderr

    none = daemon.pulsectl("memory", "search", "kernel compile flags")
    assert none.returncode == 0 and none.stdout == "" and "no memory" in none.stderr


def test_memory_bad_input(daemon: Daemon) -> None:
    out = daemon.pulsectl("memory", "add", "token: ghp_abcdefghijklmnopqrstuvwxyz012345")
    assert out.returncode == 1 and "secret" in out.stderr
    out = daemon.pulsectl("memory", "add", "x", "--importance", "3")
    assert out.returncode == 2 and "not from 0 to 1" in out.stderr
    out = daemon.pulsectl("memory", "add", "   ")
    assert out.returncode == 1 and "needs some text" in out.stderr
    out = daemon.pulsectl("memory", "edit", "mem_nothere")
    assert out.returncode == 2 and "nothing to change" in out.stderr
    out = daemon.pulsectl("memory", "forget", "mem_nothere")
    assert out.returncode == 1 and "no memory" in out.stderr
    assert daemon.pulsectl("memory", "--help").returncode == 0
