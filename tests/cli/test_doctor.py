"""``pulsectl doctor`` with the daemon down (static checks only) and up (live checks)."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator

import pytest

from tests.fakes.llm import FakeLLM
from tests.fakes.slack import APP_TOKEN as SLACK_APP_TOKEN
from tests.fakes.slack import BOT_TOKEN as SLACK_BOT_TOKEN
from tests.fakes.slack import FakeSlack
from tests.fakes.telegram import TOKEN as TG_TOKEN
from tests.fakes.telegram import FakeTelegram
from tests.harness import Daemon, fake_llm_config

STATUSES = {"ok", "warn", "fail"}


@pytest.fixture
def stopped() -> Iterator[Daemon]:
    """A daemon's files (config, socket path, data dir) with no daemon running."""
    d = Daemon(fake_llm_config("http://127.0.0.1:9/v1"))
    try:
        yield d
    finally:
        d.cleanup()


def doctor(d: Daemon, *flags: str) -> tuple[int, dict[str, dict[str, str]], str]:
    """Run ``doctor --json FLAGS``: exit code, the results by check name, stderr."""
    out = d.pulsectl("doctor", "--json", *flags)
    rows = json.loads(out.stdout)
    assert isinstance(rows, list)
    for row in rows:
        assert set(row) == {"check", "status", "detail", "fix"}
        assert row["status"] in STATUSES
        if row["status"] != "ok":
            assert row["fix"], row
    return out.returncode, {r["check"]: r for r in rows}, out.stderr


def test_doctor_with_the_daemon_down_runs_the_static_checks(stopped: Daemon) -> None:
    code, by_name, _ = doctor(stopped)
    assert len(by_name) >= 12
    assert by_name["config"]["status"] == "ok"
    assert by_name["provider key"]["status"] == "ok"
    assert by_name["daemon"]["status"] == "warn"
    assert "live checks skipped" in by_name["daemon"]["detail"]
    assert "store" not in by_name  # live only
    for name in ("socket permissions", "data dir", "disk space", "time zone", "lingering"):
        assert name in by_name
    assert code == 0, by_name


def test_a_failing_check_exits_1_and_says_the_fix(stopped: Daemon) -> None:
    stopped.write_config('[agent]\nprovider = "anthropic"\n\n[agnet]\nname = "x"\n')
    code, by_name, err = doctor(stopped)
    assert code == 1 and "failed" in err
    assert by_name["config"]["status"] == "fail"
    assert "agnet" in by_name["config"]["detail"]
    assert by_name["provider key"]["status"] == "fail"
    assert "ANTHROPIC_API_KEY" in by_name["provider key"]["fix"]
    text = stopped.pulsectl("doctor")
    assert text.returncode == 1
    assert "fail  config" in text.stdout and "fix: " in text.stdout


def test_bad_toml_is_a_failure(stopped: Daemon) -> None:
    stopped.config_path.write_text("[agent\n")
    code, by_name, _ = doctor(stopped)
    assert code == 1 and "not valid TOML" in by_name["config"]["detail"]


def test_webhook_port_in_use_fails_with_the_daemon_down(stopped: Daemon) -> None:
    holder = socket.socket()
    holder.bind(("127.0.0.1", 0))
    holder.listen()
    port = holder.getsockname()[1]
    try:
        stopped.write_config(
            fake_llm_config(
                "http://127.0.0.1:9/v1",
                extra=f'[ingest.webhooks]\nlisten = "127.0.0.1:{port}"\n'
                '[ingest.webhooks.routes.gh]\ntoken = "t"\n',
            )
        )
        code, by_name, _ = doctor(stopped)
    finally:
        holder.close()
    assert code == 1
    assert by_name["webhook listener"]["status"] == "fail"
    assert "in use" in by_name["webhook listener"]["detail"]


def test_doctor_with_the_daemon_up_reports_live_checks(daemon: Daemon) -> None:
    code, by_name, _ = doctor(daemon)
    assert by_name["daemon"]["status"] == "ok"
    assert by_name["store"]["status"] == "ok"
    assert by_name["provider"]["status"] == "ok"
    assert by_name["socket permissions"]["status"] == "ok"
    for name in ("channels", "http api", "mcp servers", "skills"):
        assert by_name[name]["status"] in STATUSES
    assert code == 0, by_name


def test_live_provider_problem_and_loose_socket_dir_fail() -> None:
    d = Daemon('[agent]\nprovider = "anthropic"\n')
    try:
        d.start()
        d.socket.parent.chmod(0o755)
        code, by_name, _ = doctor(d)
        assert code == 1
        assert by_name["provider"]["status"] == "fail"
        assert "ANTHROPIC_API_KEY" in by_name["provider"]["detail"]
        assert by_name["socket permissions"]["status"] == "fail"
        assert "chmod 700" in by_name["socket permissions"]["fix"]
    finally:
        d.stop()
        d.cleanup()


def test_network_check_lists_the_models_of_the_endpoint(fake_llm: FakeLLM) -> None:
    d = Daemon(fake_llm_config(fake_llm.url))
    try:
        plain = d.pulsectl("doctor", "--json")
        assert "provider endpoint" not in {r["check"] for r in json.loads(plain.stdout)}
        out = d.pulsectl("doctor", "--network", "--json")
        by_name = {r["check"]: r for r in json.loads(out.stdout)}
        assert by_name["provider endpoint"]["status"] == "ok", by_name["provider endpoint"]
        assert "lists models" in by_name["provider endpoint"]["detail"]
        d.write_config(fake_llm_config("http://127.0.0.1:9/v1"))
        out = d.pulsectl("doctor", "--network", "--json")
        by_name = {r["check"]: r for r in json.loads(out.stdout)}
        assert out.returncode == 1
        assert by_name["provider endpoint"]["status"] == "fail"
        assert "unreachable" in by_name["provider endpoint"]["detail"]
    finally:
        d.cleanup()


def test_network_check_asks_telegram_who_the_bot_is() -> None:
    with FakeTelegram() as tg:
        channel = f'[channels.telegram]\nenabled = true\napi_base_url = "{tg.base_url}"\n'
        d = Daemon(
            fake_llm_config("http://127.0.0.1:9/v1", extra=channel),
            env={"TELEGRAM_BOT_TOKEN": TG_TOKEN},
        )
        try:
            by_name = doctor(d, "--network")[1]
            assert by_name["channel auth"]["status"] == "ok", by_name["channel auth"]
            assert "@pulse_test_bot" in by_name["channel auth"]["detail"]
            d.extra_env["TELEGRAM_BOT_TOKEN"] = "1:wrong"
            code, by_name, _ = doctor(d, "--network")
            assert code == 1
            assert by_name["channel auth"]["status"] == "fail"
            assert "Unauthorized" in by_name["channel auth"]["detail"]
        finally:
            d.cleanup()


def test_network_check_asks_slack_who_the_bot_is() -> None:
    with FakeSlack() as slack:
        channel = f'[channels.slack]\nenabled = true\napi_base_url = "{slack.api_url}"\n'
        d = Daemon(
            fake_llm_config("http://127.0.0.1:9/v1", extra=channel),
            env={"SLACK_BOT_TOKEN": SLACK_BOT_TOKEN, "SLACK_APP_TOKEN": SLACK_APP_TOKEN},
        )
        try:
            by_name = doctor(d, "--network")[1]
            assert by_name["channel auth"]["status"] == "ok", by_name["channel auth"]
            assert by_name["channel auth"]["detail"] == "slack Fake"  # auth.test's team
            assert "auth.test" in slack.calls
            d.extra_env["SLACK_BOT_TOKEN"] = "xoxb-wrong"
            code, by_name, _ = doctor(d, "--network")
            assert code == 1
            assert by_name["channel auth"]["status"] == "fail"
            assert by_name["channel auth"]["detail"] == "slack: invalid_auth"
            assert by_name["channel auth"]["fix"] == (
                "check the token and api_base_url of the channel"
            )
        finally:
            d.cleanup()


def test_doctor_knows_the_daemons_sections_and_providers() -> None:
    """pulsectl cannot import pulsed, so it keeps its own lists: they must agree."""
    import dataclasses

    from pulsectl import doctor_checks
    from pulsectl.commands import init
    from pulsed.config import Config
    from pulsed.config.sections import PROVIDERS
    from pulsed.providers.registry import KEY_VARIABLES

    fields = {f.name for f in dataclasses.fields(Config)} - {"source"}
    assert set(doctor_checks.SECTIONS) == fields
    assert doctor_checks.PROVIDERS == PROVIDERS == init.PROVIDERS
    assert {p: v[0] for p, v in doctor_checks.KEY_VARIABLES.items()} == KEY_VARIABLES


def test_unknown_keys_inside_known_sections_are_named_with_their_section(
    stopped: Daemon,
) -> None:
    text = fake_llm_config(
        "http://127.0.0.1:9/v1",
        extra='[tools.policy]\nshell = "ask"\n[mcp.servers.time]\ncomand = "mcp-server-time"\n',
    )
    stopped.write_config(text.replace('model = "fake-model"', 'modle = "fake-model"'))
    code, by_name, _ = doctor(stopped)
    assert code == 1
    detail = by_name["config"]["detail"]
    assert "[agent] modle: unknown key; did you mean model?" in detail
    assert "[mcp.servers.time] comand: unknown key; did you mean command?" in detail
    assert "policy" not in detail  # [tools.policy] is free-form: any tool name goes
    assert "rename or remove" in by_name["config"]["fix"]


def test_the_known_keys_are_generated_from_the_daemons_config() -> None:
    """pulsectl's table of config keys (pulsectl/config_keys.py) is what
    scripts/gen_config_keys.py makes from pulsed.config now: a key added to the daemon
    without regenerating the table fails here."""
    import importlib.util

    from tests.harness import ROOT

    spec = importlib.util.spec_from_file_location(
        "gen_config_keys", ROOT / "scripts" / "gen_config_keys.py"
    )
    assert spec and spec.loader
    gen = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(gen)
    committed = (ROOT / "pulsectl" / "config_keys.py").read_text(encoding="utf-8")
    assert gen.render() == committed, "run: make config-keys, and commit"


def test_a_key_the_daemon_grows_is_known_to_doctor(monkeypatch: pytest.MonkeyPatch) -> None:
    """The generator follows the daemon's dataclasses: a new field shows up in its table."""
    import dataclasses
    import importlib.util

    from pulsed.config import sections
    from tests.harness import ROOT

    spec = importlib.util.spec_from_file_location(
        "gen_config_keys", ROOT / "scripts" / "gen_config_keys.py"
    )
    assert spec and spec.loader
    gen = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(gen)
    grown = dataclasses.make_dataclass(
        "AgentConfig",
        [("brand_new_key", int, dataclasses.field(default=0))],
        bases=(sections.AgentConfig,),
    )
    found: dict[str, tuple[str, ...]] = {}
    gen.tables(grown, "agent", found)
    assert "brand_new_key" in found["agent"]
