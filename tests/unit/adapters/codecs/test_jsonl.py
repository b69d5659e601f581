"""JSON Lines helpers: decimals keep exactly their digits both ways."""

from __future__ import annotations

import io
from decimal import Decimal

import pytest

from adapters.codecs import jsonl


def test_decimals_are_written_with_their_exponent_preserved() -> None:
    line = jsonl.dumps(
        {"A": Decimal("30.50"), "B": Decimal("-0.000"), "C": Decimal("1.2E+3"), "D": 7, "E": None}
    )
    assert line == '{"A":30.50,"B":-0.000,"C":1200,"D":7,"E":null}'


def test_reading_keeps_fraction_digits_as_decimals_and_integers_as_ints() -> None:
    value = jsonl.loads('{"A": 30.50, "B": [1, 2.0], "C": "Zoë"}')
    assert value == {"A": Decimal("30.50"), "B": [1, Decimal("2.0")], "C": "Zoë"}
    assert str(value["A"]) == "30.50" and type(value["B"][0]) is int


@pytest.mark.parametrize("bad", [float("nan"), Decimal("Infinity"), float("-inf")])
def test_non_finite_numbers_are_refused_when_writing(bad: object) -> None:
    with pytest.raises(ValueError, match="is not a JSON number"):
        jsonl.dumps({"X": bad})


def test_non_finite_constants_are_refused_when_reading() -> None:
    with pytest.raises(ValueError, match="NaN is not a JSON number"):
        jsonl.loads('{"X": NaN}')


def test_values_json_cannot_carry_are_a_type_error() -> None:
    with pytest.raises(TypeError, match="bytes values cannot be written as JSON"):
        jsonl.dumps({"X": b"raw"})


def test_read_records_skips_blank_lines_and_names_the_bad_line() -> None:
    stream = io.BytesIO(b'{"A": 1}\n\n{"A": 2.50}\n{oops\n')
    read = jsonl.read_records(stream)
    assert next(read) == (1, {"A": 1})
    assert next(read) == (3, {"A": Decimal("2.50")})
    with pytest.raises(ValueError, match=r"^line 4: not valid JSON"):
        next(read)
