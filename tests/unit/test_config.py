"""Config loading: defaults, TOML, ${VAR} expansion, env overrides, clear errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from pulsed import config
from pulsed.errors import ConfigError


def write(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "config.toml"
    p.write_text(text)
    return p


def test_missing_file_gives_defaults(tmp_path: Path) -> None:
    cfg = config.load(tmp_path / "absent.toml", env={})
    assert cfg.agent.provider == "anthropic"
    assert cfg.agent.max_iterations == 10
    assert cfg.budget.daily_usd == 5.0
    assert cfg.source == ""


def test_file_values_and_var_expansion(tmp_path: Path) -> None:
    p = write(
        tmp_path,
        """
[agent]
provider = "openai"
model = "gpt-4o-mini"
fallback = ["anthropic:claude-haiku-4-5"]
[providers.openai]
api_key = "${MY_KEY}"
base_url = "http://127.0.0.1:${PORT}/v1"
[tools.policy]
write_file = "deny"
""",
    )
    cfg = config.load(p, env={"MY_KEY": "sk-123", "PORT": "9999"})
    assert cfg.agent.provider == "openai"
    assert cfg.provider("openai").api_key == "sk-123"
    assert cfg.provider("openai").base_url == "http://127.0.0.1:9999/v1"
    assert cfg.tools.policy == {"write_file": "deny"}
    assert cfg.source == str(p)


def test_unset_var_expands_to_empty(tmp_path: Path) -> None:
    p = write(tmp_path, '[providers.openai]\napi_key = "${NOPE}"\n')
    assert config.load(p, env={}).provider("openai").api_key == ""


def test_env_overrides_file(tmp_path: Path) -> None:
    p = write(tmp_path, "[agent]\nmax_iterations = 3\n")
    cfg = config.load(p, env={"PULSE_AGENT__MAX_ITERATIONS": "7", "PULSE_BUDGET__DAILY_USD": "2.5"})
    assert cfg.agent.max_iterations == 7
    assert cfg.budget.daily_usd == 2.5


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        (
            '[agent]\nmax_iterations = "ten"\n',
            'agent.max_iterations: expected an integer, got "ten"',
        ),
        ("[agent]\nmodle = 'x'\n", "agent.modle: unknown key (did you mean model?)"),
        ('[agent]\nprovider = "gemini"\n', 'agent.provider: "gemini" is not one of'),
        (
            '[tools.policy]\nshell = "maybe"\n',
            'tools.policy.shell: "maybe" is not one of allow, ask, deny',
        ),
        ("[budget]\ndaily_usd = -1\n", "budget.daily_usd"),
        ("[budget]\nmonthly_usd = -1\n", "budget.monthly_usd"),
        ("[budget]\nmonthly_usd = nan\n", "budget.monthly_usd"),
        ("[agent\n", "not valid TOML"),
        ('[store]\nbackend = "postgres"\n', "store.backend"),
        ('[agent]\nfallback = ["nope:model"]\n', "agent.fallback[0]"),
    ],
)
def test_bad_values_name_the_key(tmp_path: Path, text: str, needle: str) -> None:
    p = write(tmp_path, text)
    with pytest.raises(ConfigError) as ei:
        config.load(p, env={})
    assert needle in ei.value.message


def test_bad_env_override_names_the_key(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="agent.max_concurrent_turns: expected an integer"):
        config.load(tmp_path / "none.toml", env={"PULSE_AGENT__MAX_CONCURRENT_TURNS": "lots"})


def test_paths_follow_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PULSE_SOCKET", str(tmp_path / "x.sock"))
    monkeypatch.setenv("PULSE_DATA_DIR", str(tmp_path / "d"))
    p = write(tmp_path, f'[server]\nsocket = "{tmp_path}/cfg.sock"\n')
    cfg = config.load(p, env={})
    assert cfg.socket_path == tmp_path / "x.sock"  # env beats the file
    assert cfg.data_path == tmp_path / "d"
    monkeypatch.delenv("PULSE_SOCKET")
    assert cfg.socket_path == tmp_path / "cfg.sock"
