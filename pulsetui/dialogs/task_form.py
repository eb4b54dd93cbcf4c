"""TaskForm: add or edit a scheduled task, the schedule checked as it is typed.

As the schedule or zone is typed, a worker asks the daemon (Tasks.Preview, the one
authority on the grammar) whether it is valid and when its next three runs are. Saving
sends Tasks.Add or Tasks.Update from a worker; the daemon's verdict is shown in the
form, which stays open until a save succeeds.
"""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar

from pulse.v1 import tasks_pb2
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, VerticalScroll
from textual.content import Content
from textual.message import Message
from textual.screen import ModalScreen
from textual.widgets import Button, Checkbox, Input, Label, Static, TextArea

from pulsectl.client import AsyncPulseClient, ClientError


class TaskForm(ModalScreen[tasks_pb2.Task | None]):
    """Dismissed with the saved task, or None when cancelled."""

    DEFAULT_CSS = """
    TaskForm { align: center middle; }
    TaskForm > VerticalScroll {
        width: 78;
        max-width: 100%;
        height: auto;
        max-height: 100%;
        border: round $primary;
        background: $surface;
        padding: 0 1;
        border-title-color: $primary;
    }
    TaskForm Label { margin-top: 0; color: $text-muted; }
    TaskForm Input, TaskForm TextArea { margin: 0; }
    TaskForm #prompt { height: 4; }
    TaskForm #schedule-help { height: auto; color: $text-muted; }
    TaskForm #schedule-help.-invalid { color: $text-error; }
    TaskForm #form-error { color: $text-error; height: auto; }
    TaskForm Horizontal { height: auto; align: right middle; }
    TaskForm Button { margin-left: 1; }
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel"),
        Binding("ctrl+s", "save", "Save"),
    ]

    class Saved(Message):
        """The daemon stored the task (``task``: the version it saved)."""

        def __init__(self, task: tasks_pb2.Task) -> None:
            super().__init__()
            self.task = task

    class Previewed(Message):
        """The daemon's answer for the schedule ``spec`` in zone ``zone``."""

        def __init__(self, spec: str, zone: str, problem: str, runs: list[str]) -> None:
            super().__init__()
            self.spec, self.zone, self.problem, self.runs = spec, zone, problem, runs

    class Refused(Message):
        """The daemon refused to save the task; ``error`` says why."""

        def __init__(self, error: ClientError) -> None:
            super().__init__()
            self.error = error

    def __init__(self, client: AsyncPulseClient, task: tasks_pb2.Task | None = None) -> None:
        super().__init__()
        self.client = client
        self.original = task
        self.editing = task is not None
        self.schedule_problem = ""
        """What the daemon said is wrong with the current schedule ('' when valid)."""

    @property
    def zone_name(self) -> str:
        """The time zone typed (the task's own before the form is composed)."""
        try:
            return self.query_one("#timezone", Input).value
        except Exception:
            return self.original.timezone if self.original else ""

    def compose(self) -> ComposeResult:
        t = self.original or tasks_pb2.Task(enabled=True, deliver_to="tui")
        with VerticalScroll() as box:
            box.border_title = f"edit task {t.name}" if self.editing else "new task"
            box.border_subtitle = "tab next field · enter or ctrl+s saves · esc cancels"
            yield Label("name (a-z 0-9 _ . -)")
            yield Input(t.name, id="name", disabled=self.editing, compact=True)
            yield Label('schedule: "0 9 * * *", "every 30m", "at 2026-12-01T09:00", "in 2h"')
            yield Input(t.schedule, id="schedule", compact=True)
            yield Static("", id="schedule-help")
            yield Label("time zone (IANA, empty = the daemon's)")
            yield Input(t.timezone, id="timezone", compact=True, placeholder="e.g. Europe/Paris")
            yield Label("prompt")
            yield TextArea(t.prompt, id="prompt", soft_wrap=True, tab_behavior="focus")
            yield Label("deliver to (none, tui, or channel:target)")
            yield Input(t.deliver_to or "tui", id="deliver_to", compact=True)
            yield Checkbox("enabled", t.enabled, id="enabled", compact=True)
            yield Static("", id="form-error")
            with Horizontal():
                yield Button("Cancel", id="cancel")
                yield Button("Save", id="save", variant="primary")

    def on_mount(self) -> None:
        self.query_one("#schedule" if self.editing else "#name", Input).focus()
        self._preview()

    # -- live schedule check -------------------------------------------------------------

    @on(Input.Changed, "#schedule")
    @on(Input.Changed, "#timezone")
    def _changed(self) -> None:
        self._preview()

    def _preview(self) -> None:
        help_ = self.query_one("#schedule-help", Static)
        spec = self.query_one("#schedule", Input).value
        if not spec.strip():
            self.schedule_problem = "the task needs a schedule"
            help_.set_class(False, "-invalid")
            help_.update("type a schedule to see its next runs")
            return
        self.schedule_problem = ""  # until the daemon answers, saving asks the daemon itself
        self.check_schedule(spec, self.zone_name)

    @work(exclusive=True, exit_on_error=False, group="schedule-preview")
    async def check_schedule(self, spec: str, zone: str) -> None:
        """Ask the daemon about ``spec``; the answer arrives as ``Previewed``."""
        try:
            answer = await self.client.preview_schedule(spec, zone)
        except ClientError as err:
            problem = f"cannot check it now: {err.details or err.message}"
            self.post_message(self.Previewed(spec, zone, problem, []))
            return
        self.post_message(self.Previewed(spec, zone, answer.problem, list(answer.next_runs)))

    @on(Previewed)
    def previewed(self, message: Previewed) -> None:
        """Say what is wrong with the schedule, or when its next runs are."""
        if message.spec != self.query_one("#schedule", Input).value:
            return  # an answer for text the person has since changed
        help_ = self.query_one("#schedule-help", Static)
        schedule_input = self.query_one("#schedule", Input)
        self.schedule_problem = message.problem
        schedule_input.set_class(bool(message.problem), "-invalid")
        if message.problem:
            help_.set_class(True, "-invalid")
            help_.update(Content(f"✖ {message.problem}"))
            return
        help_.set_class(False, "-invalid")
        if not message.runs:
            help_.update("✔ valid, but that time has passed: it would never run")
            return
        shown = ", ".join(
            datetime.fromisoformat(r).strftime("%a %Y-%m-%d %H:%M %Z").strip() for r in message.runs
        )
        help_.update(Content(f"✔ next: {shown}"))

    # -- saving ---------------------------------------------------------------------------

    def _collect(self) -> tasks_pb2.Task:
        return tasks_pb2.Task(
            name=self.query_one("#name", Input).value.strip(),
            schedule=self.query_one("#schedule", Input).value.strip(),
            timezone=self.query_one("#timezone", Input).value.strip(),
            prompt=self.query_one("#prompt", TextArea).text,
            deliver_to=self.query_one("#deliver_to", Input).value.strip(),
            enabled=self.query_one("#enabled", Checkbox).value,
        )

    def action_save(self) -> None:
        task = self._collect()
        error = self.query_one("#form-error", Static)
        problems = []
        if not task.name:
            problems.append("the task needs a name")
        if self.schedule_problem:
            problems.append(f"schedule: {self.schedule_problem}")
        if not task.prompt.strip():
            problems.append("the task needs a prompt")
        if problems:
            error.update(Content("✖ " + "; ".join(problems)))
            return
        error.update("saving…")
        self.save(task)

    @work(exclusive=True, exit_on_error=False, group="task-save")
    async def save(self, task: tasks_pb2.Task) -> None:
        """Tasks.Add (a new task) or Tasks.Update; the answer arrives as Saved or Refused."""
        client = self.client
        try:
            if self.editing:
                saved = await client.update_task(
                    task.name,
                    schedule=task.schedule,
                    prompt=task.prompt,
                    timezone=task.timezone,
                    deliver_to=task.deliver_to,
                    enabled=task.enabled,
                )
            else:
                saved = await client.add_task(task)
        except ClientError as err:
            self.post_message(self.Refused(err))
            return
        self.post_message(self.Saved(saved))

    @on(Saved)
    def saved(self, message: Saved) -> None:
        self.dismiss(message.task)

    @on(Refused)
    def refused(self, message: Refused) -> None:
        err = message.error
        details = err.details or err.message
        self.query_one("#form-error", Static).update(Content(f"✖ the daemon refused: {details}"))

    @on(Input.Submitted)
    def submitted(self) -> None:
        self.action_save()

    @on(Button.Pressed, "#save")
    def save_pressed(self) -> None:
        self.action_save()

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)
