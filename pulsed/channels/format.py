"""Markdown answers as what each chat platform renders, split under its length limit.

The agent writes CommonMark (plus ~~strike~~ and tables). ``parse`` turns it into a small
intermediate form: visible text plus style marks (bold, italic, strike, inline code, code
block, link, quote) at text offsets. ``split`` cuts the visible text under a limit at a
paragraph break, else a line break, else a space, else anywhere, closing the styles open
at a cut and reopening them in the next part (so a code block cut in two is two code
blocks). ``telegram_html`` and ``slack_mrkdwn`` write a part in each platform's syntax.

Facts from the platforms' documentation:
- Telegram Bot API, "Formatting options" (core.telegram.org/bots/api#formatting-options):
  HTML mode supports <b> <i> <s> <u> <code> <pre> <pre><code class="language-x">
  <a href> <blockquote>; every <, > and & that is not markup must be written &lt; &gt;
  &amp;. sendMessage text is 1-4096 characters after entities parsing (counted in UTF-16
  code units, as Telegram's entity offsets are).
- Slack, "Formatting text for app surfaces" (api.slack.com/reference/surfaces/formatting):
  mrkdwn uses *bold* _italic_ ~strike~ `code` ```block``` <url|label> and "> " quotes;
  &, < and > must be escaped as &amp; &lt; &gt;. chat.postMessage truncates text over
  40,000 characters; Slack recommends keeping a message under 4,000.
"""

from __future__ import annotations

import bisect
import html
from dataclasses import dataclass, field
from functools import cache
from typing import Any

TELEGRAM_LIMIT = 4096
"""Telegram's sendMessage text limit, in UTF-16 code units after entity parsing."""

SLACK_LIMIT = 3900
"""Visible characters per Slack message: under Slack's recommended 4,000, leaving room
for mrkdwn markers and escapes."""

STYLES = ("b", "i", "s", "code", "pre", "a", "blockquote")
"""Style marks of the intermediate form. ``pre`` and ``a`` carry an attribute (the code
block's language, the link's URL)."""

SAFE_SCHEMES = ("http://", "https://", "mailto:", "tg://")


@dataclass(frozen=True, slots=True)
class Mark:
    """A style opening or closing at visible-text offset ``pos``."""

    pos: int
    opens: bool
    style: str
    attr: str = ""


@dataclass(slots=True)
class Doc:
    """Visible text and the style marks on it, in document order."""

    text: str = ""
    marks: list[Mark] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Part:
    """One message of a split answer: ``body`` in the platform's syntax, ``plain`` its
    visible text (sent as is when the platform refuses the formatted body)."""

    body: str
    plain: str


def utf16_len(text: str) -> int:
    """Length of ``text`` in UTF-16 code units (how Telegram counts)."""
    return len(text.encode("utf-16-le")) // 2


@cache
def _markdown() -> Any:
    from markdown_it import MarkdownIt

    return MarkdownIt("commonmark").enable(["strikethrough", "table"])


class _Builder:
    def __init__(self) -> None:
        self.parts: list[str] = []
        self.size = 0
        self.marks: list[Mark] = []
        self.pending = ""  # separator owed before the next block's text
        self.at_marker = False  # just wrote a list marker: the next block continues its line

    def text(self, s: str) -> None:
        if not s:
            return
        if self.pending:
            sep, self.pending = self.pending, ""
            if self.size:
                self._raw(sep)
        self._raw(s)
        self.at_marker = False

    def _raw(self, s: str) -> None:
        self.parts.append(s)
        self.size += len(s)

    def mark(self, opens: bool, style: str, attr: str = "") -> None:
        if opens and self.pending and self.size:
            sep, self.pending = self.pending, ""
            self._raw(sep)
        self.marks.append(Mark(self.size, opens, style, attr))

    def block(self, sep: str) -> None:
        """A new block starts: it is separated by ``sep`` from what came before."""
        if self.at_marker:
            return
        if not self.pending or len(sep) > len(self.pending):
            self.pending = sep

    def doc(self) -> Doc:
        return Doc("".join(self.parts), self.marks)


def parse(markdown: str) -> Doc:
    """The visible text and style marks of ``markdown``.

    Headings become bold lines, list items "• " or "1. " lines (nested ones indented),
    tables pipe-separated lines, images their alt text and URL, raw HTML literal text.
    """
    tokens = _markdown().parse(markdown)
    b = _Builder()
    lists: list[list[Any]] = []  # [ordered, counter, tight]
    quote = 0
    table_row: list[str] = []
    in_cell = False
    for idx, tok in enumerate(tokens):
        t = tok.type
        tight = bool(lists) and lists[-1][2]
        sep = "\n" if tight else "\n\n"
        if t == "paragraph_open":
            b.block(sep)
        elif t == "heading_open":
            b.block("\n\n")
            b.mark(True, "b")
        elif t == "heading_close":
            b.mark(False, "b")
        elif t in ("bullet_list_open", "ordered_list_open"):
            b.block("\n" if lists else "\n\n")
            start = int(tok.attrs.get("start", 1) or 1) if t == "ordered_list_open" else 1
            lists.append([t == "ordered_list_open", start - 1, _is_tight(tokens, idx)])
        elif t in ("bullet_list_close", "ordered_list_close"):
            lists.pop()
            b.block("\n\n" if not lists else "\n")
        elif t == "list_item_open":
            b.block("\n")
            entry = lists[-1]
            entry[1] += 1
            indent = "   " * (len(lists) - 1)
            b.text(indent + (f"{entry[1]}. " if entry[0] else "• "))
            b.at_marker = True
        elif t == "blockquote_open":
            b.block("\n\n")
            quote += 1
            if quote == 1:
                b.mark(True, "blockquote")
                b.at_marker = True  # the quote's first block starts right inside it
        elif t == "blockquote_close":
            quote -= 1
            if quote == 0:
                b.mark(False, "blockquote")
            b.block("\n\n")
        elif t in ("fence", "code_block"):
            b.block(sep)
            lang = tok.info.strip().split()[0] if t == "fence" and tok.info.strip() else ""
            b.mark(True, "pre", lang)
            b.text(tok.content.rstrip("\n") or " ")
            b.mark(False, "pre")
        elif t == "hr":
            b.block("\n\n")
            b.text("———")
        elif t == "html_block":
            b.block("\n\n")
            b.text(tok.content.rstrip("\n"))
        elif t == "tr_open":
            table_row = []
        elif t in ("th_open", "td_open"):
            in_cell = True
        elif t in ("th_close", "td_close"):
            in_cell = False
        elif t == "tr_close":
            b.block("\n")
            b.text(" | ".join(table_row))
        elif t == "table_open":
            b.block("\n\n")
        elif t == "inline":
            if in_cell:
                table_row.append(_inline_plain(tok.children or []))
            else:
                _inline(b, tok.children or [])
    return _strip(b.doc())


def _is_tight(tokens: list[Any], start: int) -> bool:
    """markdown-it marks a tight list (opened at ``tokens[start]``) by hiding its
    paragraphs."""
    list_tok = tokens[start]
    for tok in tokens[start + 1 :]:
        if tok.type == "paragraph_open" and tok.level == list_tok.level + 2:
            return bool(tok.hidden)
        if tok.type in ("bullet_list_close", "ordered_list_close") and tok.level == list_tok.level:
            break
    return True


def _inline_plain(children: list[Any]) -> str:
    out = []
    for c in children:
        if c.type in ("text", "code_inline", "html_inline"):
            out.append(c.content)
        elif c.type in ("softbreak", "hardbreak"):
            out.append(" ")
        elif c.type == "image":
            out.append(c.content)
    return "".join(out)


def _inline(b: _Builder, children: list[Any]) -> None:
    link_open = False
    for c in children:
        t = c.type
        if t == "text" or t == "html_inline":
            b.text(c.content)
        elif t == "code_inline":
            if link_open:
                b.text(c.content)
            else:
                b.mark(True, "code")
                b.text(c.content)
                b.mark(False, "code")
        elif t in ("softbreak", "hardbreak"):
            b.text("\n")
        elif t in ("strong_open", "em_open", "s_open"):
            if not link_open:
                b.mark(True, {"strong_open": "b", "em_open": "i", "s_open": "s"}[t])
        elif t in ("strong_close", "em_close", "s_close"):
            if not link_open:
                b.mark(False, {"strong_close": "b", "em_close": "i", "s_close": "s"}[t])
        elif t == "link_open":
            href = str(c.attrs.get("href", ""))
            if href.lower().startswith(SAFE_SCHEMES):
                b.mark(True, "a", href)
                link_open = True
        elif t == "link_close":
            if link_open:
                b.mark(False, "a")
                link_open = False
        elif t == "image":
            src = str(c.attrs.get("src", ""))
            alt = c.content or "image"
            if src.lower().startswith(SAFE_SCHEMES) and not link_open:
                b.mark(True, "a", src)
                b.text(alt)
                b.mark(False, "a")
            else:
                b.text(alt)


def _strip(doc: Doc) -> Doc:
    """Drop leading and trailing newlines, moving marks with the text."""
    text = doc.text
    lead = len(text) - len(text.lstrip("\n"))
    end = len(text.rstrip("\n"))
    if lead == 0 and end == len(text):
        return doc
    marks = [
        Mark(min(max(m.pos - lead, 0), end - lead), m.opens, m.style, m.attr) for m in doc.marks
    ]
    return Doc(text[lead:end], marks)


# -- splitting ---------------------------------------------------------------------------


def split(doc: Doc, limit: int) -> list[Doc]:
    """``doc`` cut into parts whose visible text is at most ``limit`` UTF-16 code units.

    Cuts fall at a paragraph break, else a line break, else a space (searched in the last
    two thirds of the room first, then anywhere), else at the limit. The separator at a
    cut is dropped. Styles open at a cut are closed in the part before it and reopened
    in the part after it.

    Raises:
        ValueError: ``limit`` is below 16.
    """
    if limit < 16:
        raise ValueError(f"limit {limit} is too small to split messages")
    text = doc.text
    cum = [0]
    for ch in text:
        cum.append(cum[-1] + (2 if ord(ch) > 0xFFFF else 1))
    segments: list[tuple[int, int, int]] = []  # (start, end, next start)
    a, n = 0, len(text)
    while a < n:
        e = bisect.bisect_right(cum, cum[a] + limit) - 1
        if e >= n:
            segments.append((a, n, n))
            break
        end, nxt = _cut(text, a, e)
        segments.append((a, end, nxt))
        a = nxt
    if not segments:
        return [doc] if doc.text else []
    out: list[Doc] = []
    marks = doc.marks
    mi = 0
    stack: list[Mark] = []
    for a, b, nxt in segments:
        part_marks = [Mark(0, True, m.style, m.attr) for m in stack]
        while mi < len(marks) and (
            marks[mi].pos < b or (marks[mi].pos == b and not marks[mi].opens)
        ):
            m = marks[mi]
            part_marks.append(Mark(max(m.pos, a) - a, m.opens, m.style, m.attr))
            _apply(stack, m)
            mi += 1
        part_marks += [Mark(b - a, False, m.style) for m in reversed(stack)]
        while mi < len(marks) and (
            marks[mi].pos < nxt or (marks[mi].pos == nxt and not marks[mi].opens)
        ):
            _apply(stack, marks[mi])
            mi += 1
        part = _drop_empty(Doc(text[a:b], part_marks))
        if part.text.strip():
            out.append(part)
    return out


def _cut(text: str, a: int, e: int) -> tuple[int, int]:
    """Where to cut ``text[a:]`` whose room ends at ``e``: (end of this part, start of
    the next)."""
    lo = a + (e - a) // 3
    for start in (lo, a + 1):
        for sep in ("\n\n", "\n", " "):
            k = text.rfind(sep, start, e)
            if k > a:
                nxt = k + len(sep)
                if sep == "\n\n":
                    while nxt < len(text) and text[nxt] == "\n":
                        nxt += 1
                return k, nxt
    return e, e


def _apply(stack: list[Mark], m: Mark) -> None:
    if m.opens:
        stack.append(m)
        return
    for i in range(len(stack) - 1, -1, -1):
        if stack[i].style == m.style:
            del stack[i]
            return


def _drop_empty(doc: Doc) -> Doc:
    """Remove styles that open and close at one offset (nothing inside them)."""
    marks: list[Mark] = []
    for m in doc.marks:
        last = marks[-1] if marks else None
        if last and last.opens and not m.opens and last.style == m.style and last.pos == m.pos:
            marks.pop()
        else:
            marks.append(m)
    return Doc(doc.text, marks)


# -- writers -----------------------------------------------------------------------------


def _events(doc: Doc) -> list[tuple[str, Any]]:
    """("text", str) and ("mark", Mark) in document order."""
    out: list[tuple[str, Any]] = []
    pos = 0
    for m in doc.marks:
        if m.pos > pos:
            out.append(("text", doc.text[pos : m.pos]))
            pos = m.pos
        out.append(("mark", m))
    if pos < len(doc.text):
        out.append(("text", doc.text[pos:]))
    return out


def telegram_html(doc: Doc) -> str:
    """``doc`` as Telegram HTML (parse_mode "HTML")."""
    out: list[str] = []
    lang = ""
    for kind, v in _events(doc):
        if kind == "text":
            out.append(html.escape(v, quote=False))
            continue
        m: Mark = v
        if m.style == "pre":
            if m.opens:
                lang = "".join(ch for ch in m.attr if ch.isalnum() or ch in "+-_#.")
                out.append(f'<pre><code class="language-{lang}">' if lang else "<pre>")
            else:
                out.append("</code></pre>" if lang else "</pre>")
        elif m.style == "a":
            out.append(f'<a href="{html.escape(m.attr, quote=True)}">' if m.opens else "</a>")
        else:
            out.append(f"<{m.style}>" if m.opens else f"</{m.style}>")
    return "".join(out)


_SLACK_MARKERS = {"b": "*", "i": "_", "s": "~", "code": "`"}


def slack_escape(text: str) -> str:
    """Escape &, < and > for Slack text."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def slack_mrkdwn(doc: Doc) -> str:
    """``doc`` as Slack mrkdwn."""
    out: list[str] = []
    link: list[str] | None = None
    href = ""
    quote = False
    in_pre = False
    for kind, v in _events(doc):
        if kind == "text":
            s = slack_escape(v)
            if quote and not in_pre:
                s = s.replace("\n", "\n> ")
            (link if link is not None else out).append(s)
            continue
        m: Mark = v
        if m.style == "a":
            if m.opens:
                link, href = [], m.attr
            elif link is not None:
                label = "".join(link).replace("|", "¦")
                url = slack_escape(href).replace("|", "%7C")
                out.append(f"<{url}|{label}>" if label and label != url else f"<{url}>")
                link = None
            continue
        if link is not None:
            continue
        if m.style == "pre":
            in_pre = m.opens
            if m.opens:
                prefix = "" if not out or "".join(out[-1:]).endswith("\n") else "\n"
                out.append(prefix + "```\n")
            else:
                out.append("\n```")
        elif m.style == "blockquote":
            quote = m.opens
            if m.opens:
                out.append("> ")
        else:
            out.append(_SLACK_MARKERS[m.style])
    return "".join(out)


def render_telegram(markdown: str, limit: int = TELEGRAM_LIMIT) -> list[Part]:
    """An answer as Telegram HTML messages, each under ``limit`` visible characters."""
    return [Part(telegram_html(d), d.text) for d in split(parse(markdown), limit)]


def render_slack(markdown: str, limit: int = SLACK_LIMIT) -> list[Part]:
    """An answer as Slack mrkdwn messages, each under ``limit`` visible characters."""
    return [Part(slack_mrkdwn(d), d.text) for d in split(parse(markdown), limit)]
