"""``pulsectl channels list | status [NAME] | approve CODE``: the chat channels' state and
pairing approvals (service ``pulse.v1.Channels``)."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

from pulsectl import output
from pulsectl.commands import client as _client
from pulsectl.diagnostics import EXIT_OK

if TYPE_CHECKING:
    from pulse.v1 import channels_pb2


def register(commands: Any) -> None:
    """Add the ``channels`` group to the CLI (``commands`` is cli's ``_Commands``)."""
    group = commands.group(
        "channels",
        "show the Telegram and Slack channels, approve pairings",
        "pulsectl channels list",
    )
    group.add(
        "list",
        "list the channels with their state and outbox",
        "pulsectl channels list\npulsectl channels list --json | jq '.[].state'",
        cmd_list,
    )
    p = group.add(
        "status",
        "show a channel's state, errors and failed deliveries",
        "pulsectl channels status\npulsectl channels status telegram",
        cmd_status,
    )
    p.add_argument("name", metavar="NAME", nargs="?", default="", help="telegram or slack")
    p = group.add(
        "approve",
        "admit the person who received a pairing code",
        "pulsectl channels approve K7QX2M",
        cmd_approve,
        details="With [channels.<name>] pairing = true, a person the bot does not know gets a\n"
        "code; approving it lets them talk to the agent (kept across restarts).",
    )
    p.add_argument("code", metavar="CODE")


def cmd_list(args: argparse.Namespace) -> int:
    with _client(args) as client:
        resp = client.list_channels()
    if args.json:
        output.json_doc([_info_dict(c) for c in resp.channels])
    else:
        output.line(render_list(resp.channels, output.terminal_width()))
    return EXIT_OK


def cmd_status(args: argparse.Namespace) -> int:
    with _client(args) as client:
        resp = client.channel_status(args.name)
    if args.json:
        output.json_doc([output.to_dict(c) for c in resp.channels])
    else:
        output.line("\n\n".join(render_status(c, output.terminal_width()) for c in resp.channels))
    return EXIT_OK


def cmd_approve(args: argparse.Namespace) -> int:
    with _client(args) as client:
        resp = client.approve_pairing(args.code)
    if args.json:
        output.json_doc(output.to_dict(resp))
    else:
        who = f"{resp.user_name} ({resp.user_id})" if resp.user_name else resp.user_id
        output.line(f"{resp.channel}: admitted {who}")
    return EXIT_OK


def _info_dict(info: channels_pb2.ChannelInfo) -> dict[str, Any]:
    data = output.to_dict(info)
    data.pop("failures", None)
    return data


def render_list(channels: Any, width: int) -> str:
    """One line per channel: state, bot, outbox, failures, last error."""
    rows = [
        [
            c.name,
            c.state,
            c.identity or "-",
            str(c.pending_outbox),
            str(c.failed_deliveries),
            c.last_error or "-",
        ]
        for c in channels
    ]
    return output.table(
        ["channel", "state", "bot", "pending", "failed 24h", "last error"],
        rows,
        width=width,
        right=(3, 4),
    )


def render_status(c: channels_pb2.ChannelInfo, width: int) -> str:
    """A channel's state as ``key  value`` lines, then its failed deliveries."""
    if not c.enabled:
        return output.key_values(
            [("channel", c.name), ("state", "disabled (enable it in [channels." + c.name + "])")]
        )
    error = c.last_error or "-"
    if c.last_error:
        error += f"  ({output.local_time(c.last_error_at)})"
    text = output.key_values(
        [
            ("channel", c.name),
            (
                "state",
                c.state
                + (f" since {output.local_time(c.connected_since)}" if c.connected_since else ""),
            ),
            ("bot", c.identity or "-"),
            ("outbox", f"{c.pending_outbox} pending, {c.delivered} delivered since start"),
            ("failed", f"{c.failed_deliveries} in the last 24 h"),
            ("restarts", str(c.restarts)),
            (
                "users",
                f"{c.allowed_users} allowed, {c.paired_users} paired, "
                f"{c.pending_pairings} pairing codes pending",
            ),
            ("last message", output.local_time(c.last_inbound_at)),
            ("last error", error),
        ]
    )
    if c.failures:
        table = output.table(
            ["at", "target", "attempts", "error"],
            [[output.local_time(f.at), f.target, str(f.attempts), f.error] for f in c.failures],
            width=width,
            right=(2,),
        )
        text += "\n\nfailed deliveries:\n" + table
    return text
