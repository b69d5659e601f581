"""Fault tests of the folder protocol (RELIABILITY.md T8-T14): real ``bridgeway run`` processes and files.

Sizes are scaled down from the table where it allows, so each test takes seconds on a 2-core machine; the
pass figures (counts) are the table's.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import tritonclient.grpc as triton

from adapters.codecs.copybook import (
    EncodeOptions,
    RecordDecoder,
    RecordEncoder,
    get_codepage,
    parse_copybook,
)
from adapters.codecs.copybook.options import DecodeOptions
from tests.support.gateway_process import GatewayProcess, gateway_process
from tests.support.models import MODELS_DIR

SAMPLES = MODELS_DIR / "samples"
CP037 = get_codepage("cp037")
TRAILER_COPYBOOK = """\
       01  TRAILER-REC.
           05  TRL-TAG               PIC X(10).
           05  TRL-COUNT             PIC 9(9).
           05  FILLER                PIC X(231).
"""


@pytest.fixture(scope="session")
def serve_gateway() -> Iterator[GatewayProcess]:
    with gateway_process(MODELS_DIR) as process:
        yield process


def inference_count(gateway: GatewayProcess, model: str = "breast-cancer") -> int:
    """Rows the gateway has run through ``model`` so far (ModelStatistics inference_count)."""
    with triton.InferenceServerClient(gateway.address) as client:
        stats = client.get_inference_statistics(model_name=model, as_json=True)
    return sum(int(s.get("inference_count", 0)) for s in stats.get("model_stats", []))


def claims_csv(records: int) -> bytes:
    """``records`` claims with unique ids, the sample's measurements repeated."""
    with (SAMPLES / "breast-cancer-claims.csv").open(newline="", encoding="utf-8") as handle:
        header, *rows = list(csv.reader(handle))
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    for i in range(records):
        writer.writerow([f"CLM-{i + 1:07d}", *rows[i % len(rows)][1:]])
    return out.getvalue().encode("utf-8")


def mainframe_records(records: int) -> bytes:
    """``records`` EBCDIC claim records (the sample layout) with unique ids."""
    layout = parse_copybook((SAMPLES / "breast-cancer-claims.cpy").read_text())
    sample = (SAMPLES / "breast-cancer-claims.dat").read_bytes()
    decoder = RecordDecoder(layout, DecodeOptions(codepage=CP037))
    encoder = RecordEncoder(layout, EncodeOptions(codepage=CP037))
    size = layout.record_length
    values = [decoder.decode(sample[i * size : (i + 1) * size]).values for i in range(len(sample) // size)]
    out = bytearray()
    for i in range(records):
        record = dict(values[i % len(values)])
        record["CLAIM-ID"] = f"MF{i + 1:08d}"
        out += encoder.encode(record)
    return bytes(out)


def trailer(count: int) -> bytes:
    layout = parse_copybook(TRAILER_COPYBOOK)
    return RecordEncoder(layout, EncodeOptions(codepage=CP037)).encode(
        {"TRL-TAG": "TRAILER", "TRL-COUNT": count}
    )


def files_pipeline(
    base: Path, name: str, *, source: dict[str, Any] | None = None, **pipeline: Any
) -> dict[str, Any]:
    folders = {role: str(base / name / role) for role in ("inbox", "outbox", "archive", "errors")}
    spec: dict[str, Any] = {
        "name": name,
        "model": "breast-cancer",
        "source": {"kind": "files", **folders, "ready": "rename", "poll_interval": 0.05, **(source or {})},
        "input": {"format": "csv"},
        "output": {"format": "csv", "carry": ["claim_id"]},
    }
    spec.update(pipeline)
    return spec


def fixed_input(**extra: Any) -> dict[str, Any]:
    return {
        "format": "fixed",
        "copybook": str(SAMPLES / "breast-cancer-claims.cpy"),
        "record_format": "FB",
        **extra,
    }


def read_rows(path: Path) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(path.read_text(encoding="utf-8"))))
