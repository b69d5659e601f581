"""bridgeway score's options become the same input/output specs as the config file's, or a clear refusal."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from adapters.cli._score_options import OptionError, ScoreOptions
from adapters.config_formats import CsvInput, FixedInput, FixedOutput, JsonlInput, JsonlOutput


def options(input_path: str, output: str, **given: Any) -> dict[str, Any]:
    keys = (
        "models_dir",
        "gateway_target",
        "token_file",
        "input_format",
        "output_format",
        "copybook",
        "encoding",
        "record_format",
        "record_length",
        "rdw_order",
        "rdw_includes_header",
        "result_copybook",
        "output_encoding",
        "delimiter",
        "timeout_s",
    )
    base: dict[str, Any] = dict.fromkeys(keys)
    base.update(
        input_path=Path(input_path),
        output=Path(output),
        model="m",
        carry=(),
        on_bad_record="reject",
        chunk_rows=100,
    )
    return {**base, **given}


def test_formats_follow_the_file_extensions() -> None:
    parsed = ScoreOptions.from_cli(options("in.csv", "out.jsonl", carry=("a,b", "c")))
    assert isinstance(parsed.input_spec, CsvInput)
    assert isinstance(parsed.output_spec, JsonlOutput) and parsed.output_spec.carry == ("a", "b", "c")
    assert isinstance(ScoreOptions.from_cli(options("in.ndjson", "o.jsonl")).input_spec, JsonlInput)


def test_a_copybook_means_fixed_width_input_and_a_result_copybook_fixed_width_output() -> None:
    parsed = ScoreOptions.from_cli(
        options(
            "IN.DAT", "OUT.DAT", copybook=Path("in.cpy"), result_copybook=Path("out.cpy"), record_format="fb"
        )
    )
    assert isinstance(parsed.input_spec, FixedInput) and parsed.input_spec.record_format == "FB"
    assert isinstance(parsed.output_spec, FixedOutput) and parsed.output_spec.record_format == "FB"
    assert parsed.models_dir == Path("models")


@pytest.mark.parametrize(
    ("given", "message"),
    [
        ({"source": "in.bin"}, "--format: cannot tell the format of in.bin"),
        ({"input_format": "jsonl", "delimiter": ";"}, "--delimiter does not apply to input format jsonl"),
        ({"input_format": "fixed"}, "--copybook is required for input format fixed"),
        ({"output_format": "fixed"}, "--result-copybook is required for output format fixed"),
        ({"encoding": "klingon"}, "--encoding: unknown text encoding 'klingon'"),
        ({"models_dir": Path("m"), "gateway_target": "h:1"}, "not both"),
        ({"token_file": Path("t")}, "--token-file goes with --gateway"),
    ],
)
def test_options_that_do_not_fit_are_refused_naming_the_option(given: dict[str, Any], message: str) -> None:
    source = given.pop("source", "in.csv")
    with pytest.raises(OptionError, match=message):
        ScoreOptions.from_cli(options(source, "out.csv", **given))
