"""The bare server on grpc.aio and uvloop, as ``bridgeway serve`` runs: the floor of the gateway's transport.

bench/bare_server.py's decoding, ``session.run`` and encoding, called inline from ``async`` handlers on a
uvloop event loop (no thread hop: right for the short runs where the transport's cost shows). bench/gateway.py
runs it with ``--bare-aio`` to tell what grpc.aio itself costs against grpc's sync server from what the
gateway adds on top.

Prints one line ``{"port": N}`` on stdout once serving.
``python bench/bare_aio_server.py MODEL.onnx --port 0``.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import grpc
import uvloop
from bare_server import SIZES, BareServicer, arguments

from protos import pb, pb_grpc


class AioServicer(pb_grpc.GRPCInferenceServiceServicer):
    def __init__(self, bare: BareServicer) -> None:
        self._bare = bare

    async def ServerLive(self, request: Any, context: Any) -> pb.ServerLiveResponse:
        return pb.ServerLiveResponse(live=True)

    async def ServerReady(self, request: Any, context: Any) -> pb.ServerReadyResponse:
        return pb.ServerReadyResponse(ready=True)

    async def ModelInfer(self, request: Any, context: Any) -> pb.ModelInferResponse:
        return self._bare.ModelInfer(request, context)  # type: ignore[no-any-return]


async def serve(servicer: AioServicer, port: int) -> None:
    options = [("grpc.max_send_message_length", SIZES), ("grpc.max_receive_message_length", SIZES)]
    server = grpc.aio.server(options=options)
    pb_grpc.add_GRPCInferenceServiceServicer_to_server(servicer, server)
    bound = server.add_insecure_port(f"127.0.0.1:{port}")
    await server.start()
    print(json.dumps({"port": bound}), flush=True)
    await server.wait_for_termination()


def main() -> None:
    args = arguments(__doc__.splitlines()[0]).parse_args()
    servicer = AioServicer(BareServicer(args.model, args.threads))
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        runner.run(serve(servicer, args.port))


if __name__ == "__main__":
    main()
