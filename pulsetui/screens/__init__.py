"""The console's views, one top-level screen per module, each a Textual mode.

Modules:
    base     ``PulseScreen``: what every view is given (the daemon connection).
    chat     ``ChatScreen`` (F1): sessions, streaming answers, tool calls.
    streams  ``StreamsScreen`` (F2): tail any stream live, filter it, open rows.
    tasks    ``TasksScreen`` (F3): scheduled tasks, their runs and answers.
    costs    ``CostsScreen`` (F4): spend, tokens and latency; the daily budget.
    events   ``EventsScreen`` (F5): the daemon's events, coloured by severity.

Views never import each other; the dialogs they open live in ``pulsetui.dialogs``.
"""
