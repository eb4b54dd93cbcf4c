"""Startup failures end with one clear line, no traceback (issue 17, item 12)."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from tests.harness import ROOT, Daemon


def run(env: dict[str, str], *argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", *argv],
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
        cwd=ROOT,
    )


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to give a folder to another user")
@pytest.mark.skipif(
    os.path.exists(f"/run/user/{os.geteuid()}"), reason="platformdirs would use /run/user/<uid>"
)
def test_runtime_dir_owned_by_another_user_is_one_clear_line(tmp_path: Path) -> None:
    d = Daemon("")
    try:
        runtime = tmp_path / f"runtime-{os.geteuid()}"
        runtime.mkdir(mode=0o700)
        os.chown(runtime, 65534, 65534)
        env = {k: v for k, v in d.env.items() if k not in ("PULSE_SOCKET", "XDG_RUNTIME_DIR")}
        env["TMPDIR"] = str(tmp_path)
        for argv, code in (
            (("pulsed",), 2),
            (("pulsectl", "--no-start", "status"), 1),
            (("pulsectl", "status"), 1),
        ):
            out = run(env, *argv)
            assert out.returncode == code, (argv, out.stderr)
            err = out.stderr.strip()
            assert "Traceback" not in err and "PermissionError" not in err, (argv, err)
            assert len(err.splitlines()) == 1, (argv, err)
            assert f"{runtime} is owned by uid 65534" in err, (argv, err)
            assert "set XDG_RUNTIME_DIR" in err and "PULSE_SOCKET" in err, (argv, err)
            assert "[server] socket" in err, (argv, err)
    finally:
        d.cleanup()


def corrupt_table(db: Path, table: str) -> None:
    """Overwrite the root page of ``table``: the store opens, writes to it fail."""
    con = sqlite3.connect(db)
    try:
        page_size = con.execute("PRAGMA page_size").fetchone()[0]
        (root,) = con.execute(
            "SELECT rootpage FROM sqlite_master WHERE type = 'table' AND name = ?", (table,)
        ).fetchone()
    finally:
        con.close()
    with open(db, "r+b") as f:
        f.seek((root - 1) * page_size)
        f.write(b"\xff" * page_size)


def test_corrupt_database_fails_with_only_the_clear_error() -> None:
    """Before: "Exception ignored in Server.__del__ … Event loop is closed" followed it."""
    d = Daemon("")
    try:
        d.start()
        d.stop()
        corrupt_table(d.data_dir / "pulse.db", "events")
        out = run(d.env, "pulsed")
        assert out.returncode == 1, out.stderr
        assert "database disk image is malformed" in out.stderr
        assert "Exception ignored" not in out.stderr
        assert "Traceback" not in out.stderr and "never awaited" not in out.stderr
        assert not d.socket.exists()
    finally:
        d.cleanup()


def test_garbage_database_fails_with_only_the_clear_error() -> None:
    d = Daemon("")
    try:
        d.data_dir.mkdir(parents=True)
        (d.data_dir / "pulse.db").write_bytes(b"not a database, garbage \x00\xff" * 400)
        out = run(d.env, "pulsed")
        assert out.returncode == 1, out.stderr
        assert "file is not a database" in out.stderr
        assert "Exception ignored" not in out.stderr and "Traceback" not in out.stderr
    finally:
        d.cleanup()
