"""A real ``bridgeway run --config FILE`` process, and helpers for tests that drop files and wait for results.

The process logs JSON lines on stderr; a reader thread keeps them (``RunProcess.log_lines``) so the pipe
never fills, and :func:`run_process` waits for the ``running`` event before handing the process over.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

__all__ = ["RunProcess", "drop", "run_process", "score", "wait_for", "write_config"]

LAUNCH = "from adapters.cli import main; main(prog_name='bridgeway')"


@dataclass
class RunProcess:
    process: subprocess.Popen[str]
    log_lines: list[dict[str, Any]] = field(default_factory=list)
    reader: threading.Thread | None = None

    def events(self, name: str) -> list[dict[str, Any]]:
        return [line for line in list(self.log_lines) if line.get("event") == name]

    def stop(self, timeout: float = 60.0) -> int:
        """SIGTERM and wait; returns the exit code."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout=timeout)

    def kill(self) -> None:
        """Kill if still running, wait, and release the log pipe."""
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait(timeout=30)
        if self.reader is not None:
            self.reader.join(timeout=10)
        if self.process.stderr is not None:
            self.process.stderr.close()

    def tail(self, n: int = 30) -> str:
        return "\n".join(json.dumps(line) for line in self.log_lines[-n:])


def write_config(path: Path, document: Mapping[str, Any]) -> Path:
    path.write_text(yaml.safe_dump(dict(document), sort_keys=False), encoding="utf-8")
    return path


@contextmanager
def run_process(
    config: Path, env: Mapping[str, str] | None = None, ready_timeout_s: float = 120.0
) -> Iterator[RunProcess]:
    """Start ``bridgeway run --config CONFIG``; wait for ``running``; kill on exit if still alive."""
    process = start(config, env)
    try:
        wait_for(lambda: process.events("running") or process.process.poll() is not None, ready_timeout_s)
        if process.process.poll() is not None:
            raise RuntimeError(f"bridgeway run exited with {process.process.returncode}:\n{process.tail()}")
        yield process
    finally:
        process.kill()


def start(config: Path, env: Mapping[str, str] | None = None) -> RunProcess:
    command = [sys.executable, "-c", LAUNCH, "run", "--config", str(config)]
    environment = {**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})}
    popen = subprocess.Popen(
        command,
        stderr=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        text=True,
        env=environment,
        cwd=config.parent,
    )
    process = RunProcess(popen)
    process.reader = threading.Thread(target=_read, args=(process,), daemon=True)
    process.reader.start()
    return process


def _read(process: RunProcess) -> None:
    assert process.process.stderr is not None
    for raw in process.process.stderr:
        try:
            line = json.loads(raw)
        except json.JSONDecodeError:
            line = {"event": "(not json)", "text": raw.rstrip()}
        process.log_lines.append(line if isinstance(line, dict) else {"event": "(not json)", "text": raw})


def wait_for(condition: Callable[[], object], timeout_s: float = 60.0, interval_s: float = 0.05) -> Any:
    """Poll ``condition`` until it returns something truthy; raise TimeoutError after ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"condition not met within {timeout_s} s")
        time.sleep(interval_s)


def drop(folder: Path, name: str, data: bytes, done_suffix: str | None = None) -> Path:
    """Write ``data`` under a hidden name and rename it in (and write a done file when asked)."""
    folder.mkdir(parents=True, exist_ok=True)
    hidden = folder / f".{name}.part"
    hidden.write_bytes(data)
    os.rename(hidden, folder / name)
    if done_suffix is not None:
        (folder / f"{name}{done_suffix}").touch()
    return folder / name


def score(
    args: Sequence[str], cwd: Path, env: Mapping[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run ``bridgeway score ARGS`` to completion."""
    command = [sys.executable, "-c", LAUNCH, "score", *args]
    environment = {**os.environ, **(env or {})}
    return subprocess.run(command, capture_output=True, text=True, cwd=cwd, env=environment, timeout=300)
