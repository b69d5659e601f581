"""A real ``bridgeway serve`` process on a free loopback port, for tests that talk to the gateway over gRPC.

The gateway logs JSON lines on stderr; we read ``listening`` for the chosen port and wait for ``ready`` (every
model loaded and warmed up). A reader thread keeps draining stderr so the process never blocks on a full
pipe, and keeps the lines for assertions (``GatewayProcess.log_lines``).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["GatewayProcess", "gateway_process"]

_LAUNCH = "from adapters.cli import main; main(prog_name='bridgeway')"


@dataclass
class GatewayProcess:
    """A running gateway: ``address`` is ``"127.0.0.1:<port>"``."""

    process: subprocess.Popen[str]
    port: int = 0
    metrics_port: int = 0
    log_lines: list[dict[str, Any]] = field(default_factory=list)

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def events(self, name: str) -> list[dict[str, Any]]:
        return [line for line in self.log_lines if line.get("event") == name]


@contextmanager
def gateway_process(
    models_dir: Path, extra_args: Sequence[str] = (), ready_timeout_s: float = 120.0
) -> Iterator[GatewayProcess]:
    """Start ``bridgeway serve --models DIR --port 0 --metrics-port 0``; SIGTERM and wait on exit.

    Raises RuntimeError with the process's last log lines when it exits or stalls before ``ready``.
    """
    command = [sys.executable, "-c", _LAUNCH, "serve", "--models", str(models_dir), "--port", "0"]
    command += ["--metrics-port", "0", "--host", "127.0.0.1", *extra_args]
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    process = subprocess.Popen(command, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True, env=env)
    gateway = GatewayProcess(process)
    ready = threading.Event()
    reader = threading.Thread(target=_read_log, args=(gateway, ready), daemon=True)
    reader.start()
    try:
        if not ready.wait(ready_timeout_s) or gateway.port == 0 or process.poll() is not None:
            tail = "\n".join(json.dumps(line) for line in gateway.log_lines[-20:])
            raise RuntimeError(f"bridgeway serve did not become ready (exit code {process.poll()}):\n{tail}")
        yield gateway
    finally:
        _stop(process)
        reader.join(timeout=5)
        if process.stderr is not None:
            process.stderr.close()


def _read_log(gateway: GatewayProcess, ready: threading.Event) -> None:
    assert gateway.process.stderr is not None
    for raw in gateway.process.stderr:
        try:
            line = json.loads(raw)
        except json.JSONDecodeError:
            line = {"event": "(not json)", "text": raw.rstrip()}
        if not isinstance(line, dict):
            line = {"event": "(not json)", "text": raw.rstrip()}
        gateway.log_lines.append(line)
        if line.get("event") == "listening":
            gateway.port = int(line["port"])
            gateway.metrics_port = int(line.get("metrics_port", 0))
        elif line.get("event") == "ready":
            ready.set()
    ready.set()  # the process ended: let the waiter look at the exit code instead of timing out


def _stop(process: subprocess.Popen[str]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)
