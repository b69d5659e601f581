"""model.yaml and server settings: what they accept, their defaults, and errors that name file and key."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from gateway.config import (
    MIB,
    BatchingConfig,
    ConfigError,
    ModelYaml,
    ServerSettings,
    load_model_yaml,
    load_yaml_document,
)


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "model.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_model_yaml_reads_the_design_example(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
description: Breast cancer malignancy classifier (MLP)
inputs:
  features: {fields: [mean_radius, mean_texture]}
outputs:
  probabilities: {fields: [p_benign, p_malignant]}
  label: {field: label}
batching: {max_batch_size: 1024, max_queue_delay_us: 500}
""",
    )
    config = load_model_yaml(path)
    assert config.inputs["features"].names == ("mean_radius", "mean_texture")
    assert config.outputs["label"].names == ("label",)
    assert config.outputs["label"].fields is None
    assert config.batching == BatchingConfig(max_batch_size=1024, max_queue_delay_us=500)


def test_missing_model_yaml_means_all_defaults(tmp_path: Path) -> None:
    config = load_model_yaml(tmp_path / "absent.yaml")
    assert config == ModelYaml()
    assert config.batching is None
    assert config.warmup.enabled


def test_batching_false_is_kept_apart_from_not_given() -> None:
    assert ModelYaml.model_validate({"batching": False}).batching is False
    assert ModelYaml.model_validate({}).batching is None


@pytest.mark.parametrize(
    ("policy", "expected"),
    [
        (None, [5]),
        ({"latest": 2}, [3, 5]),
        ({"specific": [1, 3, 9]}, [1, 3]),
        ("all", [1, 3, 5]),
    ],
)
def test_version_policy_selects_versions(policy: object, expected: list[int]) -> None:
    raw = {} if policy is None else {"version_policy": policy}
    assert ModelYaml.model_validate(raw).version_policy.select([3, 1, 5]) == expected


def test_unknown_key_names_the_file_and_the_key_path(tmp_path: Path) -> None:
    path = write(tmp_path, "batching: {max_batch_size: 8, max_queue_delay: 100}\n")
    with pytest.raises(ConfigError) as info:
        load_model_yaml(path, source="scorer/model.yaml")
    assert str(info.value).startswith("scorer/model.yaml: ")
    assert "batching.max_queue_delay: Extra inputs are not permitted" in str(info.value)


def test_bad_values_are_each_reported_with_their_path(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "inputs:\n  x: {fields: [a], field: b}\nbatching: {max_batch_size: 0}\nversion_policy: {latest: 0}\n",
    )
    with pytest.raises(ConfigError) as info:
        load_model_yaml(path)
    problems = info.value.problems
    assert any(p.startswith("inputs.x: ") and "exactly one of 'fields'" in p for p in problems)
    assert any(p.startswith("batching.max_batch_size: ") for p in problems)
    assert any(p.startswith("version_policy.latest: ") for p in problems)
    assert not any("literal" in p or "[" in p.split(":")[0] for p in problems)


def test_preferred_batch_sizes_above_the_maximum_are_refused() -> None:
    with pytest.raises(ValueError, match="exceed max_batch_size 8"):
        BatchingConfig(max_batch_size=8, preferred_batch_sizes=(4, 16))


def test_batching_true_is_refused_with_a_hint(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"batching: .*max_batch_size"):
        load_model_yaml(write(tmp_path, "batching: true\n"))


def test_yaml_syntax_errors_and_non_mappings_are_config_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_model_yaml(write(tmp_path, "inputs: [\n"))
    with pytest.raises(ConfigError, match="expected a mapping"):
        load_model_yaml(write(tmp_path, "- a\n- b\n"))


def test_server_settings_defaults_follow_the_design() -> None:
    settings = ServerSettings()
    assert settings.threads == len(os.sched_getaffinity(0))
    assert settings.max_send_message_bytes == 256 * MIB
    assert settings.max_receive_message_bytes == 256 * MIB
    assert settings.allow_spinning is False
    assert settings.execution_providers == ("CPUExecutionProvider",)
    assert settings.graph_optimization_level == "all"


def test_server_settings_refuse_unknown_keys_and_accept_batching_off(tmp_path: Path) -> None:
    path = tmp_path / "server.yaml"
    path.write_text("port: 9000\ndefault_batching: false\n", encoding="utf-8")
    settings = load_yaml_document(path, ServerSettings)
    assert settings.port == 9000
    assert settings.default_batching is None
    path.write_text("prot: 9000\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="prot: Extra inputs are not permitted"):
        load_yaml_document(path, ServerSettings)
