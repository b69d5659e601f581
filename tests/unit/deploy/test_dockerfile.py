"""deploy/Dockerfile agrees with the code: Python 3.11 slim, non-root, CPU-only onnxruntime, the CLI's
entry point and defaults, and a health check through grpc.health.v1."""

from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path

from gateway.config import ServerSettings
from tests.unit.deploy.conftest import DEPLOY, ROOT, command_for, parse_command_line

DOCKERFILE = (DEPLOY / "Dockerfile").read_text(encoding="utf-8")


def _instructions(name: str) -> list[str]:
    joined = re.sub(r"\\\n\s*", " ", DOCKERFILE)
    return [line.split(None, 1)[1] for line in joined.splitlines() if line.split(None, 1)[:1] == [name]]


def test_the_image_builds_from_a_slim_python_3_11_base() -> None:
    (default,) = re.findall(r"^ARG PYTHON_IMAGE=(\S+)$", DOCKERFILE, re.MULTILINE)
    assert re.match(r"python:3\.11-slim", default)
    assert all(stage.startswith("${PYTHON_IMAGE}") for stage in _instructions("FROM"))


def test_the_container_runs_as_a_non_root_user() -> None:
    (user,) = _instructions("USER")
    uid, _, gid = user.partition(":")
    assert int(uid) != 0 and int(gid) != 0


def test_onnxruntime_is_the_cpu_build() -> None:
    with (ROOT / "pyproject.toml").open("rb") as handle:
        dependencies = tomllib.load(handle)["project"]["dependencies"]
    assert any(re.match(r"onnxruntime\b(?!-)", d) for d in dependencies)
    assert not any("gpu" in d or "cuda" in d for d in dependencies)
    assert "onnxruntime-gpu" not in DOCKERFILE


def test_every_package_the_project_installs_is_copied_into_the_build() -> None:
    with (ROOT / "pyproject.toml").open("rb") as handle:
        packages = tomllib.load(handle)["tool"]["setuptools"]["packages"]["find"]["include"]
    copied = {item.split()[0] for item in _instructions("COPY")}
    for pattern in packages:
        assert pattern.rstrip("*") in copied


def test_exposed_ports_are_the_gateways_defaults_and_the_default_command_parses(tmp_path: Path) -> None:
    exposed = {int(p) for item in _instructions("EXPOSE") for p in item.split()}
    defaults = ServerSettings()
    assert {defaults.port, defaults.metrics_port} <= exposed
    (entrypoint,) = _instructions("ENTRYPOINT")
    assert json.loads(entrypoint) == ["bridgeway"]
    with (ROOT / "pyproject.toml").open("rb") as handle:
        assert "bridgeway" in tomllib.load(handle)["project"]["scripts"]
    (cmd,) = _instructions("CMD")
    args = json.loads(cmd)
    params = parse_command_line(args, {}, tmp_path)
    assert params["port"] == defaults.port and params["metrics_port"] == defaults.metrics_port
    assert params["host"] == "0.0.0.0"  # reachable from outside the container


def test_the_health_check_asks_grpc_health_through_the_cli() -> None:
    (check,) = _instructions("HEALTHCHECK")
    assert "CMD bridgeway health --address" in check
    command_for(["health"])  # the subcommand exists
    (default,) = re.findall(r"BRIDGEWAY_HEALTH_ADDRESS=(\S+)", DOCKERFILE)
    assert default == f"127.0.0.1:{ServerSettings().port}"
