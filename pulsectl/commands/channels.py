"""``pulsectl channels list | status [NAME] | approve CODE``: the chat channels' state and
pairing approvals (service ``pulse.v1.Channels``)."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

from pulsectl import output
from pulsectl.commands import client as _client
from pulsectl.diagnostics import EXIT_OK
from pulsectl.output import Output

if TYPE_CHECKING:
    from pulse.v1 import channels_pb2


def cmd_list(args: argparse.Namespace, out: Output) -> int:
    """``channels list``: one line per channel (``--json``: ChannelInfos without failures)."""
    with _client(args) as client:
        resp = client.list_channels()
    if args.json:
        out.json_doc([_info_dict(c) for c in resp.channels])
    else:
        out.line(render_list(resp.channels, output.terminal_width()))
    return EXIT_OK


def cmd_status(args: argparse.Namespace, out: Output) -> int:
    """``channels status [NAME]``: a channel's (or every channel's) state and failed deliveries."""
    with _client(args) as client:
        resp = client.channel_status(args.name)
    if args.json:
        out.json_doc([output.to_dict(c) for c in resp.channels])
    else:
        out.line("\n\n".join(render_status(c, output.terminal_width()) for c in resp.channels))
    return EXIT_OK


def cmd_approve(args: argparse.Namespace, out: Output) -> int:
    """``channels approve CODE``: admit the person who received a pairing code."""
    with _client(args) as client:
        resp = client.approve_pairing(args.code)
    if args.json:
        out.json_doc(output.to_dict(resp))
    else:
        who = f"{resp.user_name} ({resp.user_id})" if resp.user_name else resp.user_id
        out.line(f"{resp.channel}: admitted {who}")
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
        keep={0},
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
