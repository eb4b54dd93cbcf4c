"""``pulsectl init``: a first-run dialog (or flags) that writes ``config.toml`` (0600) and
templates of ``SOUL.md`` and ``USER.md`` beside it.

The API key is written as ``${VAR}``, which the daemon expands from its environment when
it loads the file; a key typed at the prompt is written as is, with a warning.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
from dataclasses import dataclass
from pathlib import Path

from pulse import paths

from pulsectl import diagnostics
from pulsectl.diagnostics import EXIT_OK, CliError, UsageError
from pulsectl.output import Output

PROVIDERS = ("anthropic", "openai", "openrouter", "ollama", "openai-compatible")
KEY_ENV = {
    "anthropic": "ANTHROPIC_API_KEY",
    "openai": "OPENAI_API_KEY",
    "openrouter": "OPENROUTER_API_KEY",
    "openai-compatible": "",
    "ollama": "",
}
"""The usual key variable of each provider ('' when it needs none)."""
_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_TYPED_ENV_NAME = re.compile(r"[A-Z_][A-Z0-9_]*")
"""At the prompt, an answer in upper case is a variable's name; anything else is a key."""

SOUL_TEMPLATE = """\
# Soul

Who the agent is. Pulse puts this file in the agent's prompt; edit it freely.

- Be direct and brief; say when you are unsure.
- Ask before doing anything that cannot be undone.
"""

USER_TEMPLATE = """\
# User

What the agent should know about you: name, time zone, work, preferences.

- Name:
- Time zone:
- Preferences:
"""


@dataclass
class Answers:
    """What goes into the config: provider, model, endpoint, where the key comes from
    (a variable name, or the key itself when typed), workspace and Telegram's variable."""

    provider: str = "anthropic"
    model: str = ""
    base_url: str = ""
    key_env: str = ""
    key: str = ""
    workspace: str = "~/pulse-workspace"
    telegram_token_env: str = ""


def _toml_str(value: str) -> str:
    return json.dumps(value)  # a JSON string is a valid TOML basic string


def render_config(a: Answers) -> str:
    """The config.toml text for ``a`` (only the keys that differ from the defaults, plus
    the provider, workspace and, when asked for, Telegram)."""
    lines = ["# Pulse config; every key is described in the README.", "", "[agent]"]
    lines.append(f"provider = {_toml_str(a.provider)}")
    if a.model:
        lines.append(f"model = {_toml_str(a.model)}")
    provider = []
    if a.key:
        provider.append(f"api_key = {_toml_str(a.key)}")
    elif a.key_env:
        provider.append(f"api_key = {_toml_str('${' + a.key_env + '}')}")
    if a.base_url:
        provider.append(f"base_url = {_toml_str(a.base_url)}")
    if provider:
        lines += ["", f'[providers."{a.provider}"]', *provider]
    lines += ["", "[tools]", f"workspace = {_toml_str(a.workspace)}"]
    if a.telegram_token_env:
        lines += [
            "",
            "[channels.telegram]",
            "enabled = true",
            f"token = {_toml_str('${' + a.telegram_token_env + '}')}",
            "# allow_from = [123456789]  # your Telegram user id",
        ]
    return "\n".join(lines) + "\n"


def _check_env_name(flag: str, name: str) -> None:
    if name and not _ENV_NAME.fullmatch(name):
        raise UsageError(f"{flag}: {name!r} is not an environment variable name")


def from_flags(args: argparse.Namespace) -> Answers:
    """Answers from the flags of ``--non-interactive``.

    Raises:
        UsageError: a flag is missing or malformed.
    """
    if not args.provider:
        raise UsageError("--non-interactive needs --provider", f"one of {', '.join(PROVIDERS)}")
    a = Answers(provider=args.provider, model=args.model, base_url=args.base_url)
    a.key_env = args.key_env or KEY_ENV[a.provider]
    a.workspace = args.workspace or a.workspace
    a.telegram_token_env = args.telegram_token_env
    _validate(a)
    return a


def _validate(a: Answers) -> None:
    _check_env_name("--key-env", a.key_env)
    _check_env_name("--telegram-token-env", a.telegram_token_env)
    if a.provider == "openai-compatible":
        if not a.base_url:
            raise UsageError("openai-compatible needs --base-url", "e.g. http://127.0.0.1:8000/v1")
        if not a.model:
            raise UsageError("openai-compatible needs --model", "the model id the server serves")
    if a.base_url and not a.base_url.startswith(("http://", "https://")):
        raise UsageError(f"--base-url: {a.base_url!r} is not an http(s) URL")


def _ask(prompt: str, default: str = "") -> str:
    shown = f"{prompt} [{default}]: " if default else f"{prompt}: "
    sys.stderr.write(shown)
    sys.stderr.flush()
    line = sys.stdin.readline()
    if not line:
        raise CliError("no answer (end of input)", "use --non-interactive with flags in scripts")
    return line.strip() or default


def from_dialog(args: argparse.Namespace) -> Answers:
    """Answers asked on stderr, read from stdin; flags given fill the defaults."""
    a = Answers()
    while True:
        a.provider = _ask(f"provider ({', '.join(PROVIDERS)})", args.provider or "anthropic")
        if a.provider in PROVIDERS:
            break
        diagnostics.warn(f"{a.provider!r} is not one of {', '.join(PROVIDERS)}")
    if a.provider == "openai-compatible":
        a.base_url = _ask("base URL of the server (http://host:port/v1)", args.base_url)
    a.model = _ask("model (empty: the provider's default)", args.model)
    if a.provider != "ollama":
        default = args.key_env or KEY_ENV[a.provider]
        answer = _ask("environment variable holding the API key (or paste the key itself)", default)
        if _TYPED_ENV_NAME.fullmatch(answer):
            a.key_env = answer
        else:
            a.key = answer
            diagnostics.warn(
                "the key itself goes into config.toml (0600); an environment variable is "
                "safer: put it in ~/.config/pulse/env and answer its name"
            )
    a.workspace = _ask(
        "workspace folder the agent's file tools may use", args.workspace or a.workspace
    )
    a.telegram_token_env = _ask(
        "Telegram bot token variable (empty: no Telegram)", args.telegram_token_env
    )
    _validate(a)
    return a


def _write_private(path: Path, text: str, *, force: bool) -> None:
    """Write ``text`` to ``path`` with mode 0600 (an existing file only with ``force``).

    Raises:
        CliError: it exists and ``force`` is not set, or it cannot be written.
    """
    flags = os.O_WRONLY | os.O_CREAT | (os.O_TRUNC if force else os.O_EXCL)
    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(path, flags, 0o600)
    except FileExistsError:
        raise CliError(f"{path} exists", "keep it, or overwrite it with --force") from None
    except OSError as err:
        raise CliError(f"cannot write {path}: {err.strerror}") from None
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(text)
    os.chmod(path, 0o600)


def cmd_init(args: argparse.Namespace, out: Output) -> int:
    """``init``: write config.toml and the SOUL.md/USER.md templates; ``--json`` prints
    ``{config, written, kept}``."""
    path = Path(args.config).expanduser() if args.config else paths.config_path()
    if path.exists() and not args.force:
        raise CliError(f"{path} exists", "keep it, or overwrite it with --force")
    answers = from_flags(args) if args.non_interactive else from_dialog(args)
    _write_private(path, render_config(answers), force=args.force)
    written, kept = [str(path)], []
    for name, text in (("SOUL.md", SOUL_TEMPLATE), ("USER.md", USER_TEMPLATE)):
        target = path.parent / name
        if target.exists():
            kept.append(str(target))
            continue
        target.write_text(text, encoding="utf-8")
        written.append(str(target))
    if answers.key_env and not os.environ.get(answers.key_env):
        diagnostics.warn(
            f"${answers.key_env} is not set here; the daemon needs it in its environment"
        )
    if path != paths.config_path():
        diagnostics.note(
            f"the daemon reads {paths.config_path()}; to use this file: export PULSE_CONFIG={path}"
        )
    if args.json:
        out.json_doc({"config": str(path), "written": written, "kept": kept})
    else:
        for w in written:
            out.line(f"wrote {w}")
        for k in kept:
            out.line(f"kept  {k}")
        out.line("next: pulsectl doctor")
    return EXIT_OK
