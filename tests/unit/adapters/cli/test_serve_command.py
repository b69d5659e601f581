"""``bridgeway serve`` settings: the YAML file first, command-line flags on top, errors naming the key."""

from __future__ import annotations

from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from adapters.cli import main
from adapters.cli.serve import server_settings


def test_flags_override_the_config_file_and_unset_flags_keep_it(tmp_path: Path) -> None:
    config = tmp_path / "gateway.yaml"
    config.write_text(
        "models_dir: repo\nport: 9001\nmetrics_port: 9002\ndrain_grace_s: 3\n", encoding="utf-8"
    )
    settings = server_settings(
        config, {"port": 0, "metrics_port": None, "host": "0.0.0.0", "models_dir": None}
    )
    assert (settings.port, settings.metrics_port, settings.host) == (0, 9002, "0.0.0.0")
    assert (settings.models_dir, settings.drain_grace_s) == (Path("repo"), 3.0)


def test_without_a_config_file_the_defaults_apply_under_the_flags() -> None:
    settings = server_settings(None, {"port": 7000, "models_dir": Path("m")})
    assert (settings.port, settings.metrics_port, settings.models_dir) == (7000, 8002, Path("m"))
    assert settings.max_receive_message_bytes == 256 * 1024 * 1024


def test_a_typo_in_the_config_file_names_the_file_and_the_key(tmp_path: Path) -> None:
    config = tmp_path / "gateway.yaml"
    config.write_text("prot: 9001\n", encoding="utf-8")
    with pytest.raises(click.UsageError, match=r"gateway\.yaml: prot: Extra inputs are not permitted"):
        server_settings(config, {})


def test_an_invalid_flag_value_is_a_usage_error_naming_the_setting() -> None:
    with pytest.raises(click.UsageError, match=r"command line: port: .*less than or equal to 65535"):
        server_settings(None, {"port": 70000})


def test_serve_refuses_a_models_folder_that_does_not_exist(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["serve", "--models", str(tmp_path / "missing"), "--port", "0"])
    assert result.exit_code == 2
    assert "is not a folder" in result.output
