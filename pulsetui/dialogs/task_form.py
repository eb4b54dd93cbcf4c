"""TaskForm: add or edit a task that runs on a schedule or on a stream, checked as it
is typed.

Kind "schedule": as the schedule or zone is typed, a worker asks the daemon
(Tasks.Preview, the one authority on the grammar) whether it is valid and when its
next three runs are. Kind "on stream": the trigger's fields (``TriggerFields``) preview
the newest rows their filter matches. Saving sends Tasks.Add or Tasks.Update from a
worker; the daemon's verdict is shown in the form, which stays open until a save
succeeds. Times are shown in the task's zone with its abbreviation (``pulsetui.zones``).

Keys typed while the form opens land in its first field: it is focused as the form
mounts, and a printable key that reached the form before that goes into it. The name
field keeps only the characters a task name may have, typed or pasted.
"""

from __future__ import annotations

import re
from typing import ClassVar

from pulse.v1 import tasks_pb2
from textual import events, on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.content import Content
from textual.message import Message
from textual.screen import ModalScreen
from textual.widgets import Button, Checkbox, Input, Label, Select, Static, TextArea

from pulsectl.client import AsyncPulseClient, ClientError, new_task
from pulsetui.widgets.trigger_fields import TriggerFields, TriggerProblem
from pulsetui.zones import any_seconds, in_zone

KINDS = (("schedule", "schedule"), ("on stream", "stream"))
"""The kind choice: (label, value)."""

NAME_MAX = 64
_NOT_IN_NAME = re.compile(r"[^a-z0-9_.-]")


def clean_name(text: str) -> str:
    """``text`` with only what a task name may hold (the daemon's rule: a-z 0-9 _ . -,
    64 at most): letters lowered, spaces as ``-``, anything else dropped."""
    return _NOT_IN_NAME.sub("", text.lower().replace(" ", "-"))


class NameInput(Input):
    """The task name: what is typed or pasted is cleaned by ``clean_name`` (so a pasted
    ``Daily Briefing!`` becomes ``daily-briefing``)."""

    def replace(self, text: str, start: int, end: int) -> None:
        """Insert ``text`` (cleaned) in place of ``start:end`` (typing and pasting both
        come here)."""
        cleaned = clean_name(text)
        if text and not cleaned:
            self.restricted()
            return
        super().replace(cleaned, start, end)


class TaskForm(ModalScreen[tasks_pb2.Task | None]):
    """Dismissed with the saved task, or None when cancelled.

    Args:
        client: the daemon connection (Tasks.Preview, Add, Update; Streams.List).
        task: the task to edit, or None to add one.
    """

    AUTO_FOCUS = None  # on_mount focuses the first field itself, before any key
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
    TaskForm #kind { width: 20; }
    TaskForm Horizontal.inline { align: left middle; }
    TaskForm Horizontal.inline Label { width: auto; margin-right: 1; }
    TaskForm Horizontal.inline Input { width: 1fr; }
    TaskForm #name { margin-right: 2; }
    TaskForm #deliver_to { margin-right: 2; }
    TaskForm #schedule-fields { height: auto; }
    TaskForm #schedule-help { height: auto; color: $text-muted; }
    TaskForm #schedule-help.-invalid { color: $text-error; }
    TaskForm #form-actions { dock: bottom; height: auto; align: right middle; }
    TaskForm #form-error { color: $text-error; width: 1fr; height: auto; }
    TaskForm Horizontal { height: auto; }
    TaskForm Button { margin-left: 1; }
    """
    """The fields scroll if they must; the error line and the buttons are docked below
    them, so they stay in sight. Short fields share a line with their label, which keeps
    the "on stream" kind inside 80x24."""

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
        self.is_trigger = task is not None and task.HasField("trigger")
        self._ready = False
        self._typed_ahead: list[str] = []

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
            with Horizontal(classes="inline"):
                yield Label("name")
                yield NameInput(
                    t.name,
                    id="name",
                    disabled=self.editing,
                    compact=True,
                    max_length=NAME_MAX,
                    placeholder="a-z 0-9 _ . -",
                )
                yield Label("runs")
                yield Select(
                    KINDS,
                    value="stream" if self.is_trigger else "schedule",
                    allow_blank=False,
                    id="kind",
                    compact=True,
                )
            with Vertical(id="schedule-fields"):
                yield Label('schedule: "0 9 * * *", "every 30m", "at 2026-12-01T09:00", "in 2h"')
                yield Input("" if self.is_trigger else t.schedule, id="schedule", compact=True)
                yield Static("", id="schedule-help")
            trigger = t.trigger if self.is_trigger else None
            yield TriggerFields(self.client, trigger, lambda: self.zone_name, id="trigger-fields")
            with Horizontal(classes="inline"):
                yield Label("time zone")
                yield Input(
                    t.timezone,
                    id="timezone",
                    compact=True,
                    placeholder="e.g. Europe/Paris (empty: the daemon's); times are shown in it",
                )
            yield Label("prompt")
            yield TextArea(t.prompt, id="prompt", soft_wrap=True, tab_behavior="focus")
            with Horizontal(classes="inline"):
                yield Label("deliver to")
                yield Input(
                    t.deliver_to or "tui",
                    id="deliver_to",
                    compact=True,
                    placeholder="none, tui, or channel:target",
                )
                yield Checkbox("enabled", t.enabled, id="enabled", compact=True)
            with Horizontal(id="form-actions"):
                yield Static("", id="form-error")
                yield Button("Cancel", id="cancel")
                yield Button("Save", id="save", variant="primary")

    def on_mount(self) -> None:
        self._show_kind()
        self.set_focus(self.first_field, scroll_visible=False)  # now, not after a refresh
        self._ready = True
        for character in self._typed_ahead:
            self.first_field.insert_text_at_cursor(character)
        self._typed_ahead.clear()
        self._preview()

    @property
    def first_field(self) -> Input:
        """Where typing starts: the name (adding), else the schedule or the filter."""
        if not self.editing:
            return self.query_one("#name", Input)
        return self.query_one("#where" if self.is_trigger else "#schedule", Input)

    def type_ahead(self, character: str) -> None:
        """A printable key typed before the form had focus (a terminal delivers a burst
        to the widget focused when it arrives: the view below, or no widget yet): it
        goes into the focused field, or the first one once the form has mounted."""
        if not self._ready:
            self._typed_ahead.append(character)
            return
        focused = self.focused
        (focused if isinstance(focused, Input) else self.first_field).insert_text_at_cursor(
            character
        )

    def on_key(self, event: events.Key) -> None:
        """A printable key that reached the form itself while no field had focus (an
        Input keeps the keys it is given) goes to ``type_ahead``; one from a checkbox or
        a button is left to the bindings."""
        if not (event.is_printable and event.character):
            return
        focused = self.focused
        if self._ready and focused is not None and not isinstance(focused, Input):
            return
        event.stop()
        self.type_ahead(event.character)

    # -- kind ----------------------------------------------------------------------------

    @on(Select.Changed, "#kind")
    def kind_changed(self, event: Select.Changed) -> None:
        self.is_trigger = event.value == "stream"
        self._show_kind()
        self._preview()

    def _show_kind(self) -> None:
        self.query_one("#schedule-fields").display = not self.is_trigger
        self.query_one(TriggerFields).display = self.is_trigger

    # -- live schedule check -------------------------------------------------------------

    @on(Input.Changed, "#schedule")
    @on(Input.Changed, "#timezone")
    def _changed(self) -> None:
        self._preview()

    def _preview(self) -> None:
        if self.is_trigger:
            self.query_one(TriggerFields).changed()
            return
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
        sec = any_seconds(message.runs)  # every 20s: 09:00:20, 09:00:40, ...
        shown = ", ".join(in_zone(r, message.zone, weekday=True, seconds=sec) for r in message.runs)
        help_.update(Content(f"✔ next: {shown}"))

    # -- saving ---------------------------------------------------------------------------

    def _collect(self) -> tasks_pb2.Task:
        """The task the fields describe.

        Raises:
            TriggerProblem: "on stream", and a trigger field cannot be read.
        """
        trigger = self.query_one(TriggerFields).spec() if self.is_trigger else None
        return new_task(
            self.query_one("#name", Input).value.strip(),
            schedule="" if trigger else self.query_one("#schedule", Input).value.strip(),
            timezone=self.query_one("#timezone", Input).value.strip(),
            prompt=self.query_one("#prompt", TextArea).text,
            deliver_to=self.query_one("#deliver_to", Input).value.strip(),
            enabled=self.query_one("#enabled", Checkbox).value,
            trigger=trigger,
        )

    def action_save(self) -> None:
        error = self.query_one("#form-error", Static)
        try:
            task = self._collect()
        except TriggerProblem as err:
            error.update(Content(f"✖ {err}"))
            return
        problems = []
        if not task.name:
            problems.append("the task needs a name")
        if self.schedule_problem and not self.is_trigger:
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
        """Tasks.Add (a new task) or Tasks.Update; the answer arrives as Saved or Refused.
        A stream trigger goes with its TriggerSpec (the daemon sets its schedule)."""
        client = self.client
        trigger = task.trigger if task.HasField("trigger") else None
        try:
            if self.editing:
                saved = await client.update_task(
                    task.name,
                    schedule=None if trigger else task.schedule,
                    trigger=trigger,
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
