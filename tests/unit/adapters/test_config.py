"""bridgeway.yaml: the design's example loads as written, and every mistake names the file, line and key."""

from __future__ import annotations

from pathlib import Path

import pytest

from adapters.config import (
    AmqpSource,
    ConfigFileError,
    CsvInput,
    FilesSource,
    LocalInference,
    RemoteInference,
    load_config,
)

DESIGN_EXAMPLE = """\
models: models
gateway: {host: 127.0.0.1, port: 8001, metrics_port: 8002}     # optional
inference: {mode: local}            # or {mode: remote, target: "host:8001"}
pipelines:
  - name: erp-claims
    model: breast-cancer            # name or name:version
    source: {kind: files, inbox: in, outbox: out, archive: archive, errors: errors,
             pattern: "*.csv", ready: done-file}        # ready: done-file | rename | stable
    input: {format: csv}            # csv | jsonl | fixed (+ copybook, encoding, record_format)
    output: {format: csv, carry: [claim_id]}
    on_bad_record: reject           # reject (to a rejects file) | fail (whole file to errors/)
  - name: scoring-queue
    model: breast-cancer
    source: {kind: amqp, url: "amqp://guest:guest@127.0.0.1:5672/%2F", queue: bridgeway.requests,
             prefetch: 512, batch: {max_messages: 256, max_wait_ms: 5}}
    input: {format: json}           # json | fixed
    output: {format: json}          # replies to reply_to with correlation_id, or to {exchange, routing_key}
"""


def write(tmp_path: Path, text: str, name: str = "bridgeway.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def problems(tmp_path: Path, text: str) -> list[str]:
    with pytest.raises(ConfigFileError) as caught:
        load_config(write(tmp_path, text))
    assert caught.value.source == "bridgeway.yaml"
    return caught.value.problems


def test_the_design_example_loads_as_written(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, DESIGN_EXAMPLE))
    files, queue = config.pipelines
    assert isinstance(config.inference, LocalInference)
    assert config.gateway is not None and config.gateway.port == 8001
    assert isinstance(files.source, FilesSource) and files.source.ready == "done-file"
    assert isinstance(files.input, CsvInput) and files.result.carry == ("claim_id",)
    assert isinstance(queue.source, AmqpSource) and queue.source.batch.max_messages == 256


def test_relative_paths_resolve_against_the_config_files_folder_not_the_working_directory(
    tmp_path: Path,
) -> None:
    config = load_config(write(tmp_path, DESIGN_EXAMPLE))
    source = config.pipelines[0].source
    assert isinstance(source, FilesSource)
    assert config.models == tmp_path.resolve() / "models"
    assert source.inbox == tmp_path.resolve() / "in"
    assert config.pipelines[0].work_folder == tmp_path.resolve() / "work" / "erp-claims"


def test_the_amqp_url_never_shows_in_the_config_objects_text(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, DESIGN_EXAMPLE))
    assert "guest:guest" not in repr(config) and "guest:guest" not in str(config.pipelines[1])


def test_a_typo_is_reported_with_line_path_and_the_intended_key(tmp_path: Path) -> None:
    text = DESIGN_EXAMPLE.replace("pattern:", "patern:")
    assert problems(tmp_path, text) == [
        "8: pipelines[0] (erp-claims).source.patern: unknown key 'patern' (did you mean 'pattern'?)"
    ]


def test_a_missing_key_is_reported_at_its_parents_line(tmp_path: Path) -> None:
    text = DESIGN_EXAMPLE.replace("outbox: out, ", "")
    assert problems(tmp_path, text) == ["7: pipelines[0] (erp-claims).source.outbox: required key is missing"]


def test_an_option_of_another_format_says_which_format_it_belongs_to(tmp_path: Path) -> None:
    text = DESIGN_EXAMPLE.replace("input: {format: csv}", "input: {format: jsonl, delimiter: ';'}")
    (message,) = problems(tmp_path, text)
    assert message.startswith("9: pipelines[0] (erp-claims).input.delimiter:")
    assert "applies to format csv" in message


def test_an_unknown_source_kind_lists_the_known_ones(tmp_path: Path) -> None:
    text = DESIGN_EXAMPLE.replace("kind: files", "kind: ftp")
    (message,) = problems(tmp_path, text)
    assert "'ftp' is not a known kind (one of: amqp, files)" in message


def test_every_mistake_in_a_file_is_reported_at_once(tmp_path: Path) -> None:
    text = DESIGN_EXAMPLE.replace("ready: done-file", "ready: sometime").replace(
        "model: breast-cancer ", "model: x:0 "
    )
    found = problems(tmp_path, text)
    assert len(found) == 2
    assert any("model: NAME or NAME:VERSION" in p for p in found)
    assert any("source.ready: Input should be 'done-file', 'rename' or 'stable'" in p for p in found)


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ("inference: {mode: remote, target: nohost}", "inference.target: 'nohost' is not 'host:port'"),
        ("inference: {mode: remote}", "give exactly one of 'target' (host:port) or 'targets'"),
        (
            "inference: {mode: remote, target: 'h:1', tls: {client_cert: c.pem}}",
            "client_cert and client_key go",
        ),
    ],
)
def test_remote_inference_settings_are_checked(tmp_path: Path, change: str, expected: str) -> None:
    text = DESIGN_EXAMPLE.replace("inference: {mode: local}", change)
    assert any(expected in p for p in problems(tmp_path, text))


def test_remote_inference_takes_a_list_of_targets(tmp_path: Path) -> None:
    text = DESIGN_EXAMPLE.replace(
        "inference: {mode: local}", "inference: {mode: remote, targets: ['a:1', 'b:2']}"
    )
    inference = load_config(write(tmp_path, text)).inference
    assert isinstance(inference, RemoteInference) and inference.all_targets == ("a:1", "b:2")


def test_two_pipelines_may_not_share_a_name(tmp_path: Path) -> None:
    text = DESIGN_EXAMPLE.replace("name: scoring-queue", "name: erp-claims")
    assert any("pipeline name 'erp-claims' is used twice" in p for p in problems(tmp_path, text))


def test_one_folder_in_two_roles_is_refused(tmp_path: Path) -> None:
    text = DESIGN_EXAMPLE.replace("archive: archive", "archive: in")
    assert problems(tmp_path, text) == [
        "pipelines[0] (erp-claims).source: inbox and archive are the same folder ("
        + str(tmp_path.resolve() / "in")
        + ")"
    ]


def test_a_folder_inside_the_inbox_is_refused(tmp_path: Path) -> None:
    text = DESIGN_EXAMPLE.replace("errors: errors", "errors: in/errors")
    assert any("errors: " in p and "is inside the inbox" in p for p in problems(tmp_path, text))


def test_a_files_pipeline_refuses_the_message_formats(tmp_path: Path) -> None:
    text = DESIGN_EXAMPLE.replace("input: {format: csv}", "input: {format: json}")
    assert any("a files source reads files: use csv or jsonl or fixed" in p for p in problems(tmp_path, text))


def test_fixed_width_input_needs_a_copybook_and_an_output_section(tmp_path: Path) -> None:
    text = DESIGN_EXAMPLE.replace("input: {format: csv}", "input: {format: fixed}")
    assert any("input.copybook: required key is missing" in p for p in problems(tmp_path, text))
    text = text.replace("{format: fixed}", "{format: fixed, copybook: c.cpy}").replace(
        "    output: {format: csv, carry: [claim_id]}\n", "", 1
    )
    assert any("fixed-width input needs an output section" in p for p in problems(tmp_path, text))


def test_an_unknown_text_encoding_or_code_page_is_named(tmp_path: Path) -> None:
    text = DESIGN_EXAMPLE.replace("input: {format: csv}", "input: {format: csv, encoding: klingon}")
    assert any("unknown text encoding 'klingon'" in p for p in problems(tmp_path, text))
    text = DESIGN_EXAMPLE.replace(
        "input: {format: csv}", "input: {format: fixed, copybook: c, encoding: cp99999}"
    )
    assert any("unknown code page 'cp99999'" in p for p in problems(tmp_path, text))


def test_a_file_that_is_not_yaml_or_not_a_mapping_says_so(tmp_path: Path) -> None:
    assert problems(tmp_path, "pipelines: [")[0].startswith("not valid YAML")
    assert problems(tmp_path, "- a\n- b\n") == ["expected a mapping at the top level, got list"]


def test_the_report_prefixes_every_problem_with_the_file_name(tmp_path: Path) -> None:
    with pytest.raises(ConfigFileError) as caught:
        load_config(write(tmp_path, DESIGN_EXAMPLE.replace("kind: files", "kind: ftp")))
    assert caught.value.report().startswith("bridgeway.yaml:7: pipelines[0] (erp-claims).source:")
