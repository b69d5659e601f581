"""Instructions per request of the gateway's own path against the bare server's, counted by callgrind.

On a shared 2-core VM, timings of one caller move by 10-20 % between runs minutes apart, more than most
changes to the per-request path. Instruction counts do not move: this runs ``ModelInfer`` in-process (parse
the request, servicer, core, encode, serialize; no network) under valgrind's callgrind for the gateway and
for bench/bare_server.py's servicer on the same model, and prints instructions per request and the
difference. The model always runs on the event loop's thread here (valgrind slows it past the inline limit,
so that limit is lifted), as it does for small models under ``bridgeway serve``, and on one intra-op
thread in both, so that no pool thread adds to the count. Compare on breast-cancer: for the 3M-parameter
MLP, onnxruntime's own cost per run differs between processes (1.13M instructions per batch-1 run in
three processes, 2.24M in a fourth, same file and options), which swamps the gateway's part.

``python bench/gateway_instructions.py [--model breast-cancer|mlp-3m] [--batch 1] [--requests 300]``
(needs ``valgrind`` on PATH).
"""

from __future__ import annotations

import argparse
import gc
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parent)]  # the repository root first: bench/gateway.py shadows the package
sys.path.append(str(HERE))

SYSTEMS = ("bare", "bridgeway")
_TOTAL = re.compile(r"^(?:summary|totals):\s+(\d+)", re.MULTILINE)


class _Context:
    """What the servicers read from a gRPC context."""

    def time_remaining(self) -> None:
        return None

    def invocation_metadata(self) -> tuple[()]:
        return ()


def _callgrind(command: str, *args: str) -> None:
    subprocess.run(["callgrind_control", command, *args, str(os.getpid())], capture_output=True, check=False)


async def _requests(system: str, model_name: str, batch: int, requests: int) -> None:
    """Build ``system`` in this process and send it ``requests`` requests with instrumentation on."""
    from bare_server import BareServicer
    from gateway_setup import BATCHING_OFF, build_models, build_repository

    from gateway.config import ServerSettings
    from gateway.core import InferenceCore
    from gateway.metrics import GatewayMetrics
    from gateway.servicer import InferenceServicer
    from protos import pb

    root = Path(tempfile.mkdtemp(prefix="bridgeway-instructions-"))
    model = {m.name: m for m in build_models(root)}[model_name]
    data = np.random.default_rng(0).standard_normal((batch, model.width), dtype=np.float32)
    tensor = pb.ModelInferRequest.InferInputTensor(name=model.input, datatype="FP32", shape=data.shape)
    wire = pb.ModelInferRequest(model_name=model.name, inputs=[tensor], raw_input_contents=[data.tobytes()])
    raw, context = wire.SerializeToString(), _Context()
    core = None
    one: Callable[[], Awaitable[Any]]
    if system == "bare":
        bare = BareServicer(str(model.path), 1)

        async def one() -> bytes:
            return bytes(bare.ModelInfer(pb.ModelInferRequest.FromString(raw), context).SerializeToString())

    else:
        repo = build_repository(root, model, BATCHING_OFF, "off")
        core = InferenceCore(ServerSettings(models_dir=repo, host="127.0.0.1", port=0, threads=1))
        metrics = GatewayMetrics()  # as bridgeway serve has it: an observer and a state listener
        core.add_observer(metrics)
        core.add_state_listener(metrics.on_model_state)
        await core.start()
        inline = core._routes[model.name].default.scheduler._inline  # type: ignore[union-attr]
        inline._run_ns = inline._strike_ns = 1 << 62  # valgrind is slower than the inline limit
        servicer = InferenceServicer(core)

        async def one() -> bytes:
            reply = await servicer.ModelInfer(pb.ModelInferRequest.FromString(raw), context)  # type: ignore[arg-type]
            return bytes(reply.SerializeToString())

    for _ in range(100):  # warm-up: caches, the inline decision's learning runs
        await one()
    # A full collection of the start-up heap inside the window would count millions of instructions
    # against a few requests (it happened in one run of three); frozen objects are never traversed again.
    gc.collect()
    gc.freeze()
    _callgrind("--zero")
    _callgrind("--instr=on")
    for _ in range(requests):
        await one()
    _callgrind("--dump")
    _callgrind("--instr=off")
    if core is not None:
        await core.stop(1)
    shutil.rmtree(root, ignore_errors=True)


def _count(system: str, args: argparse.Namespace, out: Path) -> int:
    """Instructions per request of ``system``, from a callgrind run of this script in worker mode."""
    command = ["valgrind", "--tool=callgrind", "--instr-atstart=no", f"--callgrind-out-file={out}"]
    command += [sys.executable, __file__, "--worker", system, "--model", args.model]
    command += ["--batch", str(args.batch), "--requests", str(args.requests)]
    subprocess.run(command, check=True, capture_output=True)
    dumps = list(out.parent.glob(out.name + ".*"))  # --dump writes OUT.1; exit writes OUT
    totals = [int(m.group(1)) for p in dumps for m in [_TOTAL.search(p.read_text())] if m]
    if not totals:
        raise SystemExit(f"{system}: callgrind wrote no dump (is callgrind_control on PATH?)")
    return sum(totals) // args.requests


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="breast-cancer", choices=("breast-cancer", "mlp-3m"))
    parser.add_argument("--batch", type=int, default=1)
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--worker", choices=SYSTEMS, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        import uvloop

        uvloop.run(_requests(args.worker, args.model, args.batch, args.requests))
        return
    if shutil.which("valgrind") is None:
        raise SystemExit("valgrind is not installed (apt-get install valgrind)")
    with tempfile.TemporaryDirectory() as scratch:
        counts = {s: _count(s, args, Path(scratch) / f"callgrind.{s}") for s in SYSTEMS}
    print(f"{args.model}, batch {args.batch}, {args.requests} requests in-process, instructions per request:")
    for system, count in counts.items():
        print(f"  {system:10} {count:9,}")
    extra = counts["bridgeway"] - counts["bare"]
    print(f"  bridgeway adds {extra:,} ({counts['bridgeway'] / counts['bare']:.2f} x the bare servicer)")


if __name__ == "__main__":
    main()
