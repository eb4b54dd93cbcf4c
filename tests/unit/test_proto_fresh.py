"""The committed pulse.v1 modules match what `make proto` generates from the .proto files."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
GENERATED = ROOT / "proto" / "pulse" / "v1"


def load_generator():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location("gen_proto", ROOT / "scripts" / "gen_proto.py")
    assert spec and spec.loader
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_generated_code_is_fresh(tmp_path: Path) -> None:
    pytest.importorskip(
        "grpc_tools", reason="grpcio-tools is a dev dependency; make install brings it"
    )
    gen = load_generator()
    gen.generate(tmp_path)
    fresh = sorted(
        p.relative_to(tmp_path / "pulse" / "v1") for p in (tmp_path / "pulse" / "v1").iterdir()
    )
    committed = sorted(
        p.relative_to(GENERATED)
        for p in GENERATED.iterdir()
        if p.name.endswith(("_pb2.py", "_pb2.pyi", "_pb2_grpc.py", "_pb2_grpc.pyi"))
    )
    assert fresh == committed, "generated files differ in name: run `make proto` and commit"
    stale = [
        str(p)
        for p in fresh
        if (tmp_path / "pulse" / "v1" / p).read_bytes() != (GENERATED / p).read_bytes()
    ]
    assert not stale, f"stale generated code (run `make proto` and commit): {stale}"


def test_generated_matches_pinned_runtime() -> None:
    import google.protobuf
    import grpc

    text = (GENERATED / "chat_pb2_grpc.py").read_text()
    assert f"GRPC_GENERATED_VERSION = '{grpc.__version__}'" in text
    assert google.protobuf.__version__.split(".")[0] in (GENERATED / "chat_pb2.py").read_text()
    assert sys.modules["grpc"] is grpc
