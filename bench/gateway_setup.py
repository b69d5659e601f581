"""What bench/gateway.py measures: the two models, their repositories, and the server processes under test.

* ``breast-cancer`` -- the example tabular MLP from models/ (FP32 [N, 30] -> probabilities, label), copied;
* ``mlp-3m`` -- a ~3.2M-parameter MLP built here with onnx.helper and fixed random weights
  (FP32 [N, 512] -> Gemm 2048 -> ReLU -> Gemm 1024 -> ReLU -> Gemm 10 -> Softmax "probabilities").

Each gateway process serves one model from its own repository, so that model gets the server's whole thread
budget (as a one-model deployment would) and matches the bare server's onnxruntime settings.
"""

from __future__ import annotations

import itertools
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
EXAMPLE_MODEL = ROOT / "models" / "breast-cancer"
MLP_LAYERS = (512, 2048, 1024, 10)
# Batching on. breast-cancer: the example's own setting (models/breast-cancer/model.yaml). mlp-3m: a queue
# delay of about two batch-1 runs on a busy 2-core machine; with 500 us its batches stayed at 1-2 rows
# under 32 callers (runs of tiny batches took the CPU that requests needed to arrive), and batch 1 x 32
# reached 0.95 x the bare server; 2 ms gave 1.07 x, 5 ms 1.63 x. On a quieter machine later: 2 ms 1.17 x,
# 5 ms 1.28 x, 10 ms 1.02 x, 20 ms 0.64 x (one run each, 3 rounds).
BATCHING_DELAY_US = {"breast-cancer": 500, "mlp-3m": 5000}
BATCHING_ON = {
    name: f"batching: {{max_batch_size: 1024, max_queue_delay_us: {delay}}}\n"
    for name, delay in BATCHING_DELAY_US.items()
}
BATCHING_OFF = "batching: false\n"
_LAUNCH_GATEWAY = "from adapters.cli import main; main(prog_name='bridgeway')"
_START_TIMEOUT_S = 120.0


@dataclass(frozen=True)
class BenchModel:
    """A model under test: its name on the wire, its one FP32 input of ``width`` columns, its file."""

    name: str
    input: str
    width: int
    path: Path
    parameters: int


def build_mlp(path: Path, layers: Sequence[int] = MLP_LAYERS) -> int:
    """Write the MLP to ``path``; returns its parameter count. Weights are fixed (seeded) Gaussians."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(20240601)
    nodes, weights, x = [], [], "features"
    for i, (fan_in, fan_out) in enumerate(itertools.pairwise(layers)):
        w = (rng.standard_normal((fan_in, fan_out)) / np.sqrt(fan_in)).astype(np.float32)
        b = (rng.standard_normal(fan_out) * 0.01).astype(np.float32)
        weights += [numpy_helper.from_array(w, f"w{i}"), numpy_helper.from_array(b, f"b{i}")]
        nodes.append(helper.make_node("Gemm", [x, f"w{i}", f"b{i}"], [f"gemm{i}"]))
        x = f"gemm{i}"
        if i < len(layers) - 2:
            nodes.append(helper.make_node("Relu", [x], [f"relu{i}"]))
            x = f"relu{i}"
    nodes.append(helper.make_node("Softmax", [x], ["probabilities"], axis=1))
    graph = helper.make_graph(
        nodes,
        "mlp_3m",
        [helper.make_tensor_value_info("features", TensorProto.FLOAT, ["batch", layers[0]])],
        [helper.make_tensor_value_info("probabilities", TensorProto.FLOAT, ["batch", layers[-1]])],
        weights,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    path.parent.mkdir(parents=True, exist_ok=True)
    onnx.save(model, str(path))
    return sum(int(np.prod(t.dims)) for t in weights)


def _latest_version(model_dir: Path) -> Path:
    versions = [int(p.name) for p in model_dir.iterdir() if p.name.isdigit()]
    return model_dir / str(max(versions)) / "model.onnx"


def build_models(root: Path) -> list[BenchModel]:
    """The small tabular MLP and the ~3M-parameter MLP, as plain files under ``root``."""
    small = root / "files" / "breast-cancer.onnx"
    small.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(_latest_version(EXAMPLE_MODEL), small)
    small_params = _parameter_count(small)
    big = root / "files" / "mlp-3m.onnx"
    big_params = build_mlp(big)
    return [
        BenchModel("breast-cancer", "features", 30, small, small_params),
        BenchModel("mlp-3m", "features", MLP_LAYERS[0], big, big_params),
    ]


def _parameter_count(path: Path) -> int:
    import onnx

    model = onnx.load(str(path))
    return sum(int(np.prod(t.dims)) for t in model.graph.initializer)


def build_repository(root: Path, model: BenchModel, batching_yaml: str, label: str) -> Path:
    """``root/<label>-<model>/<model>/1/model.onnx`` with a model.yaml holding ``batching_yaml``."""
    repo = root / f"{label}-{model.name}"
    version = repo / model.name / "1"
    version.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(model.path, version / "model.onnx")
    (repo / model.name / "model.yaml").write_text(batching_yaml, encoding="utf-8")
    return repo


@dataclass
class ServerProcess:
    """A server under test on loopback; ``url`` is what tritonclient connects to."""

    name: str
    process: subprocess.Popen[str]
    port: int = 0
    log_tail: list[str] | None = None

    @property
    def url(self) -> str:
        return f"127.0.0.1:{self.port}"


def _env() -> dict[str, str]:
    # The repository root first: bench/ is not a package, and it holds a module named like the gateway.
    path = os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    return {**os.environ, "PYTHONUNBUFFERED": "1", "PYTHONPATH": path}


def _watch_gateway(server: ServerProcess, ready: threading.Event) -> None:
    """Reads the gateway's JSON log lines: the port from ``listening``, then waits for ``ready``."""
    assert server.process.stderr is not None
    tail: list[str] = []
    server.log_tail = tail
    for raw in server.process.stderr:
        tail.append(raw.rstrip())
        del tail[:-20]
        try:
            line = json.loads(raw)
        except json.JSONDecodeError:
            continue
        if line.get("event") == "listening":
            server.port = int(line["port"])
        elif line.get("event") == "ready":
            ready.set()
    ready.set()


def start_gateway(repo: Path, name: str) -> ServerProcess:
    """``bridgeway serve --models REPO --port 0 --metrics-port 0`` with default settings."""
    command = [sys.executable, "-c", _LAUNCH_GATEWAY, "serve", "--models", str(repo), "--port", "0"]
    command += ["--metrics-port", "0", "--host", "127.0.0.1"]
    process = subprocess.Popen(
        command, cwd=ROOT, env=_env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    )
    server = ServerProcess(name, process)
    ready = threading.Event()
    threading.Thread(target=_watch_gateway, args=(server, ready), daemon=True).start()
    if not ready.wait(_START_TIMEOUT_S) or process.poll() is not None or not server.port:
        stop(server)
        raise RuntimeError(f"{name} did not become ready:\n" + "\n".join(server.log_tail or []))
    return server


def start_bare(model: BenchModel, name: str) -> ServerProcess:
    """bench/bare_server.py for one model file; it prints its port once serving."""
    return _start_printing_port(name, [str(HERE / "bare_server.py"), str(model.path)])


def _start_printing_port(name: str, arguments: list[str]) -> ServerProcess:
    """A bench server script that prints ``{"port": N}`` once serving."""
    command = [sys.executable, *arguments, "--port", "0"]
    process = subprocess.Popen(command, cwd=ROOT, env=_env(), stdout=subprocess.PIPE, text=True)
    assert process.stdout is not None
    line = process.stdout.readline()
    if not line:
        stop(ServerProcess(name, process))
        raise RuntimeError(f"{name} exited before serving (exit code {process.poll()})")
    return ServerProcess(name, process, port=int(json.loads(line)["port"]))


def start_bare_aio(model: BenchModel, name: str) -> ServerProcess:
    """bench/bare_aio_server.py for one model file."""
    return _start_printing_port(name, [str(HERE / "bare_aio_server.py"), str(model.path)])


def start_bare_batching(model: BenchModel, name: str) -> ServerProcess:
    """bench/bare_batching_server.py with the queue delay ``bridgeway-on`` has for this model."""
    delay = str(BATCHING_DELAY_US[model.name])
    return _start_printing_port(
        name, [str(HERE / "bare_batching_server.py"), str(model.path), "--delay-us", delay]
    )


def stop(server: ServerProcess) -> None:
    """SIGTERM, then SIGKILL if it lingers."""
    process = server.process
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)


@contextmanager
def running(
    starters: Sequence[tuple[str, Callable[[], ServerProcess]]],
) -> Iterator[dict[str, ServerProcess]]:
    """Start servers (``(name, zero-argument starter)``), yield them by name, stop them all on exit."""
    servers: dict[str, ServerProcess] = {}
    try:
        for name, starter in starters:
            servers[name] = starter()
        time.sleep(0.5)  # let start-up work (warm-up, imports) settle before the first measurement
        yield servers
    finally:
        for server in servers.values():
            stop(server)
