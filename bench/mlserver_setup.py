"""Starting Seldon MLServer for bench/gateway.py: a settings folder per model and ``mlserver start``.

MLServer lives in a virtualenv of its own (it pins its own web stack), named by ``--mlserver-python``; it
serves the model through bench/mlserver_runtime.py with MLServer's default settings apart from the ports and
``parallel_workers: 0``.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import time
from pathlib import Path

from gateway_setup import HERE, ROOT, BenchModel, ServerProcess, stop

_READY_TIMEOUT_S = 180.0


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _write_settings(folder: Path, model: BenchModel, grpc_port: int) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    settings = {
        "host": "127.0.0.1",
        "grpc_port": grpc_port,
        "http_port": _free_port(),
        "metrics_port": _free_port(),
        # In-process inference: MLServer 1.7.1's worker processes fail to start with uvloop 0.23 ("no
        # current event loop"), and the other systems run the model in the serving process too.
        "parallel_workers": 0,
    }
    (folder / "settings.json").write_text(json.dumps(settings), encoding="utf-8")
    model_settings = {
        "name": model.name,
        "implementation": "mlserver_runtime.OnnxRuntimeModel",
        "parameters": {"uri": str(model.path)},
    }
    (folder / "model-settings.json").write_text(json.dumps(model_settings), encoding="utf-8")


def _wait_ready(server: ServerProcess, model: str) -> None:
    import tritonclient.grpc as triton

    deadline = time.monotonic() + _READY_TIMEOUT_S
    with triton.InferenceServerClient(server.url) as client:
        while time.monotonic() < deadline and server.process.poll() is None:
            try:
                if client.is_model_ready(model):
                    return
            except Exception:  # not listening yet
                pass
            time.sleep(0.5)
    stop(server)
    raise RuntimeError(f"{server.name} did not become ready (exit code {server.process.poll()})")


def start_mlserver(python: str, root: Path, model: BenchModel, name: str) -> ServerProcess:
    """``mlserver start`` on a settings folder under ``root``; returns once the model is ready."""
    folder = root / f"mlserver-{model.name}"
    port = _free_port()
    _write_settings(folder, model, port)
    mlserver = str(Path(python).parent / "mlserver")
    env = {**os.environ, "PYTHONPATH": str(HERE)}
    process = subprocess.Popen(
        [mlserver, "start", str(folder)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    server = ServerProcess(name, process, port=port)
    _wait_ready(server, model.name)
    return server
