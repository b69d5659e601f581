"""Files pipelines end to end: real ``bridgeway score`` / ``bridgeway run`` processes on real files.

Expected scores come from onnxruntime run directly on the committed example model, so a test checks what
the pipeline computed, not just that it wrote something.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from tests.support.gateway_process import GatewayProcess, gateway_process
from tests.support.models import MODELS_DIR, load_model_yaml, normalise_field, open_session

SAMPLES = MODELS_DIR / "samples"


@pytest.fixture(scope="session")
def serve_gateway() -> Iterator[GatewayProcess]:
    """A real ``bridgeway serve`` over the committed example models."""
    with gateway_process(MODELS_DIR) as process:
        yield process


def expected_claims(path: Path = SAMPLES / "breast-cancer-claims.csv") -> dict[str, tuple[int, float]]:
    """claim_id -> (label, p_malignant) from the default breast-cancer version, run directly."""
    with path.open(newline="", encoding="utf-8") as handle:
        header, *rows = list(csv.reader(handle))
    position = {normalise_field(name): i for i, name in enumerate(header)}
    fields = load_model_yaml("breast-cancer")["inputs"]["features"]["fields"]
    features = np.array([[float(row[position[f]]) for f in fields] for row in rows], dtype=np.float32)
    version = max(int(p.name) for p in (MODELS_DIR / "breast-cancer").iterdir() if p.name.isdigit())
    session = open_session(MODELS_DIR / "breast-cancer" / str(version) / "model.onnx")
    label, probabilities = session.run(["label", "probabilities"], {"features": features})
    return {row[0]: (int(label[i]), float(probabilities[i, 1])) for i, row in enumerate(rows)}
