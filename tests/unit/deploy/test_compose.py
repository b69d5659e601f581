"""deploy/compose.yaml agrees with the code: gateway + RabbitMQ + a files and an AMQP pipeline, each command
line parsed by the real CLI and each config file loaded with the real schema."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from gateway.config import ServerSettings
from tests.unit.deploy.conftest import DEPLOY, ROOT, option_values, parse_command_line, project_version

COMPOSE = yaml.safe_load((DEPLOY / "compose.yaml").read_text(encoding="utf-8"))
SERVICES: dict[str, Any] = COMPOSE["services"]


def _files(service: dict[str, Any]) -> dict[str, str]:
    """Config files the service mounts under /etc/bridgeway, read from deploy/."""
    files = {}
    for volume in service.get("volumes", []):
        source, target, *_ = volume.split(":")
        if target.startswith("/etc/bridgeway/"):
            files[target.removeprefix("/etc/bridgeway/")] = (DEPLOY / source).read_text(encoding="utf-8")
    return files


def test_compose_runs_a_gateway_rabbitmq_a_files_and_an_amqp_pipeline() -> None:
    assert set(SERVICES) == {"rabbitmq", "gateway", "files-pipeline", "amqp-pipeline"}
    for name in ("gateway", "files-pipeline", "amqp-pipeline"):
        service = SERVICES[name]
        assert service["image"] == f"bridgeway:{project_version()}"
        assert (DEPLOY / service["build"]["context"] / service["build"]["dockerfile"]).resolve() == (
            ROOT / "deploy" / "Dockerfile"
        )


def test_the_gateway_command_parses_and_publishes_its_ports(tmp_path: Path) -> None:
    from adapters.cli.serve import server_settings

    service = SERVICES["gateway"]
    params = parse_command_line(service["command"], _files(service), tmp_path)
    settings = server_settings(
        params["config"], {k: v for k, v in params.items() if k not in ("config", "log_level")}
    )
    published = {int(p.rsplit(":", 1)[1]) for p in service["ports"]}
    assert {settings.port, settings.metrics_port} == published
    assert (settings.port, settings.metrics_port) == (ServerSettings().port, ServerSettings().metrics_port)
    assert settings.audit_log is not None


@pytest.mark.parametrize("name", ["files-pipeline", "amqp-pipeline"])
def test_pipeline_commands_parse_and_their_configs_load(name: str, tmp_path: Path) -> None:
    service = SERVICES[name]
    parse_command_line(service["command"], _files(service), tmp_path)
    config = pytest.importorskip("adapters.config", reason="bridgeway.yaml schema not built yet")
    text = _files(service)[option_values(service["command"])["--config"].removeprefix("/etc/bridgeway/")]
    loaded = config.parse_config(yaml.safe_load(text), tmp_path, "bridgeway.yaml", text)
    assert loaded.inference.mode == "remote"
    assert loaded.inference.all_targets == (f"gateway:{ServerSettings().port}",)
    assert service["depends_on"]["gateway"]["condition"] == "service_healthy"


def test_broker_credentials_reach_the_amqp_pipeline_through_its_environment_only() -> None:
    service = SERVICES["amqp-pipeline"]
    (pipeline,) = yaml.safe_load(_files(service)["amqp.yaml"])["pipelines"]
    variable = pipeline["source"]["password_env"]
    assert variable in service["environment"]
    user_info = pipeline["source"]["url"].split("//", 1)[1].split("@")[0]
    assert ":" not in user_info, "no password in the config file"
    assert not any("amqp://" in arg or "amqps://" in arg for arg in service["command"])
    assert "guest" not in str(SERVICES["rabbitmq"]["environment"])


def test_both_pipelines_keep_an_audit_log_on_a_volume() -> None:
    for name in ("files-pipeline", "amqp-pipeline"):
        service = SERVICES[name]
        config_name = option_values(service["command"])["--config"].removeprefix("/etc/bridgeway/")
        audit = yaml.safe_load(_files(service)[config_name])["audit"]["log"]
        mounts = [volume.split(":")[1] for volume in service["volumes"] if not volume.startswith("./")]
        assert any(audit.startswith(mount + "/") for mount in mounts), (name, audit)
