"""JSON Lines records as column chunks: exact numbers, dotted names for nested objects, bad lines."""

from __future__ import annotations

import io
import json
from decimal import Decimal

import numpy as np

from adapters.codecs.jsonl_columns import JsonlReader, JsonlWriter


def chunks(data: bytes, rows: int = 100, **kw):  # type: ignore[no-untyped-def]
    return list(JsonlReader(**kw).chunks(io.BytesIO(data), rows))


def test_numbers_keep_their_exact_digits() -> None:
    (chunk,) = chunks(b'{"amount": 30.50, "count": 3}\n')
    assert chunk.columns["amount"].tolist() == [Decimal("30.50")]
    assert chunk.columns["count"].tolist() == [3]


def test_nested_objects_become_dotted_field_names_and_missing_fields_none() -> None:
    (chunk,) = chunks(b'{"claim": {"id": "A", "acct": {"balance": 1}}}\n{"claim": {"id": "B"}}\n')
    assert chunk.columns["claim.id"].tolist() == ["A", "B"]
    assert chunk.columns["claim.acct.balance"].tolist() == [1, None]


def test_record_numbers_are_line_numbers_and_blank_lines_are_skipped_but_counted() -> None:
    (chunk,) = chunks(b'{"a": 1}\n\n{"a": 2}\n')
    assert chunk.record_numbers.tolist() == [1, 3]


def test_a_bad_line_is_reported_by_line_number_and_the_lines_around_it_are_read() -> None:
    (chunk,) = chunks(b'{"a": 1}\n{oops\n[1, 2]\n\xff\n{"a": NaN}\n{"a": 2}\n')
    assert chunk.record_numbers.tolist() == [1, 6]
    reasons = {b.record_number: b.reason for b in chunk.bad}
    assert reasons[2].startswith("not valid JSON")
    assert reasons[3] == "expected a JSON object, found a list"
    assert reasons[4] == "not valid utf-8 text at byte 0"
    assert reasons[5].startswith("not valid JSON")


def test_chunks_hold_at_most_the_requested_number_of_records() -> None:
    data = b"".join(b'{"a": %d}\n' % i for i in range(7))
    assert [c.n_rows for c in chunks(data, rows=3)] == [3, 3, 1]


def test_only_wanted_fields_are_returned() -> None:
    (chunk,) = chunks(b'{"a": 1, "b": 2}\n', wanted=lambda name: name == "a")
    assert list(chunk.columns) == ["a"]


def test_the_writer_writes_one_object_per_row_with_keys_in_column_order() -> None:
    writer = JsonlWriter(["id", "p", "label", "amount"])
    data = writer.encode(
        {
            "id": np.array(['x"y', None], dtype=object),
            "p": np.array([0.93584883, np.nan], dtype=np.float32),
            "label": np.array([1, 0]),
            "amount": np.array([Decimal("30.50"), 7], dtype=object),
        }
    )
    lines = data.decode().splitlines()
    assert lines[0] == '{"id":"x\\"y","p":0.93584883,"label":1,"amount":30.50}'
    assert json.loads(lines[1]) == {"id": None, "p": None, "label": 0, "amount": 7}
