"""The baseline of bench/files.py: a hand-written pandas + onnxruntime script that reads a file, scores it
and writes the same result file Bridgeway writes (carried claim id, model outputs, lineage columns).

It is what a competent engineer writes for one job: read the whole input at once, one onnxruntime call,
``DataFrame.to_csv``. For the copybook file it decodes the fixed-width EBCDIC records with numpy (packed and
zoned decimal by nibble arithmetic), knowing the layout by heart.

    python bench/files_script.py csv INPUT.csv OUTPUT.csv
    python bench/files_script.py fixed INPUT.dat OUTPUT.csv
"""

from __future__ import annotations

import hashlib
import sys
import uuid
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import onnxruntime as ort
import pandas as pd
import yaml

ROOT = Path(__file__).resolve().parents[1]
MODEL = ROOT / "models" / "breast-cancer"
RECORD = 250
PACKED, ZONED = 6, 11  # bytes of S9(5)V9(6) COMP-3 and of S9(5)V9(6) DISPLAY


def fields() -> list[str]:
    document = yaml.safe_load((MODEL / "model.yaml").read_text())
    return list(document["inputs"]["features"]["fields"])


def read_csv(path: Path, names: list[str]) -> tuple[pd.Series, np.ndarray]:
    frame = pd.read_csv(path, dtype={"claim_id": str})
    frame.columns = [c.lower().replace("-", "_") for c in frame.columns]
    return frame["claim_id"], frame[names].to_numpy(np.float32)


def read_fixed(path: Path, names: list[str]) -> tuple[pd.Series, np.ndarray]:
    rows = np.fromfile(path, dtype=np.uint8).reshape(-1, RECORD)
    table = bytes(range(256)).decode("cp037").encode("latin-1", "replace")
    ids = np.frombuffer(rows[:, :10].tobytes().translate(table), dtype="S10").astype(str)
    features = np.empty((len(rows), len(names)), dtype=np.float64)
    offset = 10
    for i, name in enumerate(names):
        if name.endswith("_error"):
            digits = rows[:, offset : offset + ZONED] & 0x0F
            sign = np.where(rows[:, offset + ZONED - 1] >> 4 == 0x0D, -1, 1)
            offset += ZONED
        else:
            packed = rows[:, offset : offset + PACKED]
            nibbles = np.stack([packed >> 4, packed & 0x0F], axis=2).reshape(len(rows), -1)
            digits, sign = nibbles[:, :-1], np.where(nibbles[:, -1] == 0x0D, -1, 1)
            offset += PACKED
        powers = 10 ** np.arange(digits.shape[1] - 1, -1, -1, dtype=np.int64)
        features[:, i] = sign * (digits.astype(np.int64) @ powers) / 1e6
    return pd.Series(ids), features.astype(np.float32)


def main(kind: str, source: Path, target: Path) -> None:
    names = fields()
    version = max(int(p.name) for p in MODEL.iterdir() if p.name.isdigit())
    model_path = MODEL / str(version) / "model.onnx"
    session = ort.InferenceSession(str(model_path), providers=["CPUExecutionProvider"])
    claim_ids, features = (read_csv if kind == "csv" else read_fixed)(source, names)
    label, probabilities = session.run(["label", "probabilities"], {"features": features})
    n = len(features)
    result = pd.DataFrame(
        {
            "claim_id": claim_ids,
            "label": label,
            "p_benign": probabilities[:, 0],
            "p_malignant": probabilities[:, 1],
            "model_name": "breast-cancer",
            "model_version": str(version),
            "model_sha256": hashlib.sha256(model_path.read_bytes()).hexdigest(),
            "input_name": source.name,
            "input_sha256": hashlib.sha256(source.read_bytes()).hexdigest(),
            "record_no": np.arange(1, n + 1),
            "run_id": uuid.uuid4().hex,
            "processed_at": datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        }
    )
    result.to_csv(target, index=False)


if __name__ == "__main__":
    main(sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3]))
