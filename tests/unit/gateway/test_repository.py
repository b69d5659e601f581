"""The repository scan: version folders, version policy, hostile names, symlinks, lineage hashes."""

from __future__ import annotations

import hashlib
import logging
from pathlib import Path

import pytest
from gateway_testkit import add_model, write_model

from gateway.errors import ModelNotFound
from gateway.repository import ModelRepository, file_sha256, valid_model_name


def test_scan_finds_models_and_serves_the_highest_version_by_default(repo: Path) -> None:
    for version in (1, 2, 10):
        write_model(repo, "adder", version, add_model())
    (sources,) = ModelRepository(repo).scan()
    assert sources.name == "adder"
    assert sources.available == (1, 2, 10)
    assert [s.version for s in sources.selected] == [10]
    assert sources.selected[0].label == "adder/10"


def test_version_policy_in_model_yaml_picks_the_versions(repo: Path) -> None:
    for version in (1, 2, 3):
        write_model(repo, "adder", version, add_model(), "version_policy: {specific: [1, 3]}\n")
    (source,) = ModelRepository(repo).scan()
    assert [s.version for s in source.selected] == [1, 3]


def test_folders_that_are_not_positive_integers_are_ignored_with_a_warning(
    repo: Path, caplog: pytest.LogCaptureFixture
) -> None:
    write_model(repo, "adder", 1, add_model())
    for name in ("0", "01", "latest", "2.1"):
        (repo / "adder" / name).mkdir()
        (repo / "adder" / name / "model.onnx").write_bytes(add_model())
    (repo / "adder" / "3").mkdir()  # a version folder without a model file
    with caplog.at_level(logging.WARNING, logger="gateway.repository"):
        (source,) = ModelRepository(repo).scan()
    assert source.available == (1,)
    warned = " ".join(r.getMessage() for r in caplog.records)
    for name in ("'0'", "'01'", "'latest'", "'2.1'", "version folder 3"):
        assert name in warned


def test_model_names_outside_the_allowed_alphabet_are_not_served(repo: Path) -> None:
    write_model(repo, "ok.model-1_a", 1, add_model())
    write_model(repo, "bad name", 1, add_model())
    write_model(repo, "caf\u00e9", 1, add_model())
    names = [s.name for s in ModelRepository(repo).scan()]
    assert names == ["ok.model-1_a"]
    assert not valid_model_name("..")
    assert not valid_model_name("a/b")


def test_a_caller_supplied_name_never_walks_out_of_the_repository(repo: Path, tmp_path: Path) -> None:
    write_model(tmp_path, "outside", 1, add_model())
    repository = ModelRepository(repo)
    for name in ("../outside", "..", "/etc", "outside\x00"):
        with pytest.raises(ModelNotFound):
            repository.read_model(name)


def test_symlinks_that_escape_the_models_directory_are_refused(repo: Path, tmp_path: Path) -> None:
    elsewhere = write_model(tmp_path / "elsewhere", "secret", 1, add_model())
    (repo / "linked").symlink_to(elsewhere.parent.parent)  # a whole model folder outside
    write_model(repo, "mixed", 1, add_model())
    (repo / "mixed" / "2").mkdir()
    (repo / "mixed" / "2" / "model.onnx").symlink_to(elsewhere)  # one version file outside
    repository = ModelRepository(repo)
    sources = {s.name: s for s in repository.scan()}
    assert "linked" not in sources
    assert sources["mixed"].available == (1,)
    assert sources["mixed"].problems == ((2, "model file resolves outside the models directory"),)
    with pytest.raises(ModelNotFound):
        repository.read_model("linked")


def test_symlinks_inside_the_models_directory_are_followed(repo: Path) -> None:
    target = write_model(repo, "real", 1, add_model())
    (repo / "alias" / "1").mkdir(parents=True)
    (repo / "alias" / "1" / "model.onnx").symlink_to(target)
    sources = {s.name: s for s in ModelRepository(repo).scan()}
    assert sources["alias"].available == (1,)


def test_folders_with_neither_model_yaml_nor_versions_are_not_models(repo: Path) -> None:
    write_model(repo, "adder", 1, add_model())
    (repo / "samples").mkdir()
    (repo / "samples" / "claims.csv").write_text("a,b\n", encoding="utf-8")
    (repo / "README.md").write_text("notes\n", encoding="utf-8")
    assert [s.name for s in ModelRepository(repo).scan()] == ["adder"]


def test_a_bad_model_yaml_is_recorded_without_hiding_other_models(repo: Path) -> None:
    write_model(repo, "adder", 1, add_model())
    write_model(repo, "broken", 1, add_model(), "batching: {max_batch: 4}\n")
    sources = {s.name: s for s in ModelRepository(repo).scan()}
    assert sources["adder"].config is not None
    assert sources["broken"].config is None
    assert sources["broken"].config_error.startswith("broken/model.yaml: ")
    assert "batching.max_batch: Extra inputs are not permitted" in sources["broken"].config_error
    assert str(repo) not in sources["broken"].config_error


def test_file_sha256_is_the_sha256_of_the_bytes(repo: Path) -> None:
    path = write_model(repo, "adder", 1, add_model())
    assert file_sha256(path) == hashlib.sha256(path.read_bytes()).hexdigest()


def test_state_book_lists_versions_in_numeric_order(repo: Path) -> None:
    repository = ModelRepository(repo)
    repository.set_state("m", "10", "READY")
    repository.set_state("m", "9", "UNAVAILABLE", "broken", failed=True)
    index = repository.index()
    assert [(e.version, e.state, e.reason) for e in index] == [
        ("9", "UNAVAILABLE", "broken"),
        ("10", "READY", ""),
    ]
    assert [e.version for e in repository.index(ready_only=True)] == ["10"]
