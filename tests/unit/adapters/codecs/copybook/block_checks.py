"""Assertions shared by the block codec tests: the block path equals the reference path, record by record."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from adapters.codecs.copybook.compiled import BlockCodec
from adapters.codecs.copybook.encoder import RecordEncoder
from adapters.codecs.copybook.reference import RecordDecoder
from adapters.codecs.errors import RecordEncodeError


def exact(value: Any) -> Any:
    """A comparable form that also tells 30.5 from 30.50 and 1 from 1.0 (JSON shows the difference)."""
    if isinstance(value, dict):
        return {key: exact(item) for key, item in value.items()}
    if isinstance(value, list):
        return [exact(item) for item in value]
    if isinstance(value, Decimal):
        return ("decimal", str(value))
    return (type(value).__name__, value)


def assert_decodes_like_reference(codec: BlockCodec, raw: Sequence[bytes], *, variable: bool = False) -> None:
    """``codec`` decodes ``raw`` exactly as ``RecordDecoder`` (values, errors, lengths)."""
    columns = codec.decode_records(raw) if variable else codec.decode(b"".join(raw))
    reference = RecordDecoder(codec.layout, dataclasses.replace(codec.decode_options, on_error="null"))
    rows = columns.records()
    wanted = [reference.decode(data, i + 1) for i, data in enumerate(raw)]
    for i, expected in enumerate(wanted):
        got = columns.record(i)
        assert exact(got.values) == exact(expected.values), f"record {i + 1}"
        assert exact(rows[i]) == exact(expected.values), f"record {i + 1} (records())"
        assert [str(e) for e in got.errors] == [str(e) for e in expected.errors], f"record {i + 1}"
        assert [type(e) for e in got.errors] == [type(e) for e in expected.errors]
        assert got.length == expected.length
    bad = [i for i, expected in enumerate(wanted) if expected.errors]
    assert columns.bad_mask().nonzero()[0].tolist() == bad
    assert [str(e) for e in columns.errors()] == [str(wanted[i].errors[0]) for i in bad]


def assert_encodes_like_reference(codec: BlockCodec, values: Sequence[dict[str, Any]]) -> None:
    """``codec.encode_records(values)`` gives the reference encoder's bytes or errors for every record."""
    block = codec.encode_records(values)
    reference = RecordEncoder(codec.layout, codec.encode_options)
    errors = {error.record: error for error in block.errors}
    for i, record in enumerate(values):
        try:
            expected: bytes | RecordEncodeError = reference.encode(record, i + 1)
        except RecordEncodeError as exc:
            expected = exc
        if isinstance(expected, RecordEncodeError):
            assert block.record(i) is None, f"record {i + 1} should fail: {expected}"
            assert str(errors[i + 1]) == str(expected) and type(errors[i + 1]) is type(expected)
        else:
            assert block.record(i) == expected, f"record {i + 1}"
    assert len(errors) == len(block.errors)
