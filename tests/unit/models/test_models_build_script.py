"""models/build.py rebuilds the committed repository reproducibly and its --check catches drift."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.models import MODELS_DIR

BUILD = MODELS_DIR / "build.py"


def run_build(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(BUILD), *args], capture_output=True, text=True, timeout=240, check=False
    )


@pytest.mark.slow
def test_check_passes_on_the_committed_models() -> None:
    done = run_build("--check")
    assert done.returncode == 0, done.stderr
    assert "predict the same" in done.stdout


@pytest.mark.slow
def test_check_names_a_model_whose_predictions_drifted(tmp_path: Path) -> None:
    repository = tmp_path / "models"
    shutil.copytree(MODELS_DIR, repository, ignore=shutil.ignore_patterns("__pycache__"))
    # version 2 in version 1's place: same signature, different predictions
    shutil.copy(
        repository / "breast-cancer" / "2" / "model.onnx", repository / "breast-cancer" / "1" / "model.onnx"
    )
    (repository / "samples" / "diabetes-patients.csv").write_text("patient_id\n", encoding="utf-8")
    done = run_build("--check", "--out", str(repository))
    assert done.returncode == 1
    assert "breast-cancer/1/model.onnx: probabilities differs" in done.stderr
    assert "diabetes-patients.csv: differs from a fresh build" in done.stderr
    assert "breast-cancer/2/model.onnx" not in done.stderr
