"""``make demo``: the main job, start to finish, in well under a minute.

In ``demo-run/`` it writes a ``bridgeway.yaml`` that runs the gateway over the example models and three
folder pipelines that score *through* that gateway (remote mode, the Open Inference Protocol over gRPC):
an ERP claims export (CSV, with one bad record), an ERP patients export (CSV, string features) and a
mainframe dataset (EBCDIC fixed-width records described by a copybook). It starts ``bridgeway run``, drops
the sample files into the inboxes as a sender would (data first, then the done file), waits for the result
files in the outboxes, prints what came out, and stops the process with SIGTERM.
"""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import yaml
from rich.console import Console
from rich.table import Table

from adapters.codecs.copybook import RecordDecoder, get_codepage, parse_copybook
from adapters.codecs.copybook.options import DecodeOptions

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "models" / "samples"
RUN = ROOT / "demo-run"
TIMEOUT_S = 45.0
console = Console(width=None if sys.stdout.isatty() else 120)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def pipeline(name: str, model: str, input_spec: dict[str, Any], output: dict[str, Any]) -> dict[str, Any]:
    folders = {role: f"{name}/{role}" for role in ("inbox", "outbox", "archive", "errors")}
    source = {"kind": "files", **folders, "ready": "done-file", "poll_interval": 0.2}
    return {"name": name, "model": model, "source": source, "input": input_spec, "output": output}


def write_config() -> Path:
    port = free_port()
    config = {
        "models": "../models",
        "gateway": {"host": "127.0.0.1", "port": port, "metrics_port": free_port()},
        "inference": {"mode": "remote", "target": f"127.0.0.1:{port}"},
        "pipelines": [
            pipeline(
                "erp-claims", "breast-cancer", {"format": "csv"}, {"format": "csv", "carry": ["claim_id"]}
            ),
            pipeline(
                "erp-patients", "diabetes-risk", {"format": "csv"}, {"format": "csv", "carry": ["patient_id"]}
            ),
            pipeline(
                "mainframe-claims",
                "breast-cancer",
                {
                    "format": "fixed",
                    "copybook": "../models/samples/breast-cancer-claims.cpy",
                    "encoding": "cp037",
                },
                {
                    "format": "fixed",
                    "result_copybook": "../models/samples/breast-cancer-result.cpy",
                    "carry": ["claim_id"],
                },
            ),
        ],
    }
    path = RUN / "bridgeway.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    return path


class Process:
    """``bridgeway run`` with its JSON log lines collected from stderr."""

    def __init__(self, config: Path) -> None:
        launch = "from adapters.cli import main; main(prog_name='bridgeway')"
        command = [sys.executable, "-c", launch, "run", "--config", str(config)]
        self.popen = subprocess.Popen(
            command, cwd=RUN, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )  # fmt: skip
        self.lines: list[dict[str, Any]] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.popen.stderr is not None
        for raw in self.popen.stderr:
            try:
                self.lines.append(json.loads(raw))
            except json.JSONDecodeError:
                self.lines.append({"event": raw.rstrip()})

    def saw(self, event: str) -> bool:
        return any(line.get("event") == event for line in list(self.lines))

    def stop(self) -> int:
        self.popen.send_signal(signal.SIGTERM)
        code = self.popen.wait(timeout=30)
        self._reader.join(timeout=5)
        return code


def wait(what: str, condition: Any, process: Process, deadline: float) -> None:
    while not condition():
        if process.popen.poll() is not None:
            tail = "\n".join(json.dumps(line) for line in process.lines[-15:])
            raise SystemExit(f"bridgeway run exited early ({process.popen.returncode}) while {what}:\n{tail}")
        if time.monotonic() > deadline:
            raise SystemExit(f"timed out while {what}")
        time.sleep(0.1)


def drop(name: str, file_name: str, data: bytes) -> None:
    """As a sender does: write the data, then the done file that says it is complete."""
    inbox = RUN / name / "inbox"
    inbox.mkdir(parents=True, exist_ok=True)
    (inbox / file_name).write_bytes(data)
    (inbox / f"{file_name}.done").touch()


def claims_with_one_bad_record() -> bytes:
    lines = (SAMPLES / "breast-cancer-claims.csv").read_text(encoding="utf-8").splitlines()
    cells = lines[7].split(",")
    cells[1] = "n/a"  # a measurement the ERP could not fill in
    lines[7] = ",".join(cells)
    return ("\n".join(lines) + "\n").encode("utf-8")


DROPS = [
    ("erp-claims", "claims-2024-05-01.csv", "claims-2024-05-01"),
    ("erp-patients", "patients-2024-05-01.csv", "patients-2024-05-01"),
    ("mainframe-claims", "CLAIMS.D240501.DAT", "CLAIMS.D240501"),
]


def main() -> int:
    started = time.monotonic()
    shutil.rmtree(RUN, ignore_errors=True)
    RUN.mkdir()
    config = write_config()
    console.print(f"[bold]Bridgeway demo[/] in {RUN.relative_to(ROOT)}/ — starting `bridgeway run`")
    process = Process(config)
    deadline = started + TIMEOUT_S
    try:
        wait("starting the gateway and pipelines", lambda: process.saw("running"), process, deadline)
        console.print("gateway serving the example models; pipelines watching their inboxes")
        data = {
            "erp-claims": claims_with_one_bad_record(),
            "erp-patients": (SAMPLES / "diabetes-patients.csv").read_bytes(),
            "mainframe-claims": (SAMPLES / "breast-cancer-claims.dat").read_bytes(),
        }
        for name, file_name, _ in DROPS:
            drop(name, file_name, data[name])
        manifests = [RUN / name / "outbox" / f"{stem}.manifest.json" for name, _, stem in DROPS]
        wait("scoring the dropped files", lambda: all(m.exists() for m in manifests), process, deadline)
        show(manifests)
    finally:
        code = process.stop() if process.popen.poll() is None else process.popen.returncode
    console.print(
        f"`bridgeway run` stopped on SIGTERM with exit code {code}; {time.monotonic() - started:.1f} s in all"
    )
    return 0 if code == 0 else 1


def show(manifests: list[Path]) -> None:
    table = Table(title="Results")
    for column in ("pipeline", "input", "records", "scored", "rejected", "model", "result file"):
        table.add_column(column)
    for (name, _, _), path in zip(DROPS, manifests, strict=True):
        doc = json.loads(path.read_text())
        versions = ", ".join(v["version"] for v in doc["model"]["versions"])
        counts = [str(doc["records"][k]) for k in ("total", "scored", "rejected")]
        model = f"{doc['model']['name']} v{versions}"
        table.add_row(name, doc["input"]["name"], *counts, model, doc["result"]["name"])
    console.print(table)
    claims = RUN / "erp-claims" / "outbox"
    show_csv(
        "ERP claims: first results",
        claims / "claims-2024-05-01.result.csv",
        ["claim_id", "label", "p_malignant"],
    )
    show_csv(
        "ERP claims: rejects",
        claims / "claims-2024-05-01.rejects.csv",
        ["record_no", "field", "reason", "claim_id"],
    )
    show_csv(
        "ERP patients: first results",
        RUN / "erp-patients" / "outbox" / "patients-2024-05-01.result.csv",
        ["patient_id", "risk", "p_high"],
    )
    show_fixed(RUN / "mainframe-claims" / "outbox" / "CLAIMS.D240501.result.DAT")


def show_csv(title: str, path: Path, columns: list[str]) -> None:
    rows = list(csv.DictReader(io.StringIO(path.read_text(encoding="utf-8"))))[:3]
    table = Table(title=title)
    for column in columns:
        table.add_column(column)
    for row in rows:
        table.add_row(*(row[c] for c in columns))
    console.print(table)


def show_fixed(path: Path) -> None:
    layout = parse_copybook((SAMPLES / "breast-cancer-result.cpy").read_text(encoding="utf-8"))
    decoder = RecordDecoder(layout, DecodeOptions(codepage=get_codepage("cp037")))
    data = path.read_bytes()
    count, length = len(data) // layout.record_length, layout.record_length
    table = Table(title=f"Mainframe results: {count} EBCDIC records of {length} bytes")
    fields = ["RS-CLAIM-ID", "RS-LABEL", "RS-P-MALIGNANT", "RS-MODEL-VERSION", "RS-RECORD-NO"]
    for name in fields:
        table.add_column(name)
    for i in range(3):
        values = decoder.decode(data[i * layout.record_length : (i + 1) * layout.record_length]).values
        table.add_row(*(str(values[f]) for f in fields))
    console.print(table)


if __name__ == "__main__":
    raise SystemExit(main())
