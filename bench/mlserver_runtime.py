"""A small onnxruntime runtime for Seldon MLServer: bench/gateway.py's optional comparison.

It runs inside MLServer's own virtualenv (``--mlserver-python``), not the project's. Session settings as
the gateway's and the bare server's defaults for a one-model server: intra-op threads = the cores, one
inter-op thread, spinning off.
"""

from __future__ import annotations

import os

import onnxruntime as ort
from mlserver import MLModel
from mlserver.codecs import NumpyCodec
from mlserver.types import InferenceRequest, InferenceResponse


class OnnxRuntimeModel(MLModel):
    """Decodes every input with NumpyCodec, runs the session, encodes every output."""

    async def load(self) -> bool:
        opts = ort.SessionOptions()
        opts.intra_op_num_threads, opts.inter_op_num_threads = os.cpu_count() or 1, 1
        opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
        opts.add_session_config_entry("session.inter_op.allow_spinning", "0")
        uri = str(self.settings.parameters.uri)
        self._session = ort.InferenceSession(uri, opts, providers=["CPUExecutionProvider"])
        self._outputs = [o.name for o in self._session.get_outputs()]
        return True

    async def predict(self, payload: InferenceRequest) -> InferenceResponse:
        feeds = {tensor.name: NumpyCodec.decode_input(tensor) for tensor in payload.inputs}
        results = self._session.run(self._outputs, feeds)
        outputs = []
        for name, result in zip(self._outputs, results, strict=True):
            output = NumpyCodec.encode_output(name, result)
            output.shape = list(result.shape)  # the codec would widen a 1-d output to [N, 1]
            outputs.append(output)
        return InferenceResponse(model_name=self.name, outputs=outputs)
