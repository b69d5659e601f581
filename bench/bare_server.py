"""A bare Open Inference Protocol server: grpc + onnxruntime and nothing else, the floor for bench/gateway.py.

It answers ModelInfer for one model file (whatever model name the caller sends), raw tensors in and raw
tensors out, plus ServerLive/ServerReady. No batching, no validation beyond decoding, no metrics or logs.

Why sync grpc with a thread pool: it is grpc's own canonical server, and ``session.run`` releases the GIL, so
worker threads overlap runs without any executor hop. grpc.aio needs a ``to_thread`` hop per request to keep
long runs off the event loop (or stalls every call behind one big batch); in trials on a 2-core machine the
sync server was as fast or faster at batch 1 with 32 callers.

onnxruntime settings are the gateway's defaults for a server holding one model: intra-op threads = the
cores (``--threads``), one inter-op thread, spinning off, every graph optimisation.

Prints one line ``{"port": N}`` on stdout once serving. ``python bench/bare_server.py MODEL.onnx --port 0``.
"""

from __future__ import annotations

import argparse
import json
import os
from concurrent import futures

import grpc
import numpy as np
import onnxruntime as ort

from protos import pb, pb_grpc

_NUMPY = {"FP32": np.float32, "FP64": np.float64, "INT32": np.int32, "INT64": np.int64, "BOOL": np.bool_}
_WIRE = {np.dtype(t): name for name, t in _NUMPY.items()}
SIZES = 1 << 30  # far above any benchmark message


class BareServicer(pb_grpc.GRPCInferenceServiceServicer):
    def __init__(self, path: str, threads: int) -> None:
        opts = ort.SessionOptions()
        opts.intra_op_num_threads, opts.inter_op_num_threads = threads, 1
        opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
        opts.add_session_config_entry("session.inter_op.allow_spinning", "0")
        self._session = ort.InferenceSession(path, opts, providers=["CPUExecutionProvider"])
        self._outputs = [o.name for o in self._session.get_outputs()]

    def ServerLive(self, request, context):  # type: ignore[no-untyped-def]
        return pb.ServerLiveResponse(live=True)

    def ServerReady(self, request, context):  # type: ignore[no-untyped-def]
        return pb.ServerReadyResponse(ready=True)

    def run(self, feeds: dict[str, np.ndarray]) -> list[np.ndarray]:
        return self._session.run(self._outputs, feeds)

    def ModelInfer(self, request, context):  # type: ignore[no-untyped-def]
        feeds = {
            t.name: np.frombuffer(raw, _NUMPY[t.datatype]).reshape(t.shape)
            for t, raw in zip(request.inputs, request.raw_input_contents, strict=True)
        }
        results = self.run(feeds)
        tensor = pb.ModelInferResponse.InferOutputTensor
        return pb.ModelInferResponse(
            model_name=request.model_name,
            id=request.id,
            outputs=[
                tensor(name=n, datatype=_WIRE[r.dtype], shape=r.shape)
                for n, r in zip(self._outputs, results, strict=True)
            ],
            raw_output_contents=[r.tobytes() for r in results],
        )


def arguments(description: str) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("model", help="path of a model.onnx")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1, help="intra-op threads")
    parser.add_argument("--workers", type=int, default=16, help="grpc handler threads")
    return parser


def serve(servicer: BareServicer, port: int, workers: int) -> None:
    """Serve ``servicer`` on loopback; prints ``{"port": N}`` once serving, then runs until killed."""
    options = [("grpc.max_send_message_length", SIZES), ("grpc.max_receive_message_length", SIZES)]
    server = grpc.server(futures.ThreadPoolExecutor(workers), options=options)
    pb_grpc.add_GRPCInferenceServiceServicer_to_server(servicer, server)
    bound = server.add_insecure_port(f"127.0.0.1:{port}")
    server.start()
    print(json.dumps({"port": bound}), flush=True)
    server.wait_for_termination()


def main() -> None:
    args = arguments(__doc__.splitlines()[0]).parse_args()
    serve(BareServicer(args.model, args.threads), args.port, args.workers)


if __name__ == "__main__":
    main()
