"""Requirements in the AgentSkills, OpenClaw and nanobot forms, checked against a PATH and
an environment the tests make."""

from __future__ import annotations

from pathlib import Path

import pytest

from pulsed.skills.requirements import Requirements, RequirementsError, parse_requirements
from tests.skills.util import fake_bin


def test_agentskills_form() -> None:
    r = parse_requirements({"requires-bins": "git  gh", "requires-env": "GH_TOKEN"})
    assert r == Requirements(bins=("git", "gh"), env=("GH_TOKEN",))


def test_openclaw_form() -> None:
    meta = {
        "openclaw": {
            "emoji": "x",
            "os": ["darwin", "linux"],
            "requires": {"bins": ["jq"], "anyBins": ["curl", "wget"], "env": ["API_KEY"]},
        }
    }
    r = parse_requirements(meta)
    assert r == Requirements(("jq",), ("curl", "wget"), ("API_KEY",), ("darwin", "linux"))


def test_nanobot_form_as_json_string() -> None:
    meta = {"nanobot": '{"requires": {"bins": ["gh"], "env": ["GITHUB_TOKEN"]}, "os": "linux"}'}
    r = parse_requirements(meta)
    assert r == Requirements(bins=("gh",), env=("GITHUB_TOKEN",), os=("linux",))


def test_forms_merge_without_duplicates() -> None:
    meta = {"requires-bins": "git", "nanobot": {"requires": {"bins": ["git", "gh"]}}}
    assert parse_requirements(meta).bins == ("git", "gh")


@pytest.mark.parametrize(
    "meta",
    [
        {"openclaw": 3},
        {"openclaw": "not json"},
        {"openclaw": {"requires": {"bins": [1]}}},
        {"requires-env": {"a": 1}},
    ],
)
def test_bad_shapes(meta: dict[str, object]) -> None:
    with pytest.raises(RequirementsError):
        parse_requirements(meta)


def test_missing_against_a_fake_path(tmp_path: Path) -> None:
    path = fake_bin(tmp_path / "bin", "git", "wget")
    r = Requirements(bins=("git", "gh"), any_bins=("curl", "wget"), env=("TOKEN", "EMPTY"))
    env = {"PATH": path, "EMPTY": ""}
    assert r.missing(env) == ["gh: not found on PATH", "$TOKEN: not set", "$EMPTY: not set"]
    fake_bin(tmp_path / "bin", "gh")
    assert r.missing({**env, "TOKEN": "t", "EMPTY": "e"}) == []
    assert Requirements(any_bins=("curl",)).missing(env) == [
        "none of curl found on PATH (needs one)"
    ]


def test_os() -> None:
    r = Requirements(os=("darwin",))
    assert r.missing({}, platform="linux") == ["runs on darwin, not on linux"]
    assert r.missing({}, platform="darwin") == []
    assert Requirements(os=("win32",)).missing({}, platform="win32") == []
