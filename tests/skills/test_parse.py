"""SKILL.md parsing: the AgentSkills front matter rules, and what other agents write."""

from __future__ import annotations

import pytest

from pulsed.skills.parse import SkillInvalid, check_name, parse_skill


def doc(front: str, body: str = "Body text.") -> str:
    return f"---\n{front}\n---\n\n{body}\n"


def test_a_full_skill_parses() -> None:
    text = doc(
        "name: pdf-tools\ndescription: Work with PDFs.\nlicense: MIT\n"
        "compatibility: needs poppler\nallowed-tools: shell read_file\n"
        "metadata:\n  requires-bins: pdftotext qpdf\n  requires-env: PDF_KEY\n  author: x",
        "# PDF\n\nUse pdftotext.",
    )
    d = parse_skill(text, "pdf-tools")
    assert (d.name, d.description, d.license, d.compatibility) == (
        "pdf-tools",
        "Work with PDFs.",
        "MIT",
        "needs poppler",
    )
    assert d.allowed_tools == ("shell", "read_file")
    assert d.body == "# PDF\n\nUse pdftotext."
    assert d.requires.bins == ("pdftotext", "qpdf") and d.requires.env == ("PDF_KEY",)
    assert d.metadata["author"] == "x" and d.warnings == ()


@pytest.mark.parametrize(
    ("name", "ok"),
    [
        ("a", True),
        ("git-github", True),
        ("x" * 64, True),
        ("x" * 65, False),
        ("Git", False),
        ("-lead", False),
        ("trail-", False),
        ("dou--ble", False),
        ("under_score", False),
        ("", False),
    ],
)
def test_names(name: str, ok: bool) -> None:
    assert (check_name(name) is None) is ok


@pytest.mark.parametrize(
    ("text", "folder", "why"),
    [
        ("no front matter here", "x", "no front matter"),
        (doc("name: x\ndescription: [unclosed"), "x", "not valid YAML"),
        (doc("- a\n- b"), "x", "YAML map"),
        (doc("description: d"), "x", "name is missing"),
        (doc("name: Bad_Name\ndescription: d"), "Bad_Name", "lower-case"),
        (doc("name: other\ndescription: d"), "x", "differs from its folder"),
        (doc("name: x"), "x", "description is missing"),
        (doc("name: x\ndescription: ''"), "x", "description is empty"),
        (doc("name: x\ndescription: " + "d" * 1025), "x", "at most 1024"),
        (doc("name: x\ndescription: d\ncompatibility: " + "c" * 501), "x", "at most 500"),
        (doc("name: x\ndescription: 42"), "x", "description must be a string"),
        (doc("name: off\ndescription: d"), "off", "got bool False .*quote it"),
        (doc("name: x\ndescription: d\nmetadata: [1]"), "x", "metadata must be a map"),
        (doc("name: x\ndescription: d\nmetadata:\n  requires-bins: 3"), "x", "requires-bins"),
        (doc("name: x\ndescription: d\nallowed-tools: {a: 1}"), "x", "allowed-tools"),
    ],
)
def test_invalid_front_matter_says_why(text: str, folder: str, why: str) -> None:
    with pytest.raises(SkillInvalid, match=why):
        parse_skill(text, folder)


def test_description_at_the_limit_and_other_agents_keys() -> None:
    d = parse_skill(
        doc("name: x\ndescription: " + "d" * 1024 + "\nversion: 1.0\nuser-invocable: true"), "x"
    )
    assert len(d.description) == 1024
    assert d.warnings == ("ignored front matter keys: user-invocable, version",)


def test_openclaw_json_metadata_and_crlf() -> None:
    text = (
        '---\r\nname: md\r\ndescription: Markdown.\r\nmetadata: {"openclaw": {"requires": '
        '{"anyBins": ["curl", "wget"]}}}\r\n---\r\nBody\r\n'
    )
    d = parse_skill(text, "md")
    assert d.requires.any_bins == ("curl", "wget") and d.body == "Body"
