"""Paths and small helpers for tests that read the committed example model repository in ``models/``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import onnxruntime as ort
import yaml

__all__ = ["MODELS_DIR", "REPO_ROOT", "load_model_yaml", "normalise_field", "open_session"]

REPO_ROOT = Path(__file__).resolve().parents[2]
MODELS_DIR = REPO_ROOT / "models"


def normalise_field(name: str) -> str:
    """A field name as the design matches it: case-insensitive, with ``-`` and ``_`` alike."""
    return name.strip().lower().replace("-", "_")


def load_model_yaml(name: str) -> dict[str, Any]:
    """The plain YAML document of ``models/<name>/model.yaml``."""
    document = yaml.safe_load((MODELS_DIR / name / "model.yaml").read_text(encoding="utf-8"))
    assert isinstance(document, dict), f"{name}/model.yaml is not a mapping"
    return document


def open_session(path: Path) -> ort.InferenceSession:
    """An onnxruntime session on the CPU for one model file."""
    return ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
