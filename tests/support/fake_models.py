"""Fake models for tests of the adapters' scoring core, and a handler that computes outputs from inputs.

The handler's outputs are a pure function of each row (sum of the features), so tests can check that every
result row belongs to its own input row, whatever the splitting and bisection did.
"""

from __future__ import annotations

import numpy as np

from gateway.errors import InvalidInput
from gateway.types import InferRequest, InferResponse, Tensor, TensorFields, TensorSpec
from tests.fakes import FakeModel

POISON = -999.0  # a feature value the fake model refuses with InvalidInput, like a server-side check would
SHA = "ab" * 32

CLASSIFIER = FakeModel(
    name="classifier",
    inputs=(TensorSpec("features", "FP32", (-1, 2)),),
    outputs=(TensorSpec("probabilities", "FP32", (-1, 2)), TensorSpec("label", "INT64", (-1,))),
    input_fields=(TensorFields("features", ("mean_radius", "mean_texture")),),
    output_fields=(
        TensorFields("probabilities", ("p_benign", "p_malignant")),
        TensorFields("label", ("label",), columns=False),
    ),
    max_batch_size=8,
    sha256=SHA,
)


def classify(request: InferRequest) -> InferResponse:
    """sum of the row's features -> probabilities [sum, -sum], label sum > 1; POISON rows are refused."""
    features = request.inputs[0].data
    if (features == POISON).any():
        raise InvalidInput("input 'features': value -999 is not allowed")
    total = features.sum(axis=1)
    outputs = [
        Tensor("probabilities", "FP32", np.column_stack([total, -total]).astype(np.float32)),
        Tensor("label", "INT64", (total > 1).astype(np.int64)),
    ]
    wanted = request.outputs
    return InferResponse(
        model_name=request.model_name,
        model_version="1",
        outputs=[t for t in outputs if wanted is None or t.name in wanted],
        model_sha256=SHA,
    )
