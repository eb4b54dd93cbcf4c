"""The task form's "on stream" kind, its live preview and its typing friction, against
the real daemon (Pilot drives PulseApp over a temporary socket); the pure helpers of
the trigger fields and of task times at the end."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime

import pytest
from pulse.v1 import common_pb2, tasks_pb2
from textual import events
from textual.containers import VerticalScroll
from textual.widget import Widget
from textual.widgets import DataTable, Input, Select, Static

from pulsectl.client.ingest import ingest_row
from pulsetui.app import PulseApp
from pulsetui.dialogs.task_form import TaskForm, clean_name
from pulsetui.screens.tasks import TasksScreen
from pulsetui.widgets.trigger_fields import (
    TriggerFields,
    TriggerProblem,
    batch_text,
    parse_batch,
    parse_max_runs,
    where_text,
)
from pulsetui.zones import any_seconds, in_zone
from tests.harness import Daemon
from tests.tui.conftest import screen_ready, type_text, until


def app_for(daemon: Daemon) -> PulseApp:
    return PulseApp(daemon.socket, autostart=False, view="tasks")


async def opened_form(pilot, app: PulseApp, key: str = "a") -> TaskForm:  # type: ignore[no-untyped-def]
    await until(pilot, lambda: app.connection.state == "connected", what="connection")
    await screen_ready(pilot, app, TasksScreen, what="tasks view")
    await pilot.press(key)
    await screen_ready(pilot, app, TaskForm, what="form")
    form = app.screen
    assert isinstance(form, TaskForm)
    return form


def preview_text(form: TaskForm) -> str:
    return str(form.query_one("#trigger-preview", Static).render())


async def test_add_a_trigger_task_with_a_live_preview(daemon: Daemon) -> None:
    app = app_for(daemon)
    async with app.run_test(size=(100, 40)) as pilot:
        await app.client.ingest(
            [
                ingest_row("webhook:gh", json.dumps({"action": "opened", "n": 1}), kind="pr"),
                ingest_row("webhook:gh", json.dumps({"action": "closed", "n": 2}), kind="pr"),
            ]
        )
        form = await opened_form(pilot, app)
        await type_text(pilot, "prs")
        await pilot.press("tab")  # the kind: schedule -> on stream
        assert app.focused is form.query_one("#kind", Select)
        await pilot.press("enter", "down", "enter")
        await until(pilot, lambda: form.is_trigger, what="on stream")
        fields = form.query_one(TriggerFields)
        assert fields.display and not form.query_one("#schedule-fields").display

        # The streams are the daemon's, not a fixed list.
        stream: Select[str] = form.query_one("#stream", Select)
        await until(pilot, lambda: len(stream._options) > 3, what="streams loaded")
        names = {str(value) for _label, value in stream._options}
        assert {"ingest", "events", "messages", "tasks"} <= names
        assert stream.value == "ingest"

        # No filter: every row, newest first.
        await until(pilot, lambda: '"n":2' in preview_text(form), what="unfiltered preview")
        where = form.query_one("#where", Input)
        where.focus()
        asked = fields.generation
        typed = "payload.action=opened source=webhook:gh"
        await type_text(pilot, typed)
        await until(
            pilot,
            lambda: '"n":1' in preview_text(form) and '"n":2' not in preview_text(form),
            what="filtered preview",
        )
        assert fields.problem == ""
        # Debounced: far fewer requests than keys typed.
        assert 1 <= fields.generation - asked < len(typed) // 2
        # The latest request wins: an answer to an earlier one is not shown.
        shown = preview_text(form)
        fields.post_message(TriggerFields.Previewed(fields.generation - 1, "stale", []))
        await pilot.pause(0.1)
        assert preview_text(form) == shown
        assert "latest matching" in preview_text(form)
        # Row times are shown in the task's zone, with its abbreviation.
        form.query_one("#timezone", Input).value = "Asia/Tokyo"
        await until(pilot, lambda: " JST  " in preview_text(form), what="times in the zone")

        # A row appended through the Ingest API shows at the next change of the filter.
        await app.client.ingest(
            [ingest_row("webhook:gh", json.dumps({"action": "opened", "n": 3}), kind="pr")]
        )
        await type_text(pilot, " kind=pr")
        await until(pilot, lambda: '"n":3' in preview_text(form), what="new row in preview")
        lines = preview_text(form).splitlines()
        assert '"n":3' in lines[1] and '"n":1' in lines[2]  # newest first

        # The daemon's verdict on a column it does not know, then the grammar's own.
        where.value = "nosuch=1"
        await until(pilot, lambda: fields.problem != "", what="daemon's verdict")
        assert "nosuch" in preview_text(form) and preview_text(form).startswith("✖")
        assert where.has_class("-invalid")
        where.value = "payload.action"
        await until(pilot, lambda: "invalid filter" in preview_text(form), what="grammar error")
        where.value = "payload.action=merged"
        await until(pilot, lambda: "no matching rows yet" in preview_text(form), what="no rows")
        assert not where.has_class("-invalid")
        where.value = "payload.action=opened"
        await until(pilot, lambda: '"n":3' in preview_text(form), what="preview back")

        # A bad batch is refused in the form, before the daemon.
        form.query_one("#batch", Input).value = "soon"
        form.query_one("#prompt").load_text("Review the pull request")
        await pilot.press("ctrl+s")
        error = form.query_one("#form-error", Static)
        assert "batch" in str(error.render())
        assert isinstance(app.screen, TaskForm)

        form.query_one("#batch", Input).value = "30s"
        form.query_one("#max_runs", Input).value = "5"
        form.query_one("#overflow", Select).value = "drop"
        await pilot.press("ctrl+s")
        await screen_ready(pilot, app, TasksScreen, what="form closed")
        screen = app.screen
        assert isinstance(screen, TasksScreen)
        await until(pilot, lambda: [t.name for t in screen.tasks] == ["prs"], what="listed")
        row = screen.query_one("#tasks-table", DataTable).get_row_at(0)
        assert row[1] == "on ingest where payload.action=opened"

    (task,) = daemon.tasks().List(tasks_pb2.ListTasksRequest(), timeout=5).tasks
    assert task.schedule == "on ingest" and task.prompt == "Review the pull request"
    t = task.trigger
    assert (t.on, t.batch_s, t.max_runs_per_hour, t.overflow) == ("ingest", 30.0, 5, "drop")
    assert [(f.column, f.op, f.value) for f in t.where] == [("payload.action", "eq", "opened")]


async def test_editing_a_trigger_fills_its_fields_and_shows_refusals(daemon: Daemon) -> None:
    trigger = tasks_pb2.TriggerSpec(
        on="ingest",
        where=[
            common_pb2.Filter(column="payload.action", op="eq", value="opened"),
            common_pb2.Filter(column="payload.title", op="contains", value="big fix"),
        ],
        batch_s=300,
        max_runs_per_hour=4,
        overflow="drop",
    )
    task = tasks_pb2.Task(name="triage", prompt="Triage it", enabled=True, trigger=trigger)
    daemon.tasks().Add(tasks_pb2.AddTaskRequest(task=task), timeout=5)
    app = app_for(daemon)
    async with app.run_test(size=(100, 40)) as pilot:
        await until(pilot, lambda: app.connection.state == "connected", what="connection")
        screen = app.screen
        assert isinstance(screen, TasksScreen)
        await until(pilot, lambda: screen.tasks, what="tasks")
        form = await opened_form(pilot, app, "e")
        assert form.query_one("#kind", Select).value == "stream"
        assert form.query_one("#stream", Select).value == "ingest"
        where = form.query_one("#where", Input)
        assert where.value == "payload.action=opened 'payload.title~big fix'"
        assert form.query_one("#batch", Input).value == "5m"
        assert form.query_one("#max_runs", Input).value == "4"
        assert form.query_one("#overflow", Select).value == "drop"
        assert app.focused is where  # where editing a trigger starts
        await until(pilot, lambda: "no matching rows yet" in preview_text(form), what="preview")

        # The daemon's refusal shows in the form, which stays open.
        where.value = "nosuch=1"
        await pilot.press("ctrl+s")
        error = form.query_one("#form-error", Static)
        await until(pilot, lambda: "refused" in str(error.render()), what="refusal")
        assert "nosuch" in str(error.render())
        assert isinstance(app.screen, TaskForm)

        where.value = "payload.action=opened 'payload.title~big fix'"
        form.query_one("#max_runs", Input).value = "6"
        await pilot.press("ctrl+s")
        await until(pilot, lambda: app.screen is screen, what="form closed")

    (saved,) = daemon.tasks().List(tasks_pb2.ListTasksRequest(), timeout=5).tasks
    assert saved.trigger.max_runs_per_hour == 6 and saved.trigger.batch_s == 300
    assert [f.value for f in saved.trigger.where] == ["opened", "big fix"]


FORM_PARTS = "Input, Select, TextArea, Checkbox, Button"


def displayed(widget: Widget) -> bool:
    """Whether ``widget`` and every container above it are displayed."""
    return all(n.display for n in widget.ancestors_with_self if isinstance(n, Widget))


def out_of_sight(form: TaskForm) -> list[str]:
    """The form's displayed fields and buttons not wholly on screen (a widget scrolled out
    of its container has an empty region)."""
    screen = form.region
    return [
        f"{w.id}: {w.region}"
        for w in form.query(FORM_PARTS).results()
        if displayed(w) and not (w.region.area and screen.contains_region(w.region))
    ]


async def test_the_form_fits_80x24_on_either_kind_with_its_buttons_in_sight(
    daemon: Daemon,
) -> None:
    pr_rows = [
        ingest_row("webhook:gh", json.dumps({"action": "opened", "n": n}), kind="pr")
        for n in range(1, 6)
    ]
    app = app_for(daemon)
    async with app.run_test(size=(80, 24)) as pilot:
        await app.client.ingest(pr_rows)
        form = await opened_form(pilot, app)
        box = form.query_one(VerticalScroll)
        assert out_of_sight(form) == [] and box.max_scroll_y == 0  # "schedule"
        await type_text(pilot, "prs")
        await pilot.press("tab", "enter", "down", "enter")
        await until(pilot, lambda: form.is_trigger, what="on stream")
        # The preview at its fullest: a heading and three rows.
        await until(pilot, lambda: '"n":3' in preview_text(form), what="preview")
        assert len(preview_text(form).splitlines()) == 4
        shown = ["name", "kind", "stream", "where", "batch", "max_runs", "overflow"]
        shown += ["timezone", "prompt", "deliver_to", "enabled", "cancel", "save"]
        assert [
            w.id
            for w in form.query("Input, Select, TextArea, Checkbox, Button")
            if w.display and w.parent is not None and w.parent.display
        ] == shown
        assert out_of_sight(form) == [] and box.max_scroll_y == 0

        # A problem in the form shows beside the buttons, all still in sight.
        await pilot.press("ctrl+s")
        error = form.query_one("#form-error", Static)
        await until(pilot, lambda: "needs a prompt" in str(error.render()), what="problem")
        assert error.region.area and form.region.contains_region(error.region)
        assert out_of_sight(form) == [] and box.max_scroll_y == 0


async def test_typed_ahead_keys_land_in_the_name_and_paste_is_filtered(daemon: Daemon) -> None:
    app = app_for(daemon)
    async with app.run_test(size=(100, 40)) as pilot:
        await until(pilot, lambda: app.connection.state == "connected", what="connection")
        await screen_ready(pilot, app, TasksScreen, what="tasks view")
        # As a terminal delivers a burst: every key queued before the form has mounted.
        for key in "anews":  # e, s: keys of the Tasks view
            app.post_message(events.Key(key, key))
        await screen_ready(pilot, app, TaskForm, what="form")
        form = app.screen
        name = form.query_one("#name", Input)
        await until(pilot, lambda: name.value == "news", what="typed-ahead keys in the name")
        assert app.focused is name
        assert form.query_one("#schedule", Input).value == ""

        # The name filter applies to pasted text too.
        name.value = ""
        app.post_message(events.Paste("Daily Briefing! (v2)"))
        await until(pilot, lambda: name.value == "daily-briefing-v2", what="pasted name, cleaned")
        await type_text(pilot, "X?")
        assert name.value == "daily-briefing-v2x"
        # A key typed on another kind of field is that field's, not the name's.
        form.query_one("#enabled").focus()
        await pilot.pause()
        await type_text(pilot, "q")
        assert name.value == "daily-briefing-v2x"

        # A schedule's next runs: in the task's zone with its abbreviation, with seconds
        # where they matter.
        form.query_one("#timezone", Input).value = "Asia/Tokyo"
        form.query_one("#schedule", Input).focus()
        await type_text(pilot, "every 20s")
        help_ = form.query_one("#schedule-help", Static)
        await until(pilot, lambda: "✔ next:" in str(help_.render()), what="schedule preview")
        runs = str(help_.render()).removeprefix("✔ next: ").split(", ")
        assert len(runs) == 3
        zoned = re.compile(r"\w{3} (\d{4}-)?\d\d-\d\d \d\d:\d\d:\d\d JST")
        assert all(zoned.fullmatch(r) for r in runs), runs


# -- pure helpers ----------------------------------------------------------------------------


def test_where_text_reads_back_as_the_same_filters() -> None:
    from pulsectl.client import parse_filters

    filters = [
        common_pb2.Filter(column="payload.action", op="eq", value="opened"),
        common_pb2.Filter(column="content", op="contains", value="it's big"),
        common_pb2.Filter(column="level", op="ge", value="3"),
        common_pb2.Filter(column="path", op="eq", value=r"C:\tmp"),
    ]
    text = where_text(filters)
    assert text.startswith("payload.action=opened 'content~it'")
    assert " level>=3 " in text  # quoted only where a shell word would break
    assert [(f.column, f.op, f.value) for f in parse_filters(text)] == [
        (f.column, f.op, f.value) for f in filters
    ]


@pytest.mark.parametrize(
    ("text", "seconds"), [("", 0.0), ("30", 30.0), ("30s", 30.0), ("5m", 300.0), ("1.5h", 5400.0)]
)
def test_batch_field(text: str, seconds: float) -> None:
    assert parse_batch(text) == seconds
    assert parse_batch(batch_text(seconds)) == seconds


def test_bad_trigger_fields_name_the_field() -> None:
    with pytest.raises(TriggerProblem, match="batch"):
        parse_batch("soon")
    with pytest.raises(TriggerProblem, match="max runs"):
        parse_max_runs("-1")
    assert parse_max_runs("") == 0


def test_clean_name() -> None:
    assert clean_name("Daily Briefing!") == "daily-briefing"
    assert clean_name("a_b.c-d") == "a_b.c-d"


def test_task_times_are_shown_in_the_task_zone_with_its_abbreviation() -> None:
    now = datetime(2026, 12, 3, 12, tzinfo=UTC)
    assert in_zone("2026-12-04T08:00:00+00:00", "Europe/Paris", now=now) == "12-04 09:00 CET"
    assert in_zone("2026-07-04T08:00:00Z", "Europe/Paris", now=now) == "07-04 10:00 CEST"
    assert in_zone("2027-01-01T09:00:00+01:00", "Europe/Paris", now=now) == "2027-01-01 09:00 CET"
    assert in_zone("2026-12-04T08:00:00Z", "America/New_York", weekday=True, now=now) == (
        "Fri 12-04 03:00 EST"
    )
    assert in_zone("2026-12-04T08:00:00Z", "Asia/Dubai", now=now) == "12-04 12:00 UTC+04:00"
    assert in_zone("", "UTC", now=now) == "-"
    # Seconds where they matter (every 20s), and on every time of a list that has some.
    assert in_zone("2026-12-04T08:00:20Z", "UTC", now=now) == "12-04 08:00:20 UTC"
    assert in_zone("2026-12-04T08:01:00Z", "UTC", seconds=True, now=now) == "12-04 08:01:00 UTC"
    assert any_seconds(["2026-12-04T08:00:40Z", "2026-12-04T08:01:00Z"])
    assert not any_seconds(["2026-12-04T08:01:00Z", ""])
