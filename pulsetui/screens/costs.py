"""Costs: spend, tokens, requests and latency for today / 7 days / 30 days; cost by
model, by origin and by day as bar charts; the daily budget and how much of it is used.

Reloaded when the llm_logs stream gets rows (one worker tails it) and on ``r``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import ClassVar

from pulse.v1 import costs_pb2
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.content import Content
from textual.message import Message
from textual.widgets import Footer, ProgressBar, Static

from pulsectl.client import AsyncPulseClient
from pulsetui import format
from pulsetui.format import count, money
from pulsetui.screens.base import PulseScreen
from pulsetui.widgets.bars import BarChart, ColumnChart
from pulsetui.widgets.status_bar import StatusBar
from pulsetui.widgets.view_bar import ViewBar

RANGES = (("today", "today", 0), ("7d", "7 days", 7), ("30d", "30 days", 30))
"""(key, label, days back; 0 = since local midnight)."""

DAYS_CHARTED = 30


def since_ms(days: int, now: datetime | None = None) -> int:
    """Epoch ms of local midnight ``days`` days ago (0: today's)."""
    now = (now or datetime.now()).astimezone()
    midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
    return int((midnight - timedelta(days=days)).timestamp() * 1000)


@dataclass
class CostData:
    """Everything the view shows, from one round of Costs.Summary calls."""

    totals: dict[str, costs_pb2.CostBucket]
    by_model: list[costs_pb2.CostBucket]
    by_origin: list[costs_pb2.CostBucket]
    by_day: list[costs_pb2.CostBucket]
    budget_usd: float
    spent_today_usd: float
    chart_range: str
    caps: list[costs_pb2.BudgetCap] = field(default_factory=list)
    session_cap_usd: float = 0.0


def caps_line(caps: list[costs_pb2.BudgetCap], session_usd: float) -> str:
    """Each cap that is on with what is spent and left, on one line."""
    parts = [
        f"{c.name}: {money(c.spent_usd)} of {money(c.limit_usd)}, {money(c.left_usd)} left"
        f" (resets {c.resets})"
        for c in caps
    ]
    if session_usd:
        parts.append(f"session: {money(session_usd)} each")
    return " · ".join(parts) if parts else "no spending caps ([budget] in the config)"


def fill_days(
    buckets: list[costs_pb2.CostBucket], days: int, last: datetime
) -> list[tuple[str, float]]:
    """(YYYY-MM-DD, cost) for each of the ``days`` days up to ``last``'s date, 0 where the
    daemon reported nothing (its day keys are ISO 8601 dates or datetimes, UTC)."""
    by_key: dict[str, float] = {}
    for b in buckets:
        by_key[b.key[:10]] = by_key.get(b.key[:10], 0.0) + b.cost_usd
    out = []
    for i in range(days - 1, -1, -1):
        day = (last - timedelta(days=i)).strftime("%Y-%m-%d")
        out.append((day, by_key.get(day, 0.0)))
    return out


class CostsScreen(PulseScreen):
    """The Costs view."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("r", "reload", "Refresh"),
        Binding("t", "cycle_range", "Chart range"),
    ]

    class Loaded(Message):
        """A round of Costs.Summary calls answered: the figures to show."""

        def __init__(self, data: CostData) -> None:
            super().__init__()
            self.data = data

    class NewCalls(Message):
        """LLM calls were logged since the figures were loaded."""

    def __init__(self, client: AsyncPulseClient) -> None:
        super().__init__(client)
        self.chart_range = "7d"
        self.data: CostData | None = None

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="costs"):
            with Horizontal(id="cost-cards"):
                for key, label, _ in RANGES:
                    card = Static("…", id=f"card-{key}", classes="cost-card")
                    card.border_title = label
                    yield card
            with Horizontal(id="budget-row"):
                yield Static("daily budget", id="budget-label")
                yield ProgressBar(total=1.0, show_eta=False, id="budget")
            yield Static("", id="caps")
            with Horizontal(id="cost-breakdowns"):
                with Vertical(classes="chart-box", id="model-box"):
                    yield BarChart(fmt=money, empty="no LLM calls", id="by-model")
                with Vertical(classes="chart-box", id="origin-box"):
                    yield BarChart(fmt=money, empty="no LLM calls", id="by-origin")
            with Vertical(classes="chart-box", id="day-box"):
                yield ColumnChart(rows=4, fmt=money, empty="no LLM calls", id="by-day")
        yield StatusBar()
        yield ViewBar("costs")
        yield Footer(compact=True, show_command_palette=False)

    def on_mount(self) -> None:
        self.query_one("#day-box").border_title = f"cost by day, last {DAYS_CHARTED} days"
        self._titles()
        self.query_one("#costs").focus()
        self.load(self.chart_range)
        self.follow_calls()

    def reconnected(self) -> None:
        """The daemon is back: load the figures again."""
        self.load(self.chart_range)

    def _titles(self) -> None:
        label = dict((k, lbl) for k, lbl, _ in RANGES)[self.chart_range]
        self.query_one("#model-box").border_title = f"cost by model, {label}"
        self.query_one("#origin-box").border_title = f"cost by origin, {label}"

    # -- workers ---------------------------------------------------------------------------

    @work(exclusive=True, exit_on_error=False, group="costs-load")
    async def load(self, chart_range: str) -> None:
        """The figures of every range and of the charts for ``chart_range``; posted as Loaded."""
        client = self.client
        days = {k: d for k, _, d in RANGES}
        totals: dict[str, costs_pb2.CostBucket] = {}
        last: costs_pb2.CostSummaryResponse | None = None
        for key, _, back in RANGES:
            last = await client.cost_summary(since_ms=since_ms(back))
            totals[key] = last.total
        chart_since = since_ms(days[chart_range])
        by_model = await client.cost_summary(since_ms=chart_since, by="model")
        by_origin = await client.cost_summary(since_ms=chart_since, by="origin")
        by_day = await client.cost_summary(since_ms=since_ms(DAYS_CHARTED - 1), by="day")
        assert last is not None
        self.post_message(
            self.Loaded(
                CostData(
                    totals=totals,
                    by_model=list(by_model.buckets),
                    by_origin=list(by_origin.buckets),
                    by_day=list(by_day.buckets),
                    budget_usd=last.budget_daily_usd,
                    spent_today_usd=last.spent_today_usd,
                    chart_range=chart_range,
                    caps=list(last.caps),
                    session_cap_usd=last.budget_session_usd,
                )
            )
        )

    @work(exclusive=True, exit_on_error=False, group="costs-calls")
    async def follow_calls(self) -> None:
        """Tail llm_logs; each batch of new calls posts NewCalls."""
        async for _rows in self.client.follow("llm_logs", start="latest", flush_s=1.0):
            self.post_message(self.NewCalls())

    # -- state ----------------------------------------------------------------------------

    @on(NewCalls)
    def new_calls(self) -> None:
        self.load(self.chart_range)

    @on(Loaded)
    def loaded(self, message: Loaded) -> None:
        data = self.data = message.data
        for key, _, _ in RANGES:
            self.query_one(f"#card-{key}", Static).update(card(data.totals[key]))
        bar = self.query_one("#budget", ProgressBar)
        label = self.query_one("#budget-label", Static)
        if data.budget_usd > 0:
            used = data.spent_today_usd / data.budget_usd
            bar.update(total=data.budget_usd, progress=min(data.spent_today_usd, data.budget_usd))
            style = "bold $text-error" if used >= 1 else ("$text-warning" if used >= 0.8 else "")
            label.update(
                Content.assemble(
                    "budget today ",
                    (f"{money(data.spent_today_usd)} of {money(data.budget_usd)}", style),
                )
            )
        else:
            bar.update(total=1.0, progress=0)
            label.update(f"no daily budget · {money(data.spent_today_usd)} today")
        self.query_one("#caps", Static).update(caps_line(data.caps, data.session_cap_usd))
        self.query_one("#by-model", BarChart).set_items(
            [(b.key or "?", b.cost_usd) for b in data.by_model]
        )
        self.query_one("#by-origin", BarChart).set_items(
            [(b.key or "?", b.cost_usd) for b in data.by_origin]
        )
        self.query_one("#by-day", ColumnChart).set_items(
            fill_days(data.by_day, DAYS_CHARTED, format.local_now())
        )

    def action_reload(self) -> None:
        self.load(self.chart_range)

    def action_cycle_range(self) -> None:
        keys = [k for k, _, _ in RANGES]
        self.chart_range = keys[(keys.index(self.chart_range) + 1) % len(keys)]
        self._titles()
        self.load(self.chart_range)


def card(b: costs_pb2.CostBucket) -> Content:
    """A range's totals: cost, tokens, requests and latency, four short lines."""
    lines = [
        Content.styled(money(b.cost_usd), "bold $text-primary"),
        Content(f"{count(b.input_tokens)} in · {count(b.output_tokens)} out"),
        Content(f"{b.requests} req" + (f" · {b.errors} err" if b.errors else "")),
        Content(f"{b.avg_latency_ms:,.0f} ms avg" if b.requests else "- ms avg"),
    ]
    return Content("\n").join(lines)
