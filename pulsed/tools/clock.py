"""current_time: the date and time, in the daemon's zone or a named IANA zone."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pulsed.tools.base import Tool, ToolContext, ToolFailure, ToolOutput


class CurrentTime(Tool):
    name = "current_time"
    description = "The current date and time (ISO 8601 with offset, and the weekday)."
    parameters = {
        "type": "object",
        "properties": {
            "timezone": {
                "type": "string",
                "description": "IANA zone, e.g. Europe/Paris; default local",
            }
        },
    }
    default_policy = "allow"
    idempotent = True

    async def execute(self, args: dict[str, Any], ctx: ToolContext) -> ToolOutput:
        tz = args.get("timezone") or ""
        if tz:
            try:
                now = datetime.now(ZoneInfo(str(tz)))
            except (ZoneInfoNotFoundError, ValueError):
                raise ToolFailure(
                    f"unknown time zone {tz!r} (use an IANA name like Europe/Paris)"
                ) from None
        else:
            now = datetime.now().astimezone()
        return ToolOutput(f"{now.isoformat(timespec='seconds')} ({now.strftime('%A')})")
