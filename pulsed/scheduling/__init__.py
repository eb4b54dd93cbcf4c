"""Scheduled tasks, run by the daemon itself so every store backend behaves the same.

``spec`` parses schedule specs (cron, every, at, in) and computes their runs through DST
changes; ``book`` keeps task definitions as versions in the tasks stream and reads their
runs back from the rows they left; ``runner`` is the ``Scheduler`` loop that fires each
task at its time (no overlap, timeouts, back-off, catch-up, one-shot retirement);
``presets`` holds the ready-made tasks; ``reminders`` gives the agent's reminder tools
their port (``pulsed.tools.ports.Reminders``) over the book.
"""
