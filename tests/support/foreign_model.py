"""A real ONNX model that nobody on this team wrote, fetched with pip, so tests do not only see our own.

The model is the file-type classifier (Apache-2.0) that the ``magika`` wheel ships inside the package: a
converted TensorFlow network with one batchable input ``bytes`` FP32 [batch, 1536] (the first, middle and last
512 bytes of a file as numbers 0-255, 256 for padding) and one output ``target_label`` FP32 [batch, 113] (a
probability per content type). The wheel is pure Python, so one pinned file serves every platform.

``fetch_foreign_model`` downloads the pinned wheel once with ``pip download`` (the ordinary package client, no
model hub), checks its SHA-256, keeps it in the test cache and lays the model out as a one-version model
repository. The cache folder is ``$BRIDGEWAY_TEST_CACHE`` when set, else ``.cache/`` at the repository root
(ignored by git), so CI downloads it once per machine.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

__all__ = [
    "INPUT_NAME",
    "INPUT_WIDTH",
    "MODEL_NAME",
    "OUTPUT_NAME",
    "OUTPUT_WIDTH",
    "ForeignModelUnavailable",
    "cache_dir",
    "fetch_foreign_model",
]

PACKAGE = "magika"
VERSION = "0.5.1"
WHEEL = f"{PACKAGE}-{VERSION}-py3-none-any.whl"
WHEEL_SHA256 = "a4d1f64f71460f335841c13c3d16cfc2cb21e839c1898a1ae9bd5adc8d66cb2b"
MEMBER = "magika/models/standard_v1/model.onnx"

MODEL_NAME = "magika"
INPUT_NAME, INPUT_WIDTH = "bytes", 1536
OUTPUT_NAME, OUTPUT_WIDTH = "target_label", 113

REPO_ROOT = Path(__file__).resolve().parents[2]
PIP_TIMEOUT_S = 300


class ForeignModelUnavailable(RuntimeError):
    """The pinned wheel could not be downloaded or is not the file we pinned; the message says why."""


def cache_dir() -> Path:
    """Where downloaded test inputs are kept between runs."""
    configured = os.environ.get("BRIDGEWAY_TEST_CACHE")
    return Path(configured) if configured else REPO_ROOT / ".cache"


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _pip_download(into: Path) -> Path:
    # --ignore-requires-python: we only unzip the wheel, so its Python ceiling does not concern us.
    command = [
        sys.executable,
        "-m",
        "pip",
        "download",
        "--no-deps",
        "--only-binary=:all:",
        "--ignore-requires-python",
        "--disable-pip-version-check",
        "--no-input",
        f"{PACKAGE}=={VERSION}",
        "-d",
        str(into),
    ]
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=PIP_TIMEOUT_S, check=False)
    except subprocess.TimeoutExpired as exc:
        raise ForeignModelUnavailable(
            f"pip download {PACKAGE}=={VERSION} ran over {PIP_TIMEOUT_S} s"
        ) from exc
    wheel = into / WHEEL
    if done.returncode != 0 or not wheel.is_file():
        tail = (done.stderr or done.stdout).strip().splitlines()[-5:]
        raise ForeignModelUnavailable(
            f"pip download {PACKAGE}=={VERSION} failed (exit {done.returncode}): " + " | ".join(tail)
        )
    return wheel


def _cached_wheel(cache: Path) -> Path:
    """The pinned wheel in *cache*, downloaded first when missing or not the pinned bytes."""
    wheel = cache / "wheels" / WHEEL
    if wheel.is_file() and _sha256(wheel) == WHEEL_SHA256:
        return wheel
    wheel.parent.mkdir(parents=True, exist_ok=True)
    # Download beside the cache and rename, so a concurrent or interrupted run never sees half a wheel.
    with tempfile.TemporaryDirectory(dir=wheel.parent, prefix=".download-") as tmp:
        downloaded = _pip_download(Path(tmp))
        digest = _sha256(downloaded)
        if digest != WHEEL_SHA256:
            raise ForeignModelUnavailable(f"{WHEEL} has SHA-256 {digest}, expected the pinned {WHEEL_SHA256}")
        os.replace(downloaded, wheel)
    return wheel


def fetch_foreign_model(dest: Path) -> Path:
    """Lay the foreign model out as ``dest/magika/1/model.onnx`` (no model.yaml) and return ``dest``.

    Raises ForeignModelUnavailable when the wheel cannot be had (no registry reachable, pip failing, a wheel
    that is not the pinned file or that lacks the model).
    """
    wheel = _cached_wheel(cache_dir())
    try:
        with zipfile.ZipFile(wheel) as archive:
            model = archive.read(MEMBER)
    except (KeyError, zipfile.BadZipFile) as exc:
        raise ForeignModelUnavailable(f"{wheel}: no readable {MEMBER} inside") from exc
    target = dest / MODEL_NAME / "1" / "model.onnx"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(model)
    return dest
