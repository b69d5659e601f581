"""The committed protos/_generated is exactly what protos/generate.py produces from the .proto sources.

This is how hand edits to generated code, or a .proto changed without regenerating, are caught.
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("grpc_tools", reason="the dev extra (grpcio-tools) is needed to regenerate")
pytest.importorskip("mypy_protobuf", reason="the dev extra (mypy-protobuf) is needed to regenerate")

_spec = importlib.util.find_spec("protos")
assert _spec is not None and _spec.submodule_search_locations
COMMITTED = Path(next(iter(_spec.submodule_search_locations))) / "_generated"


@pytest.fixture(scope="module")
def regenerated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Run the generator's command line into a scratch directory seeded with a stale and a foreign file."""
    out = tmp_path_factory.mktemp("generated")
    (out / "removed_service_pb2.py").write_text("# stale output of a deleted .proto\n")
    (out / "notes.txt").write_text("not generated\n")
    result = subprocess.run(
        [sys.executable, "-m", "protos.generate", str(out)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    return out


def test_regenerating_produces_byte_identical_files(regenerated: Path) -> None:
    committed = {p.name: p.read_bytes() for p in COMMITTED.iterdir() if p.is_file()}
    produced = {p.name: p.read_bytes() for p in regenerated.iterdir() if p.name != "notes.txt"}
    assert sorted(produced) == sorted(committed)
    differing = [name for name in committed if produced[name] != committed[name]]
    assert differing == [], f"regenerate with `python -m protos.generate`; differs: {differing}"


def test_generated_modules_import_siblings_through_the_package(regenerated: Path) -> None:
    text = (regenerated / "grpc_service_pb2.py").read_text()
    assert "from protos._generated import model_config_pb2 as model__config__pb2" in text
    assert "\nimport model_config_pb2" not in text


def test_regenerating_removes_stale_generated_files_and_keeps_others(regenerated: Path) -> None:
    assert not (regenerated / "removed_service_pb2.py").exists()
    assert (regenerated / "notes.txt").read_text() == "not generated\n"
