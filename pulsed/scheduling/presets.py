"""Preset tasks from the PulseBot design (reference/pulsebot-design.md §4), off until
someone adds them (``pulsectl tasks add --preset NAME``):

- ``heartbeat``: every 30 min, a light check-in (short system prompt, no history, capped
  output). An answer of only ``HEARTBEAT_OK`` is stored with target ``none``, so it is
  never delivered and an idle agent costs one small call per run.
- ``daily-briefing``: at 09:00 in the task's zone, a briefing delivered to the TUI.
- ``cost-alert``: hourly, with no LLM call: sums llm_logs for the last hour and the
  task's calendar day; over ``[scheduler] cost_alert_hourly_usd`` or
  ``cost_alert_daily_usd`` it writes a ``cost_alert`` event (severity warning) and a
  notification to its delivery target.
"""

from __future__ import annotations

from dataclasses import dataclass

from pulsed.errors import InvalidArgument

HEARTBEAT = "heartbeat"
DAILY_BRIEFING = "daily-briefing"
COST_ALERT = "cost-alert"


@dataclass(frozen=True)
class Preset:
    """A ready-made task definition.

    Attributes:
        llm: False when runs are computed by the daemon without calling the model.
        light: runs use the light context (short system prompt, no history).
    """

    name: str
    schedule: str
    prompt: str
    deliver_to: str
    description: str
    llm: bool = True
    light: bool = False


PRESETS: dict[str, Preset] = {
    p.name: p
    for p in (
        Preset(
            HEARTBEAT,
            "every 30m",
            "Heartbeat check: is there anything that needs my attention now, such as a "
            "reminder that is due or something I asked you to keep an eye on? If nothing "
            "does, answer HEARTBEAT_OK.",
            "tui",
            "every 30 min a light check-in; HEARTBEAT_OK answers are stored, not delivered",
            light=True,
        ),
        Preset(
            DAILY_BRIEFING,
            "0 9 * * *",
            "Write my daily briefing for today: the date and weekday, what I asked you to "
            "remember or do today, open items from our recent conversations, and anything "
            "that needs my attention. Keep it short and easy to scan.",
            "tui",
            "a briefing at 09:00 in the task's zone",
        ),
        Preset(
            COST_ALERT,
            "0 * * * *",
            "Compare the last hour's and today's LLM spend with [scheduler] "
            "cost_alert_hourly_usd and cost_alert_daily_usd, and alert when over "
            "(computed from llm_logs; no LLM call).",
            "tui",
            "hourly spend check from llm_logs (no LLM call); an event and a notification "
            "when over a threshold",
            llm=False,
        ),
    )
}


def get(name: str) -> Preset:
    """The preset ``name``.

    Raises:
        InvalidArgument: no such preset (the message lists them).
    """
    try:
        return PRESETS[name]
    except KeyError:
        raise InvalidArgument(f"unknown preset {name!r} (presets: {', '.join(PRESETS)})") from None
