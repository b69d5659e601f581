"""The model repository on disk, and the book of each model version's serving state.

Layout (design contract)::

    models/<name>/model.yaml           optional
    models/<name>/<version>/model.onnx versions are positive integers

Scanning never raises for one bad model: a bad model.yaml, a hostile name or a file that resolves outside the
models directory is recorded (and logged) so the other models keep serving. Model names are limited to
``[A-Za-z0-9._-]``; a name from a caller is checked before it touches the file system.
"""

from __future__ import annotations

import hashlib
import logging
import re
from dataclasses import dataclass
from pathlib import Path

from gateway.config import ConfigError, ModelYaml, load_model_yaml
from gateway.errors import ModelNotFound
from gateway.types import ModelIndexEntry

__all__ = [
    "MODEL_FILE",
    "MODEL_YAML",
    "ModelRepository",
    "ModelSource",
    "VersionSource",
    "VersionState",
    "file_sha256",
    "valid_model_name",
]

log = logging.getLogger(__name__)

MODEL_FILE = "model.onnx"
MODEL_YAML = "model.yaml"
_NAME = re.compile(r"[A-Za-z0-9._-]+")
_VERSION = re.compile(r"[1-9][0-9]*")
_HASH_CHUNK = 1024 * 1024

# Version states as the protocol's RepositoryIndex reports them.
LOADING = "LOADING"
READY = "READY"
UNAVAILABLE = "UNAVAILABLE"
UNLOADING = "UNLOADING"


def valid_model_name(name: str) -> bool:
    """True for ``[A-Za-z0-9._-]+`` names other than ``.`` and ``..``."""
    return bool(_NAME.fullmatch(name)) and name not in (".", "..")


def file_sha256(path: Path) -> str:
    """Hex SHA-256 of a file's bytes (the lineage every response carries)."""
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(_HASH_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


@dataclass(frozen=True, slots=True)
class VersionSource:
    """One version folder that holds a model file inside the models directory."""

    model: str
    version: int
    path: Path

    @property
    def label(self) -> str:
        """``name/version``: how messages name this version without exposing the machine's paths."""
        return f"{self.model}/{self.version}"


@dataclass(frozen=True, slots=True)
class ModelSource:
    """What the disk says about one model.

    ``config`` is None when model.yaml is invalid; ``config_error`` then says why (file and key path).
    ``selected`` are the versions the version policy serves; ``problems`` are per-version reasons a folder
    could not be used (e.g. its file resolves outside the models directory).
    """

    name: str
    config: ModelYaml | None
    config_error: str
    available: tuple[int, ...]
    selected: tuple[VersionSource, ...]
    problems: tuple[tuple[int, str], ...] = ()


@dataclass(frozen=True, slots=True)
class VersionState:
    state: str
    reason: str = ""
    failed: bool = False  # UNAVAILABLE because loading failed (not because it was unloaded)


class ModelRepository:
    """Scans ``models_dir`` and keeps each model version's serving state for RepositoryIndex.

    The state book is written by the inference core from its event loop; reads are plain dict lookups.
    """

    def __init__(self, models_dir: Path) -> None:
        self.root = Path(models_dir).resolve()
        self._states: dict[str, dict[str, VersionState]] = {}

    # --- disk ---------------------------------------------------------------------------------------------

    def scan(self) -> list[ModelSource]:
        """Every model folder with a valid name, sorted by name. Raises nothing for a single bad model."""
        if not self.root.is_dir():
            log.error("models directory %s does not exist", self.root)
            return []
        sources = []
        for entry in sorted(self.root.iterdir()):
            if entry.name.startswith(".") or not entry.is_dir():
                continue
            if not valid_model_name(entry.name):
                log.warning("ignoring model folder %r: names may only use A-Z a-z 0-9 . _ -", entry.name)
                continue
            if not self._inside(entry):
                log.warning("ignoring model folder %r: it resolves outside the models directory", entry.name)
                continue
            if not _looks_like_model(entry):
                log.warning(
                    "ignoring folder %r: it holds neither %s nor a version folder", entry.name, MODEL_YAML
                )
                continue
            sources.append(self._read(entry.name))
        return sources

    def read_model(self, name: str) -> ModelSource:
        """Read one model folder. Raises ModelNotFound for an invalid name or a missing folder."""
        if not valid_model_name(name):
            raise ModelNotFound(f"no model named {name!r}: names may only use A-Z a-z 0-9 . _ -")
        folder = self.root / name
        if not folder.is_dir() or not self._inside(folder):
            raise ModelNotFound(f"no model named '{name}' in the repository")
        return self._read(name)

    def _inside(self, path: Path) -> bool:
        try:
            return path.resolve().is_relative_to(self.root)
        except OSError:
            return False

    def _read(self, name: str) -> ModelSource:
        folder = self.root / name
        config: ModelYaml | None = None
        error = ""
        yaml_path = folder / MODEL_YAML
        if yaml_path.exists() and not self._inside(yaml_path):
            error = f"{name}/{MODEL_YAML}: resolves outside the models directory"
        else:
            try:
                config = load_model_yaml(yaml_path, source=f"{name}/{MODEL_YAML}")
            except ConfigError as exc:
                error = str(exc)
        if error:
            log.error("model %s: invalid configuration: %s", name, error)
        available, problems = self._versions(name)
        policy = config.version_policy if config is not None else None
        chosen = policy.select(list(available)) if policy is not None else sorted(available)[-1:]
        selected = tuple(VersionSource(name, v, folder / str(v) / MODEL_FILE) for v in chosen)
        return ModelSource(name, config, error, tuple(sorted(available)), selected, tuple(problems))

    def _versions(self, name: str) -> tuple[list[int], list[tuple[int, str]]]:
        folder = self.root / name
        versions: list[int] = []
        problems: list[tuple[int, str]] = []
        for entry in sorted(folder.iterdir()):
            if entry.name in (MODEL_YAML,) or entry.name.startswith("."):
                continue
            if not entry.is_dir() or not _VERSION.fullmatch(entry.name):
                log.warning("model %s: ignoring %r: versions are positive integer folders", name, entry.name)
                continue
            model_file = entry / MODEL_FILE
            if not model_file.is_file():
                log.warning(
                    "model %s: ignoring version folder %s: it holds no %s", name, entry.name, MODEL_FILE
                )
                continue
            if not self._inside(model_file):
                problems.append((int(entry.name), "model file resolves outside the models directory"))
                log.warning("model %s/%s: model file resolves outside the models directory", name, entry.name)
                continue
            versions.append(int(entry.name))
        return versions, problems

    # --- state book ---------------------------------------------------------------------------------------

    def set_state(self, name: str, version: str, state: str, reason: str = "", failed: bool = False) -> None:
        """Record a version's state; version "" stands for the whole model when no version is usable."""
        self._states.setdefault(name, {})[version] = VersionState(state, reason, failed)

    def forget(self, name: str, version: str) -> None:
        """Drop a version from the book (it left the disk or the version policy)."""
        versions = self._states.get(name)
        if versions is not None:
            versions.pop(version, None)

    def state(self, name: str, version: str) -> VersionState | None:
        versions = self._states.get(name)
        return None if versions is None else versions.get(version)

    def states(self, name: str) -> dict[str, VersionState] | None:
        """The book's versions of ``name`` (a live view; do not modify), or None for an unknown model."""
        return self._states.get(name)

    def known_models(self) -> list[str]:
        return sorted(self._states)

    def index(self, ready_only: bool = False) -> list[ModelIndexEntry]:
        """Every known model version with its state and, for failures, the reason; sorted by name, version."""
        entries = []
        for name in sorted(self._states):
            versions = self._states[name]
            for version in sorted(versions, key=_version_order):
                st = versions[version]
                if ready_only and st.state != READY:
                    continue
                entries.append(ModelIndexEntry(name, version, st.state, st.reason))
        return entries


def _looks_like_model(folder: Path) -> bool:
    """A model folder has a model.yaml or at least one version folder; anything else (data, notes) is not."""
    if (folder / MODEL_YAML).exists():
        return True
    return any(_VERSION.fullmatch(e.name) and e.is_dir() for e in folder.iterdir())


def _version_order(version: str) -> tuple[int, str]:
    return (int(version), "") if version.isdigit() else (0, version)
