"""Generate the pulse.v1 Python modules from proto/pulse/v1/*.proto.

Usage: python scripts/gen_proto.py [OUT_DIR]   (default: proto/, in place)

The tests call this with a temporary OUT_DIR and compare the result with the committed
files, so stale generated code fails the build.
"""

from __future__ import annotations

import sys
from importlib import resources
from pathlib import Path

from grpc_tools import protoc

ROOT = Path(__file__).resolve().parent.parent
PROTO_ROOT = ROOT / "proto"


def sources() -> list[Path]:
    """The .proto files, sorted, relative to ``PROTO_ROOT``."""
    return sorted(p.relative_to(PROTO_ROOT) for p in (PROTO_ROOT / "pulse" / "v1").glob("*.proto"))


def generate(out_dir: Path) -> None:
    """Run protoc (from grpcio-tools) writing ``_pb2.py`` and ``_pb2_grpc.py``, with typed
    stubs ``_pb2.pyi`` and ``_pb2_grpc.pyi`` from mypy-protobuf's plugins (installed beside
    this interpreter by the dev extras).

    Raises:
        RuntimeError: protoc reported an error.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    include = str(resources.files("grpc_tools") / "_proto")
    bindir = Path(sys.executable).parent
    args = [
        "grpc_tools.protoc",
        f"-I{PROTO_ROOT}",
        f"-I{include}",
        f"--python_out={out_dir}",
        f"--grpc_python_out={out_dir}",
        f"--plugin=protoc-gen-mypy={bindir / 'protoc-gen-mypy'}",
        f"--plugin=protoc-gen-mypy_grpc={bindir / 'protoc-gen-mypy_grpc'}",
        f"--mypy_out={out_dir}",
        f"--mypy_grpc_out={out_dir}",
        *[str(p) for p in sources()],
    ]
    if protoc.main(args) != 0:
        raise RuntimeError("protoc failed: " + " ".join(args))


if __name__ == "__main__":
    generate(Path(sys.argv[1]) if len(sys.argv) > 1 else PROTO_ROOT)
