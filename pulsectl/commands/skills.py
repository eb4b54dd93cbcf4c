"""``pulsectl skills list | show NAME | check``: the agent's SKILL.md skills, what is in its
prompt and what is not and why (service ``pulse.v1.Skills``)."""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from pulsectl import diagnostics, output
from pulsectl.client.skills import STATES, why_not
from pulsectl.commands import client as _client
from pulsectl.diagnostics import EXIT_ERROR, EXIT_OK
from pulsectl.output import Output

if TYPE_CHECKING:
    from pulse.v1 import skills_pb2


def cmd_list(args: argparse.Namespace, out: Output) -> int:
    """``skills list``: one line per skill (``--json``: the Skill messages)."""
    with _client(args) as client:
        resp = client.list_skills()
    if args.json:
        out.json_doc([output.to_dict(s) for s in resp.skills])
        return EXIT_OK
    if not resp.enabled:
        diagnostics.warn("[skills] enabled = false: the agent sees none of these")
    if not resp.skills:
        out.line("no skills found in " + ", ".join(r.path for r in resp.roots))
        return EXIT_OK
    out.line(render_list(resp.skills, output.terminal_width()))
    return EXIT_OK


def render_list(skills: Sequence[skills_pb2.Skill], width: int) -> str:
    """skill, state, source, then the description (or why it is not available)."""
    rows = [[s.name, s.state, s.source, why_not(s) or s.description] for s in skills]
    return output.table(
        ["skill", "state", "source", "description / why"],
        rows,
        width=width,
        min_widths={3: 20},
        keep={0},
    )


def cmd_show(args: argparse.Namespace, out: Output) -> int:
    """``skills show NAME``: a skill's fields, files and instructions."""
    with _client(args) as client:
        resp = client.show_skill(args.name)
    if args.json:
        data = output.to_dict(resp)
        data.pop("metadata_json", None)
        data["metadata"] = json.loads(resp.metadata_json or "{}")
        out.json_doc(data)
    else:
        out.line(render_show(resp))
    return EXIT_OK


def render_show(resp: skills_pb2.ShowSkillResponse) -> str:
    """``key  value`` lines, the files, then the body."""
    s = resp.skill
    r = s.requires
    needs = [
        *(f"{b} on PATH" for b in r.bins),
        *([f"one of {', '.join(r.any_bins)} on PATH"] if r.any_bins else []),
        *(f"${e}" for e in r.env),
        *([f"os {', '.join(r.os)}"] if r.os else []),
    ]
    pairs = [
        ("skill", s.name),
        ("state", s.state + (f": {why_not(s)}" if why_not(s) else "")),
        ("source", f"{s.source}  {s.path}"),
        ("description", s.description or "-"),
        ("needs", ", ".join(needs) or "nothing"),
    ]
    pairs += [(k, v) for k, v in (("license", s.license), ("compatibility", s.compatibility)) if v]
    if s.allowed_tools:
        pairs.append(("allowed tools", " ".join(s.allowed_tools)))
    pairs += [("overrides", p) for p in s.overrides]
    pairs += [("warning", w) for w in s.warnings]
    text = output.key_values(pairs)
    if resp.files:
        text += "\n\nfiles:\n" + "\n".join(f"  {f}" for f in resp.files)
    if resp.body:
        text += "\n\n" + resp.body
    return text


def cmd_check(args: argparse.Namespace, out: Output) -> int:
    """``skills check``: what is available, what is not and why; exit 1 when a skill is
    invalid (a SKILL.md to fix), 0 otherwise (unmet requirements are the machine's)."""
    with _client(args) as client:
        resp = client.list_skills()
    by_state: dict[str, list[skills_pb2.Skill]] = {k: [] for k in STATES}
    for s in resp.skills:
        by_state.setdefault(s.state, []).append(s)
    ok = not by_state["invalid"]
    if args.json:
        out.json_doc(check_dict(resp, by_state, ok))
        return EXIT_OK if ok else EXIT_ERROR
    if not resp.enabled:
        diagnostics.warn("[skills] enabled = false: the agent sees no skills")
    out.line(render_check(resp, by_state))
    for name in resp.unknown_disabled:
        diagnostics.warn(f"[skills] disabled names {name!r}, which no skills folder holds")
    if not ok:
        n = len(by_state["invalid"])
        diagnostics.error(
            f"{n} invalid skill{'s' if n > 1 else ''}", "fix the SKILL.md files named above"
        )
    return EXIT_OK if ok else EXIT_ERROR


def check_dict(
    resp: skills_pb2.ListSkillsResponse, by_state: dict[str, list[skills_pb2.Skill]], ok: bool
) -> dict[str, Any]:
    """``check --json``: names per state, with the reasons and the folders searched."""
    return {
        "ok": ok,
        "enabled": resp.enabled,
        "available": [s.name for s in by_state["available"]],
        "unavailable": [
            {"name": s.name, "source": s.source, "missing": list(s.missing)}
            for s in by_state["unavailable"]
        ],
        "invalid": [
            {"name": s.name, "source": s.source, "path": s.path, "error": s.error}
            for s in by_state["invalid"]
        ],
        "disabled": [s.name for s in by_state["disabled"]],
        "unknown_disabled": list(resp.unknown_disabled),
        "roots": [output.to_dict(r) for r in resp.roots],
    }


def render_check(
    resp: skills_pb2.ListSkillsResponse, by_state: dict[str, list[skills_pb2.Skill]]
) -> str:
    """A section per state; the reasons under each skill that is not available."""
    lines = []
    avail = by_state["available"]
    lines.append(f"available ({len(avail)}): " + (", ".join(s.name for s in avail) or "none"))
    for state, title in (("unavailable", "requirements not met"), ("invalid", "invalid")):
        items = by_state[state]
        if items:
            lines += ["", f"{title} ({len(items)}):"]
            for s in items:
                lines.append(f"  {s.name} ({s.source}, {s.path})")
                lines += [f"    - {reason}" for reason in (s.missing or [s.error])]
    if by_state["disabled"]:
        lines += ["", "disabled: " + ", ".join(s.name for s in by_state["disabled"])]
    lines += ["", "searched:"]
    lines += [
        f"  {r.source:<9} {r.path}" + ("" if r.exists else "  (does not exist)") for r in resp.roots
    ]
    return "\n".join(lines)
