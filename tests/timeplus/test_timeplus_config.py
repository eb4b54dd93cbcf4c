"""[store.timeplus]: typed, validated, and what the factory builds from it."""

from __future__ import annotations

from pathlib import Path

import pytest

from pulsed import config
from pulsed.errors import ConfigError
from pulsed.store.factory import make_store
from pulsed.store.timeplus import TimeplusStore


def load(tmp_path: Path, text: str, env: dict[str, str] | None = None) -> config.Config:
    path = tmp_path / "config.toml"
    path.write_text(text)
    return config.load(path, env=env or {})


def test_timeplus_config_defaults_and_environment(tmp_path: Path) -> None:
    cfg = load(
        tmp_path,
        '[store]\nbackend = "timeplus"\n[store.timeplus]\npassword = "${TP_PASS}"\n'
        'database = "pulse"\nstream_prefix = "pulse_"\nttl_days = 30\n',
        {"TP_PASS": "s3cret", "PULSE_STORE__TIMEPLUS__HOST": "tp.lan"},
    )
    tp = cfg.store.timeplus
    assert (tp.host, tp.batch_port, tp.stream_port, tp.user) == ("tp.lan", 8123, 3218, "default")
    assert (tp.password, tp.database, tp.stream_prefix, tp.ttl_days) == (
        "s3cret",
        "pulse",
        "pulse_",
        30,
    )
    assert tp.logstore_retention_ms == 86_400_000 and tp.secure is False
    store = make_store(cfg)
    assert isinstance(store, TimeplusStore) and store.backend == "timeplus"
    assert store.where == "http://tp.lan:8123, database pulse"
    assert store.names.of("messages") == "`pulse`.`pulse_messages`"


@pytest.mark.parametrize(
    ("table", "says"),
    [
        ("batch_port = 0", "store.timeplus.batch_port"),
        ("stream_port = 70000", "store.timeplus.stream_port"),
        ('database = "my-db"', "store.timeplus.database"),
        ('database = "a; DROP"', "store.timeplus.database"),
        ('stream_prefix = "p-"', "store.timeplus.stream_prefix"),
        ("logstore_retention_ms = 10", "store.timeplus.logstore_retention_ms"),
        ("ttl_days = -1", "store.timeplus.ttl_days"),
        ("query_timeout_s = 0", "store.timeplus"),
        ("spool_max_rows = 0", "store.timeplus.spool_max_rows"),
        ('host = ""', "store.timeplus.host"),
        ('secure = "maybe"', "store.timeplus.secure"),
        ('hostname = "x"', "did you mean host"),
    ],
)
def test_timeplus_config_refuses_bad_values(tmp_path: Path, table: str, says: str) -> None:
    with pytest.raises(ConfigError, match=says):
        load(tmp_path, f"[store.timeplus]\n{table}\n")
