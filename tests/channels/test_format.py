"""Markdown → Telegram HTML / Slack mrkdwn, and splitting under a limit."""

from __future__ import annotations

import pytest

from pulsed.channels.format import (
    parse,
    render_slack,
    render_telegram,
    slack_mrkdwn,
    split,
    telegram_html,
    utf16_len,
)
from tests.fakes.telegram import parse_html


def tg(md: str) -> str:
    return telegram_html(parse(md))


def sl(md: str) -> str:
    return slack_mrkdwn(parse(md))


@pytest.mark.parametrize(
    ("md", "html"),
    [
        ("a < b & c > d", "a &lt; b &amp; c &gt; d"),
        ("**bold** _it_ ~~gone~~", "<b>bold</b> <i>it</i> <s>gone</s>"),
        ("`x<y>&z`", "<code>x&lt;y&gt;&amp;z</code>"),
        ("<b>not markup</b>", "&lt;b&gt;not markup&lt;/b&gt;"),
        ("[a&b](https://e.com/?x=1&y=2)", '<a href="https://e.com/?x=1&amp;y=2">a&amp;b</a>'),
        ("[bad](javascript:alert(1))", "[bad](javascript:alert(1))"),
        ("# Title", "<b>Title</b>"),
        (
            "```py\nif a<b:\n  pass\n```",
            '<pre><code class="language-py">if a&lt;b:\n  pass</code></pre>',
        ),
        ("- one\n- two", "• one\n• two"),
        ("1. one\n2. two", "1. one\n2. two"),
        ("> quoted\n> more", "<blockquote>quoted\nmore</blockquote>"),
        ("snake_case_name and 2 * 3 * 4", "snake_case_name and 2 * 3 * 4"),
    ],
)
def test_telegram_html(md: str, html: str) -> None:
    assert tg(md) == html
    parse_html(tg(md))  # Telegram would accept it


@pytest.mark.parametrize(
    ("md", "mrkdwn"),
    [
        ("a < b & c > d", "a &lt; b &amp; c &gt; d"),
        ("**bold** _it_ ~~gone~~", "*bold* _it_ ~gone~"),
        ("`x<y`", "`x&lt;y`"),
        ("[docs](https://e.com/a|b)", "<https://e.com/a%7Cb|docs>"),
        ("```\ncode <x>\n```", "```\ncode &lt;x&gt;\n```"),
        ("> q1\n> q2", "> q1\n> q2"),
    ],
)
def test_slack_mrkdwn(md: str, mrkdwn: str) -> None:
    assert sl(md) == mrkdwn


def test_split_prefers_paragraphs_then_lines() -> None:
    md = "\n\n".join(["alpha " * 30, "beta " * 30, "gamma " * 30])
    parts = split(parse(md), 400)
    assert [p.text.split()[0] for p in parts] == ["alpha", "gamma"]
    assert all(len(p.text) <= 400 for p in parts)
    lines = "\n".join(f"line {i}" for i in range(200))
    parts = split(parse("```\n" + lines + "\n```"), 300)
    assert len(parts) > 1
    for p in parts:
        html = telegram_html(p)
        assert html.startswith("<pre>") and html.endswith("</pre>")
        assert all(line.startswith("line ") for line in p.text.split("\n"))


def test_split_closes_and_reopens_styles() -> None:
    md = (
        "**"
        + " ".join(f"w{i}" for i in range(400))
        + "** end [link text "
        + "x " * 50
        + "](https://e.com)"
    )
    parts = render_telegram(md, limit=200)
    assert len(parts) > 3
    for part in parts:
        visible, _ = parse_html(part.body)  # balanced and escaped in every part
        assert visible == part.plain
        assert utf16_len(part.plain) <= 200
    assert parts[1].body.startswith("<b>")
    assert any('<a href="https://e.com">' in p.body for p in parts[-2:])


def test_split_counts_utf16_and_never_splits_a_character() -> None:
    md = "😀" * 3000  # 2 UTF-16 units each, no break opportunities
    parts = render_telegram(md)
    assert len(parts) == 2
    assert all(utf16_len(p.plain) <= 4096 for p in parts)
    assert "".join(p.plain for p in parts) == md


def test_slack_parts_stay_under_the_limit() -> None:
    md = "\n\n".join(f"para {i} " + "word & " * 200 for i in range(10))
    parts = render_slack(md)
    assert len(parts) >= 3
    assert all(len(p.plain) <= 3900 and len(p.body) < 40_000 for p in parts)


def test_empty_and_whitespace() -> None:
    assert render_telegram("") == []
    assert render_telegram("\n\n  \n") == []
