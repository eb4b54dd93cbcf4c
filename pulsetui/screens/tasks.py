"""Tasks: the scheduled tasks, their runs and answers; add, edit, enable, delete, run.

The list refreshes whenever the tasks stream gets a version (one worker tails it) and
every ``REFRESH_S`` seconds for next/last run times; the run history of the highlighted
task is loaded on demand. Every time is shown in the task's own zone with its
abbreviation (``pulsetui.zones``: ``01-16 08:00 CET``), as the task form's previews are.
"""

from __future__ import annotations

from typing import ClassVar

from pulse.v1 import tasks_pb2
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.message import Message
from textual.widgets import DataTable, Footer, Markdown, Static

from pulsectl.client import AsyncPulseClient, ClientError, Filter
from pulsetui.dialogs.confirm import Confirm
from pulsetui.dialogs.task_form import TaskForm
from pulsetui.format import duration_ms, money
from pulsetui.screens.base import PulseScreen
from pulsetui.widgets.status_bar import StatusBar
from pulsetui.widgets.view_bar import ViewBar
from pulsetui.zones import in_zone

REFRESH_S = 30.0
STATUS_STYLE = {
    "ok": "green",
    "error": "red",
    "timeout": "red",
    "running": "yellow",
    "skipped": "dim",
}


class TasksScreen(PulseScreen):
    """The Tasks view."""

    BINDINGS: ClassVar[list[BindingType]] = [
        # Priority: run as the app reads the key, so the keys typed right after it go to
        # the form (a binding found after the key went through the table runs too late:
        # the keys behind it have been handed to the table and are lost).
        Binding("a", "add", "Add", priority=True),
        Binding("e", "edit", "Edit", priority=True),
        Binding("space", "toggle_enabled", "Enable/disable"),
        Binding("r", "run", "Run now"),
        Binding("d,delete", "delete", "Delete"),
        Binding("h", "focus_runs", "History"),
    ]

    class Loaded(Message):
        """Tasks.List answered: every task, in the daemon's order."""

        def __init__(self, tasks: list[tasks_pb2.Task]) -> None:
            super().__init__()
            self.tasks = tasks

    class RunsLoaded(Message):
        """Tasks.History answered for task ``name``: its runs, newest first."""

        def __init__(self, name: str, runs: list[tasks_pb2.TaskRun]) -> None:
            super().__init__()
            self.name = name
            self.runs = runs

    class Changed(Message):
        """Task versions or runs were appended (``names``: tasks whose runs changed)."""

        def __init__(self, names: set[str] | None = None) -> None:
            super().__init__()
            self.names = names or set()

    class Done(Message):
        """An action on a task finished; ``note`` says what happened."""

        def __init__(self, note: str) -> None:
            super().__init__()
            self.note = note

    def __init__(self, client: AsyncPulseClient) -> None:
        super().__init__(client)
        self.tasks: list[tasks_pb2.Task] = []
        self.runs: list[tasks_pb2.TaskRun] = []
        self.runs_of = ""

    def compose(self) -> ComposeResult:
        with Vertical(id="tasks-top"):
            yield Static("Tasks", classes="pane-title")
            yield Static("", id="tasks-empty")
            yield DataTable(id="tasks-table", cursor_type="row", zebra_stripes=True)
        with Horizontal(id="tasks-bottom"):
            with Vertical(id="runs-pane"):
                yield Static("Runs", classes="pane-title", id="runs-title")
                yield DataTable(id="runs-table", cursor_type="row")
            with VerticalScroll(id="answer-pane"):
                yield Markdown("", id="run-answer")
        yield StatusBar()
        yield ViewBar("tasks")
        yield Footer(compact=True, show_command_palette=False)

    def on_mount(self) -> None:
        table = self.query_one("#tasks-table", DataTable)
        table.add_columns("name", "schedule", "tz", "next run", "last run", "status", "on")
        runs = self.query_one("#runs-table", DataTable)
        runs.add_columns("fired", "status", "took", "cost")
        self.query_one("#tasks-empty").display = False
        table.focus()
        self.load()
        self.follow_versions()
        self.follow_runs()
        self.set_interval(REFRESH_S, self.load)

    def reconnected(self) -> None:
        """The daemon is back: load the tasks again."""
        self.load()

    # -- workers ---------------------------------------------------------------------------

    @work(exclusive=True, exit_on_error=False, group="tasks-load")
    async def load(self) -> None:
        """Tasks.List; the answer arrives as Loaded."""
        resp = await self.client.list_tasks()
        self.post_message(self.Loaded(list(resp.tasks)))

    @work(exclusive=True, exit_on_error=False, group="tasks-versions")
    async def follow_versions(self) -> None:
        """Tail the tasks stream; each batch of new versions posts Changed."""
        async for _rows in self.client.follow("tasks", start="latest", flush_s=0.2):
            self.post_message(self.Changed())

    @work(exclusive=True, exit_on_error=False, group="tasks-runs-tail")
    async def follow_runs(self) -> None:
        """Runs are messages in the sessions ``task:<name>``: fired, answered, failed."""
        filters = [Filter("session_id", "contains", "task:")]
        async for rows in self.client.follow("messages", filters, flush_s=0.3):
            names = {str(r.values.get("session_id", "")).removeprefix("task:") for r in rows}
            self.post_message(self.Changed(names))

    @work(exclusive=True, exit_on_error=False, group="tasks-runs")
    async def load_runs(self, name: str) -> None:
        """Tasks.History of ``name``; the answer arrives as RunsLoaded."""
        resp = await self.client.task_history(name, 20)
        self.post_message(self.RunsLoaded(name, list(resp.runs)))

    @work(exit_on_error=False, group="tasks-act")
    async def act(self, what: str, name: str, enabled: bool = False) -> None:
        """Toggle, delete or run task ``name``; Done says how it went."""
        client = self.client
        try:
            if what == "toggle":
                await client.set_task_enabled(name, enabled)
                note = f"{name} {'enabled' if enabled else 'disabled'}"
            elif what == "delete":
                await client.remove_task(name)
                note = f"{name} deleted"
            else:
                resp = await client.run_task(name)
                note = f"{name} started (session {resp.session_id})"
        except ClientError as err:
            self.post_message(self.Done(f"✖ {err.message}"))
            return
        self.post_message(self.Done(note))
        self.post_message(self.Changed({name}))

    # -- state ----------------------------------------------------------------------------

    @on(Changed)
    def changed(self, message: Changed) -> None:
        self.load()
        if self.current is not None and self.current.name in message.names:
            self.load_runs(self.current.name)

    @on(Loaded)
    def loaded(self, message: Loaded) -> None:
        table = self.query_one("#tasks-table", DataTable)
        current = self.current.name if self.current else ""
        self.tasks = message.tasks
        table.clear()
        for t in self.tasks:
            # Fields the scheduler adds to Task are read when this daemon sends them.
            shown = "running" if getattr(t, "running", False) else (t.last_status or "-")
            status = Text(shown, style=STATUS_STYLE.get(shown, ""))
            trigger = t.trigger if t.HasField("trigger") else None
            zone = t.timezone
            table.add_row(
                t.name,
                trigger_text(t) if trigger else t.schedule,
                t.timezone or "local",
                f"{t.rows_waiting} waiting" if trigger else in_zone(t.next_run, zone),
                in_zone(t.last_fired or t.last_run, zone) if trigger else in_zone(t.last_run, zone),
                status,
                "yes" if t.enabled else "no",
                key=t.name,
            )
        empty = self.query_one("#tasks-empty", Static)
        empty.update("No tasks yet: press a to add one.")
        empty.display = not self.tasks
        names = [t.name for t in self.tasks]
        if current in names:
            table.move_cursor(row=names.index(current))
        if self.current and self.current.name != self.runs_of:
            self.load_runs(self.current.name)

    @property
    def current(self) -> tasks_pb2.Task | None:
        """The highlighted task."""
        table = self.query_one("#tasks-table", DataTable)
        if not self.tasks or not 0 <= table.cursor_row < len(self.tasks):
            return None
        return self.tasks[table.cursor_row]

    @on(DataTable.RowSelected, "#tasks-table")
    def selected(self) -> None:
        self.action_edit()

    @on(DataTable.RowHighlighted, "#tasks-table")
    def highlighted(self) -> None:
        task = self.current
        if task is not None and task.name != self.runs_of:
            self.load_runs(task.name)

    @on(RunsLoaded)
    def runs_loaded(self, message: RunsLoaded) -> None:
        self.runs_of = message.name
        self.runs = message.runs
        self.query_one("#runs-title", Static).update(f"Runs of {message.name}")
        table = self.query_one("#runs-table", DataTable)
        table.clear()
        zone = next((t.timezone for t in self.tasks if t.name == message.name), "")
        for r in self.runs:
            table.add_row(
                in_zone(r.fired_at, zone),
                Text(r.status, style=STATUS_STYLE.get(r.status, "")),
                duration_ms(r.duration_ms) if r.duration_ms else "-",
                money(r.cost_usd),
            )
        self._show_answer(0)

    @on(DataTable.RowHighlighted, "#runs-table")
    def run_highlighted(self, event: DataTable.RowHighlighted) -> None:
        self._show_answer(event.cursor_row)

    def _show_answer(self, index: int) -> None:
        answer = self.query_one("#run-answer", Markdown)
        if not self.runs:
            answer.update("*No runs yet.* Press **r** to run the task now.")
        elif 0 <= index < len(self.runs):
            answer.update(self.runs[index].answer or "*(no answer yet)*")

    @on(Done)
    def done(self, message: Done) -> None:
        self.notify(
            message.note, severity="error" if message.note.startswith("✖") else "information"
        )

    # -- actions --------------------------------------------------------------------------

    def action_add(self) -> None:
        self.app.push_screen(TaskForm(self.client), self._saved)

    def action_edit(self) -> None:
        if self.current is not None:
            self.app.push_screen(TaskForm(self.client, self.current), self._saved)

    def _saved(self, task: tasks_pb2.Task | None) -> None:
        if task is not None:
            self.notify(f"saved {task.name} (version {task.version})")
            self.load()

    def action_toggle_enabled(self) -> None:
        if self.current is not None:
            self.act("toggle", self.current.name, not self.current.enabled)

    def action_run(self) -> None:
        if self.current is not None:
            self.act("run", self.current.name)

    def action_delete(self) -> None:
        task = self.current
        if task is None:
            return

        def answer(yes: bool | None) -> None:
            if yes:
                self.act("delete", task.name)

        self.app.push_screen(Confirm(f"Delete task {task.name!r}? Its run history stays."), answer)

    def action_focus_runs(self) -> None:
        self.query_one("#runs-table", DataTable).focus()


OPS = {"eq": "=", "ne": "!=", "contains": "~", "gt": ">", "ge": ">=", "lt": "<", "le": "<="}


def trigger_text(t: tasks_pb2.Task) -> str:
    """A stream trigger's source and filter: ``on ingest where payload.action=opened``
    (a SQL trigger: ``sql SELECT ...``)."""
    if t.trigger.sql:
        return f"sql {' '.join(t.trigger.sql.split())}"
    where = " ".join(f"{f.column}{OPS.get(f.op or 'eq', '=')}{f.value}" for f in t.trigger.where)
    return f"on {t.trigger.on}" + (f" where {where}" if where else "")
