"""pulsectl: the scriptable command line of Pulse, a client of pulsed over gRPC.

It imports only grpc, the ``pulse`` contract package, its own client library and the
standard library; never the daemon (``pulsed``) nor textual.

Modules:
    cli          the entry point: ``main(argv) -> exit code``.
    args         the argparse tree (``build_parser``); args_tasks its tasks and ingest
                 groups; argtree what they share (global flags, ``Commands``, ``Lazy``).
    argtypes     the types of its argument values (durations, times, filters, amounts).
    commands/    one module per command group (status, chat, sessions, streams, costs,
                 tasks, channels, store, service), each ``cmd_*(args, out) -> int``;
                 ``commands.client(args)`` is the one way a command connects.
    chat         the chat turn runner and the interactive prompt.
    output       stdout: the ``Output`` writer of a run and the pure ``render_*``
                 formatting.
    diagnostics  stderr: notes, warnings, errors, prompts, the CLI's errors
                 (``CliError`` and subclasses) and the exit codes.
    service      the systemd user unit: render, install, uninstall, inspect.
    client/      the shared client library (also pulsetui's): see its docstring.
"""
