"""What the task book reports: a task as it stands (``TaskView``) and one of its runs
(``TaskRun``), the shapes of ``pulse.v1.Task`` and ``pulse.v1.TaskRun``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from pulsed.scheduling.where import TriggerDef

RunStatus = Literal["ok", "error", "timeout", "running", "skipped"]


@dataclass
class TaskView:
    """A task's current definition plus what is known of its runs. Times are ISO 8601;
    ``next_run`` carries the offset of the task's zone."""

    name: str
    schedule: str
    prompt: str
    timezone: str
    enabled: bool
    deliver_to: str
    version: int
    created_at: str
    updated_at: str
    next_run: str = ""
    last_run: str = ""
    last_status: str = ""
    catch_up: bool | None = None
    timeout_s: float = 0.0
    budget_usd: float = 0.0
    preset: str = ""
    created_by: str = "user"
    retired_at: str = ""
    failures: int = 0
    backoff_until: str = ""
    running: bool = False
    trigger: TriggerDef | None = None
    """A stream trigger's definition (None: a scheduled task)."""
    last_fired: str = ""
    """A trigger's newest run, ISO 8601 UTC."""
    rows_waiting: int = 0
    """Matching rows a trigger holds for its next run."""


@dataclass(frozen=True, slots=True)
class TaskRun:
    """One run of a task, the fields of ``pulse.v1.TaskRun``.

    Attributes:
        message_id: id of the run's ``scheduled_task`` row ('' for a skipped run).
        fired_at: when it started (or was skipped), ISO 8601 UTC.
        status: ok | error | timeout | running | skipped.
        trigger: schedule | catch_up | manual.
        duration_ms: from the input row to the answer row, milliseconds (0 while running).
        answer: the answer's text, the error's message, or why the run was skipped.
        cost_usd: the run's LLM spend (USD estimate, from llm_logs).
        delivered_to: the answer row's target (none: stored only).
        error_code: the error row's code (timeout, provider_error...) when not ok.
    """

    message_id: str
    fired_at: str
    status: RunStatus
    trigger: str
    duration_ms: float = 0.0
    answer: str = ""
    cost_usd: float = 0.0
    delivered_to: str = ""
    error_code: str = ""
