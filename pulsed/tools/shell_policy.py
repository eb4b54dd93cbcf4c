"""Whether a shell command may run without asking: every command it would run must
match a ``[tools.shell] allow`` pattern.

The command is parsed with bashlex (a port of bash's own grammar) into every simple
command of every pipeline, list (``;``, ``&&``, ``||``, ``&``, newline), subshell,
``{ ...; }`` group, ``if``/``while``/``until`` body, and command or process substitution
(``$(...)``, backticks, ``<(...)``, ``>(...)``), also inside double quotes and in
redirection targets. The command runs unasked only when nothing below needs approval.

Needs approval, whatever the patterns:

- a command line longer than ``MAX_JUDGED_CHARS``; what bashlex cannot parse (``case``,
  ``$((...))``, ``[[ ]]``, ``time``, ``coproc``...),
  and any command holding ``$'`` or ``$"`` (bashlex reads ANSI-C quoting differently
  from bash, so the two could see different commands), a NUL or another control
  character besides tab and newline;
- a redirection that writes a file (``>``, ``>>``, ``>|``, ``&>``, ``>&file``, ``<>``),
  except to ``/dev/null``, ``/dev/stdout`` and ``/dev/stderr``; an input redirection
  from ``/dev/tcp/...`` or ``/dev/udp/...`` (bash opens a socket) or from a word whose
  value is unknown; a here-document;
- an assignment (``X=1``, ``PATH=. ls``), a ``for``/``select`` loop (it assigns), a
  function definition, ``${...}`` with anything but a plain name inside;
- a command name that is not a literal word (``$X``, ``$(...)``, ``{a,b}``, globs);
- builtins that change how later words are read or run: alias, shopt, set, enable,
  hash, declare, typeset, export, readonly, local, unset, read, mapfile, readarray,
  trap, let, getopts, fc, bind, complete, printf -v; ``source`` and ``.``;
- privilege and process wrappers whose effect is not just their inner command: sudo,
  doas, su, pkexec, runuser, chroot, unshare, nsenter, flock, watch, parallel, script,
  strace, ltrace, gdb, valgrind, ionice, taskset, chrt, expect, ssh;
- interpreters given inline code: ``python -c``, ``perl -e``/``-E`` (also combined
  flags like ``-ne``), ``ruby -e``, ``node -e``/``-p``/``--eval``/``--print``, ``php
  -r``, ``lua -e``, and awk/gawk/mawk/nawk with an inline program (no ``-f``);
- ``find`` with ``-delete``, ``-fprint``, ``-fprint0``, ``-fprintf`` or ``-fls``;
  ``sed`` with ``-i``/``--in-place``.

Judged by what they run: ``sh``/``bash``/``dash``/``zsh``/``ksh``/``mksh``/``ash -c
STRING`` (STRING is parsed the same way; it must be a literal word), ``eval`` (its
literal arguments joined by spaces), ``exec``, ``command``, ``builtin``, ``nohup``,
``nice``, ``timeout``, ``stdbuf``, ``setsid``, ``env`` (only ``-i``/``-u NAME``;
``NAME=value`` is an assignment) — the wrapper is dropped and the rest judged;
``xargs CMD ARGS`` — CMD ARGS plus one unknown trailing word (words holding the ``-I``
string are unknown); ``find ... -exec/-execdir/-ok/-okdir CMD ... ;|+`` — the ``find``
without its exec clauses and each CMD (``{}`` is an unknown word) must match. A wrapper
option the policy does not know needs approval. Wrappers are recognised by the
basename of the command word (``/usr/bin/env``).

The matching rule. A pattern is split into words like a shell would (``shlex.split``:
quotes group, no expansion). A simple command's words are matched word by word:

- pattern word ``*`` matches any one word; a ``*`` as the pattern's last word matches
  any number of remaining words, none included (``ls *`` matches ``ls``, ``ls -la a b``);
- any other pattern word is an ``fnmatch`` pattern (case-sensitive, ``*`` crosses
  ``/``) matched against the word's literal value (quotes and backslashes removed);
- a word whose value is not known before it runs — it holds ``$``, a backtick, an
  unquoted glob character ``* ? [``, a brace expansion ``{a,b}`` ``{1..3}`` or a leading
  ``~`` — is matched
  only by a pattern word ``*`` (so ``ls *`` allows ``ls *.py`` and ``ls $HOME``, and
  ``cat notes.txt`` does not allow ``cat $F``);
- without a trailing ``*`` the counts of words must be equal (``git status`` does not
  allow ``git status --porcelain``).

A pattern trusts the program it names: ``git *`` allows whatever git can be told to do
with its arguments (``git -c core.pager=...``), ``sed *`` whatever a sed script can do.
"""

from __future__ import annotations

import os
import re
import shlex
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from typing import Any

SAFE_TARGETS = frozenset({"/dev/null", "/dev/stdout", "/dev/stderr"})
WRITE_REDIRECTS = frozenset({">", ">>", ">|", "&>", "&>>", ">&", "<>"})
SHELLS = frozenset({"sh", "bash", "dash", "zsh", "ksh", "mksh", "ash", "busybox"})
STATEFUL = frozenset(
    {
        "alias", "unalias", "shopt", "set", "enable", "hash", "declare", "typeset",
        "export", "readonly", "local", "unset", "read", "mapfile", "readarray", "trap",
        "let", "getopts", "fc", "bind", "complete", "compgen", "source", ".",
    }
)  # fmt: skip
ALWAYS_ASK = frozenset(
    {
        "sudo", "doas", "su", "pkexec", "runuser", "chroot", "unshare", "nsenter",
        "flock", "watch", "parallel", "script", "strace", "ltrace", "gdb", "valgrind",
        "ionice", "taskset", "chrt", "expect", "ssh",
    }
)  # fmt: skip
INLINE_CODE_FLAGS = {
    "python": ("c",),
    "perl": ("e", "E"),
    "ruby": ("e",),
    "node": ("e", "p"),
    "php": ("r", "R", "B", "E"),
    "lua": ("e",),
}
AWKS = frozenset({"awk", "gawk", "mawk", "nawk"})
FIND_WRITES = frozenset({"-delete", "-fprint", "-fprint0", "-fprintf", "-fls"})
FIND_EXECS = frozenset({"-exec", "-execdir", "-ok", "-okdir"})
_PARAM = re.compile(r"#?([A-Za-z_][A-Za-z0-9_]*|[0-9]+|[@*#?$!-])")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
MAX_DEPTH = 8
MAX_JUDGED_CHARS = 4000
"""Longer command lines are not parsed (bashlex is pure Python: about 0.2 s per 1,000
characters on a loaded core, in the daemon's event loop); they need approval."""


@dataclass(frozen=True, slots=True)
class Word:
    """One word of a simple command: its literal value and whether that value is known
    before the command runs (no expansion, glob or brace)."""

    value: str
    exact: bool = True

    def __str__(self) -> str:
        return self.value if self.exact else f"{self.value}(?)"


@dataclass
class Verdict:
    """The analysis of one command line.

    Attributes:
        commands: every simple command found, as its words (wrappers dropped).
        reasons: why it needs approval, one line each; empty means it may run unasked.
    """

    commands: list[list[Word]] = field(default_factory=list)
    reasons: list[str] = field(default_factory=list)

    @property
    def allowed(self) -> bool:
        """True when nothing needs approval."""
        return not self.reasons


def lex_word(raw: str) -> Word:
    """The literal value of one shell word's source text and whether it is exact:
    quotes and backslashes are removed; ``$``, backticks, unquoted ``* ? [``, an unquoted
    ``{`` in a word holding ``,`` or ``..`` and a leading ``~`` make it inexact (their
    value is only known when bash expands them)."""
    out: list[str] = []
    exact = True
    i, n = 0, len(raw)
    if raw.startswith("~"):
        exact = False
    while i < n:
        c = raw[i]
        if c == "\\":
            if i + 1 < n and raw[i + 1] != "\n":
                out.append(raw[i + 1])
            i += 2
        elif c == "'":
            j = raw.find("'", i + 1)
            if j < 0:
                return Word(raw, False)
            out.append(raw[i + 1 : j])
            i = j + 1
        elif c == '"':
            i += 1
            while i < n and raw[i] != '"':
                if raw[i] == "\\" and i + 1 < n and raw[i + 1] in '$`"\\\n':
                    if raw[i + 1] != "\n":
                        out.append(raw[i + 1])
                    i += 2
                    continue
                if raw[i] in "$`":
                    exact = False
                out.append(raw[i])
                i += 1
            i += 1
        else:
            if c in "$`*?[" or (c == "{" and ("," in raw or ".." in raw)):
                exact = False  # {a,b} and {1..3} expand; a lone {} does not
            out.append(c)
            i += 1
    return Word("".join(out), exact)


def split_pattern(pattern: str) -> list[str]:
    """An allow pattern's words (``shlex.split``; an unbalanced quote splits on spaces)."""
    try:
        return shlex.split(pattern)
    except ValueError:
        return pattern.split()


def matches(words: list[Word], pattern: list[str]) -> bool:
    """Whether the simple command ``words`` matches the pattern words (module doc)."""
    if not pattern or not words:
        return False
    trailing = pattern[-1] == "*"
    fixed = pattern[:-1] if trailing else pattern
    if len(words) < len(fixed) or (not trailing and len(words) != len(fixed)):
        return False
    for p, w in zip(fixed, words, strict=False):
        if p == "*":
            continue
        if not w.exact or not fnmatchcase(w.value, p):
            return False
    return True


def analyze(command: str, allow: list[str]) -> Verdict:
    """Parse ``command`` and judge every command it would run against ``allow``."""
    v = Verdict()
    _Analyzer(v, [split_pattern(p) for p in allow]).source(command, 0)
    return v


def is_allowed(command: str, allow: list[str]) -> bool:
    """Whether ``command`` may run unasked under the ``allow`` patterns."""
    return analyze(command, allow).allowed


def _show(words: list[Word]) -> str:
    return " ".join(shlex.quote(w.value) if w.exact else w.value for w in words)


class _Analyzer:
    def __init__(self, verdict: Verdict, patterns: list[list[str]]) -> None:
        self.v = verdict
        self.patterns = patterns

    def ask(self, reason: str) -> None:
        if reason not in self.v.reasons:
            self.v.reasons.append(reason)

    def source(self, text: str, depth: int) -> None:
        """Parse ``text`` as a script and judge what it runs."""
        if depth > MAX_DEPTH:
            self.ask("nested too deeply to judge")
            return
        if not text.strip():
            return
        if len(text) > MAX_JUDGED_CHARS:
            self.ask(f"longer than {MAX_JUDGED_CHARS} characters; not judged")
            return
        if _CONTROL.search(text):
            self.ask("holds a control character")
            return
        if "$'" in text or '$"' in text:
            self.ask("uses $'...' or $\"...\" quoting, which is not judged")
            return
        import bashlex  # type: ignore[import-untyped]  # no stubs; only the shell needs it

        try:
            trees = bashlex.parse(text)
        except Exception as e:  # bashlex raises ParsingError, NotImplementedError...
            self.ask(f"cannot be parsed ({type(e).__name__}: {e})")
            return
        for tree in trees:
            self.node(tree, text, depth)

    def node(self, n: Any, text: str, depth: int) -> None:
        kind = n.kind
        if kind == "command":
            self.simple(n, text, depth)
        elif kind in ("list", "pipeline", "compound", "if", "while", "until"):
            for child in getattr(n, "parts", None) or getattr(n, "list", None) or []:
                self.node(child, text, depth)
            for r in getattr(n, "redirects", None) or []:
                self.redirect(r, text, depth)
        elif kind in ("operator", "pipe", "reservedword"):
            return
        elif kind == "for":
            self.ask("a for loop assigns its variable")
            for child in n.parts:
                self.node(child, text, depth)
        elif kind == "function":
            self.ask("defines a function")
        elif kind == "word":
            self.word(n, text, depth)
        elif kind == "redirect":
            self.redirect(n, text, depth)
        else:
            self.ask(f"holds a {kind} construct, which is not judged")

    def word(self, n: Any, text: str, depth: int) -> Word:
        """Judge the substitutions inside a word node; its lexed value."""
        for part in getattr(n, "parts", None) or []:
            self.part(part, text, depth)
        return lex_word(text[n.pos[0] : n.pos[1]])

    def part(self, p: Any, text: str, depth: int) -> None:
        if p.kind in ("commandsubstitution", "processsubstitution"):
            self.node(p.command, text, depth)
        elif p.kind == "parameter":
            if not _PARAM.fullmatch(str(getattr(p, "value", ""))):
                self.ask(f"${{{p.value}}} expansion is not judged")
        elif p.kind == "tilde":
            return
        else:
            self.ask(f"holds a {p.kind} construct, which is not judged")

    def redirect(self, r: Any, text: str, depth: int) -> None:
        rtype = str(r.type)
        if getattr(r, "heredoc", None) is not None:
            self.ask("a here-document is not judged")
            return
        target = r.output
        if isinstance(target, int):
            return  # an fd duplication such as 2>&1
        word = self.word(target, text, depth) if target is not None else Word("", False)
        if rtype in WRITE_REDIRECTS and not (word.exact and word.value in SAFE_TARGETS):
            self.ask(f"writes a file by redirection ({rtype} {word})")
        elif word.value.startswith(("/dev/tcp/", "/dev/udp/")) or not word.exact:
            self.ask(f"redirects from {word}, which is not judged")  # bash opens a socket

    def simple(self, n: Any, text: str, depth: int) -> None:
        words: list[Word] = []
        for part in n.parts:
            if part.kind == "assignment":
                self.ask(f"assigns a variable ({part.word.split('=', 1)[0]}=...)")
                for p in getattr(part, "parts", None) or []:
                    self.part(p, text, depth)
            elif part.kind == "redirect":
                self.redirect(part, text, depth)
            elif part.kind == "word":
                words.append(self.word(part, text, depth))
            else:
                self.node(part, text, depth)
        if words:
            self.judge(words, depth)

    def judge(self, words: list[Word], depth: int) -> None:
        """Judge one simple command's words: unwrap wrappers, then match patterns."""
        head = words[0]
        if not head.exact:
            self.ask(f"the command name {head} is not a literal word")
            return
        name = os.path.basename(head.value)
        base = re.sub(r"[0-9.]+$", "", name)  # python3.12 -> python
        args = words[1:]
        if name in STATEFUL or (name == "printf" and any(a.value == "-v" for a in args)):
            self.ask(f"{name} changes the shell's state")
        elif name in ALWAYS_ASK:
            self.ask(f"{name} always needs approval")
        elif name in SHELLS and any(a.value.startswith("-") for a in args):
            self._shell(name, args, depth)
        elif name == "eval":
            if not all(a.exact for a in args):
                self.ask("eval of words whose value is unknown")
            else:
                self.source(" ".join(a.value for a in args), depth + 1)
        elif name in TRANSPARENT:
            inner = TRANSPARENT[name](args)
            if inner is None:
                self.ask(f"{name} with options that are not judged: {_show(words)}")
            elif inner:
                self.judge(inner, depth + 1)
            else:
                self.match(words)
        elif name == "xargs":
            self._xargs(args, depth)
        elif name == "find":
            self._find(words, depth)
        elif base in INLINE_CODE_FLAGS and _has_flag(args, INLINE_CODE_FLAGS[base]):
            self.ask(f"{name} runs inline code")
        elif name in AWKS and _awk_inline(args):
            self.ask(f"{name} runs an inline program")
        elif name == "sed" and any(
            a.value.startswith("--in-place")
            or (a.value.startswith("-") and not a.value.startswith("--") and "i" in a.value)
            for a in args
        ):
            self.ask("sed -i writes files")
        else:
            self.match(words)

    def match(self, words: list[Word]) -> None:
        self.v.commands.append(words)
        if not any(matches(words, p) for p in self.patterns):
            self.ask(f"{_show(words)}: matches no allow pattern")

    def _shell(self, name: str, args: list[Word], depth: int) -> None:
        i = 0
        while i < len(args):
            a = args[i]
            if not a.exact:
                break
            if a.value == "-o" or a.value == "+o":
                i += 2
                continue
            if a.value.startswith(("-", "+")) and "c" in a.value and not a.value.startswith("--"):
                if i + 1 >= len(args) or not args[i + 1].exact:
                    self.ask(f"{name} -c with a command that is not a literal word")
                else:
                    self.source(args[i + 1].value, depth + 1)
                return
            if a.value.startswith(("-", "+")) and not a.value.startswith("--"):
                i += 1
                continue
            break
        self.ask(f"{name} with these options is not judged")

    def _xargs(self, args: list[Word], depth: int) -> None:
        replace: str | None = None
        i = 0
        while i < len(args):
            a = args[i]
            if not a.exact:
                self.ask("xargs with options whose value is unknown")
                return
            v = a.value
            if v == "--":
                i += 1
                break
            if not v.startswith("-"):
                break
            if v in ("-I", "-i") or v.startswith(("-I", "--replace")):
                if v == "-I":
                    if i + 1 >= len(args):
                        break
                    replace = args[i + 1].value
                    i += 2
                    continue
                replace = v[2:] if v.startswith("-I") else "{}"
                if v.startswith("--replace="):
                    replace = v.split("=", 1)[1]
                i += 1
                continue
            if v in XARGS_VALUE:
                i += 2
                continue
            if v in XARGS_FLAGS or any(v.startswith(p) for p in XARGS_PREFIX):
                i += 1
                continue
            self.ask(f"xargs option {v} is not judged")
            return
        inner = args[i:] or [Word("echo")]
        if replace is not None:
            inner = [Word(w.value, False) if replace in w.value else w for w in inner]
        else:
            inner = [*inner, Word("<input>", False)]
        self.judge(inner, depth + 1)

    def _find(self, words: list[Word], depth: int) -> None:
        outer: list[Word] = []
        i = 0
        while i < len(words):
            w = words[i]
            if w.exact and w.value in FIND_WRITES:
                self.ask(f"find {w.value} changes files")
            if w.exact and w.value in FIND_EXECS:
                j = i + 1
                while j < len(words) and not (words[j].exact and words[j].value in (";", "+")):
                    j += 1
                inner = [Word(x.value, False) if "{}" in x.value else x for x in words[i + 1 : j]]
                if j >= len(words) or not inner:
                    self.ask(f"find {w.value} without a complete command")
                else:
                    self.judge(inner, depth + 1)
                i = j + 1
                continue
            outer.append(w)
            i += 1
        self.match(outer)


XARGS_VALUE = frozenset({"-n", "-L", "-P", "-d", "-s", "-E", "-e", "-a", "--arg-file"})
XARGS_FLAGS = frozenset({"-0", "-r", "-t", "-x", "--null", "--no-run-if-empty", "--verbose"})
XARGS_PREFIX = ("--max-args=", "--max-lines=", "--max-procs=", "--delimiter=", "-n", "-P", "-L")


def _has_flag(args: list[Word], letters: tuple[str, ...]) -> bool:
    """Whether any argument is a short option holding one of ``letters`` (combined flags
    count: ``-ne``), a long eval/print option, or unknown. Every argument is looked at,
    not only those before the script: options that take a value (``python -W x -c``)
    would otherwise hide the code flag; a script's own ``-c`` asks too (the safe side)."""
    for a in args:
        v = a.value
        if not a.exact:
            return True
        if v.startswith(("--eval", "--print")):
            return True
        if v.startswith("-") and not v.startswith("--") and any(c in v[1:] for c in letters):
            return True
    return False


def _awk_inline(args: list[Word]) -> bool:
    """Whether an awk command's program is inline text (no ``-f`` / ``--file``)."""
    for a in args:
        if a.value in ("-f", "--file") or a.value.startswith(("-f", "--file=")):
            return False
    return True


def _strip_opts(
    args: list[Word], flags: frozenset[str], valued: frozenset[str], prefixes: tuple[str, ...] = ()
) -> list[Word] | None:
    """``args`` without leading options of a wrapper; None for an option not known."""
    i = 0
    while i < len(args):
        a = args[i]
        if not a.exact:
            return None
        v = a.value
        if v == "--":
            return args[i + 1 :]
        if not v.startswith("-") or v == "-":
            return args[i:]
        if v in valued:
            i += 2
        elif v in flags or any(v.startswith(p) for p in prefixes):
            i += 1
        else:
            return None
    return []


def _timeout(args: list[Word]) -> list[Word] | None:
    rest = _strip_opts(
        args,
        frozenset({"--preserve-status", "--foreground", "-v", "--verbose"}),
        frozenset({"-s", "-k", "--signal", "--kill-after"}),
        ("--signal=", "--kill-after=", "-s", "-k"),
    )
    if rest is None or not rest:
        return rest
    return rest[1:] or None  # the duration, then the command


def _env(args: list[Word]) -> list[Word] | None:
    rest = _strip_opts(
        args, frozenset({"-i", "--ignore-environment", "-0"}), frozenset({"-u", "--unset"})
    )
    if rest and "=" in rest[0].value:
        return None  # NAME=value: an assignment
    return rest


def _nice(args: list[Word]) -> list[Word] | None:
    if args and re.fullmatch(r"-[0-9]+", args[0].value):
        args = args[1:]
    return _strip_opts(args, frozenset(), frozenset({"-n", "--adjustment"}), ("--adjustment=",))


TRANSPARENT = {
    "exec": lambda a: _strip_opts(a, frozenset({"-c", "-l"}), frozenset({"-a"})),
    "command": lambda a: (
        [] if a and a[0].value in ("-v", "-V") else _strip_opts(a, frozenset({"-p"}), frozenset())
    ),
    "builtin": lambda a: a,
    "nohup": lambda a: _strip_opts(a, frozenset(), frozenset()),
    "nice": _nice,
    "timeout": _timeout,
    "stdbuf": lambda a: _strip_opts(
        a, frozenset(), frozenset({"-i", "-o", "-e"}), ("-i", "-o", "-e", "--input=", "--output=")
    ),
    "setsid": lambda a: _strip_opts(
        a, frozenset({"-f", "-w", "-c", "--fork", "--wait"}), frozenset()
    ),
    "env": _env,
}
"""Wrappers that run their operand as a command: each maps the arguments to the inner
command's words ([] when it runs none; None for an option that is not judged)."""
