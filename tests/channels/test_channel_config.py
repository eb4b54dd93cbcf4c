"""[channels.telegram] and [channels.slack]: typed, validated, tokens from the environment."""

from __future__ import annotations

from pathlib import Path

import pytest

from pulsed import config
from pulsed.errors import ConfigError


def load(tmp_path: Path, text: str, env: dict[str, str] | None = None) -> config.Config:
    path = tmp_path / "config.toml"
    path.write_text(text)
    return config.load(path, env or {})


def test_defaults_are_disabled_and_deny_everyone(tmp_path: Path) -> None:
    cfg = load(tmp_path, "")
    assert not cfg.channels.telegram.enabled and not cfg.channels.slack.enabled
    assert cfg.channels.telegram.allow_from == []
    assert cfg.channels.telegram.api_base_url == "https://api.telegram.org/bot"
    assert cfg.channels.slack.api_base_url == "https://slack.com/api/"


def test_ids_become_strings_and_tokens_come_from_the_environment(tmp_path: Path) -> None:
    cfg = load(
        tmp_path,
        '[channels.telegram]\nenabled = true\nallow_from = [123, "456"]\n'
        '[channels.slack]\nenabled = true\nallow_from = ["U1"]\n',
        {"TELEGRAM_BOT_TOKEN": "t", "SLACK_BOT_TOKEN": "b", "SLACK_APP_TOKEN": "a"},
    )
    assert cfg.channels.telegram.allow_from == ["123", "456"]
    assert cfg.channels.telegram.token == "t"
    assert (cfg.channels.slack.bot_token, cfg.channels.slack.app_token) == ("b", "a")


def test_config_token_wins_over_the_environment(tmp_path: Path) -> None:
    cfg = load(tmp_path, '[channels.telegram]\ntoken = "mine"\n', {"TELEGRAM_BOT_TOKEN": "env"})
    assert cfg.channels.telegram.token == "mine"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[channels.telegram]\nenabled = true\n", "TELEGRAM_BOT_TOKEN"),
        ('[channels.slack]\nenabled = true\nbot_token = "b"\n', "SLACK_APP_TOKEN"),
        ("[channels.telgram]\nenabled = true\n", "did you mean telegram"),
        ("[channels.telegram]\nallow_from = [true]\n", "allow_from[0]"),
        ('[channels.telegram]\napi_base_url = "ftp://x"\n', "api_base_url"),
        ("[channels.slack]\nretry_attempts = 0\n", "retry_attempts"),
        ("[channels.telegram]\nalow_from = []\n", "did you mean allow_from"),
    ],
)
def test_bad_values_name_the_key(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(ConfigError) as err:
        load(tmp_path, text)
    assert message in err.value.message


def test_env_override_of_allow_from(tmp_path: Path) -> None:
    cfg = load(tmp_path, "", {"PULSE_CHANNELS__TELEGRAM__ALLOW_FROM": "1, 2"})
    assert cfg.channels.telegram.allow_from == ["1", "2"]
