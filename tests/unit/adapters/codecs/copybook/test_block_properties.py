"""Properties of the block codec on random layouts: round trips, sizes, and equality with the reference."""

from __future__ import annotations

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from adapters.codecs.copybook.codepages import get_codepage
from adapters.codecs.copybook.compiled import compile_layout
from adapters.codecs.copybook.encoder import RecordEncoder
from adapters.codecs.copybook.options import DecodeOptions, EncodeOptions
from adapters.codecs.errors import RecordDecodeError
from tests.unit.adapters.codecs.copybook.block_checks import (
    assert_decodes_like_reference,
    assert_encodes_like_reference,
    exact,
)
from tests.unit.adapters.codecs.copybook.block_strategies import Drawn, layouts, records

PAGES = [get_codepage(name) for name in ("cp037", "ascii", "latin-1", "cp1140", "utf-8")]
SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def cases(draw: st.DrawFn) -> tuple[Drawn, list[dict[str, object]], object, str]:
    drawn = draw(layouts())
    values = draw(st.lists(records(drawn.layout), min_size=1, max_size=6))
    return drawn, values, draw(st.sampled_from(PAGES)), draw(st.sampled_from(["ascii", "ebcdic"]))


def _codec(drawn: Drawn, page: object, zoned_sign: str, **decode: object) -> object:
    return compile_layout(
        drawn.layout,
        decode=DecodeOptions(codepage=page, **decode),  # type: ignore[arg-type]
        encode=EncodeOptions(codepage=page, zoned_sign=zoned_sign),  # type: ignore[arg-type]
    )


@SETTINGS
@given(cases())
def test_decoding_encoded_records_gives_the_values_back(case: tuple) -> None:
    drawn, values, page, zoned_sign = case
    codec = _codec(drawn, page, zoned_sign)
    block = codec.encode_records(values)
    assert block.errors == [] and not block.fallback.any(), drawn.source
    assert len(block.data) == len(values) * drawn.layout.record_length
    decoded = codec.decode(block.data)
    assert [exact(r) for r in decoded.records()] == [exact(v) for v in values], drawn.source
    assert not decoded.bad_mask().any()


@SETTINGS
@given(cases())
def test_encoding_decoded_columns_gives_the_bytes_back(case: tuple) -> None:
    drawn, values, page, zoned_sign = case
    reference = RecordEncoder(drawn.layout, EncodeOptions(codepage=page, zoned_sign=zoned_sign))  # type: ignore[arg-type]
    data = b"".join(reference.encode(v) for v in values)
    codec = _codec(drawn, page, zoned_sign)
    again = codec.encode(codec.decode(data))
    assert again.data == data, drawn.source
    assert again.lengths.tolist() == [drawn.layout.record_length] * len(values)


@SETTINGS
@given(cases(), st.data())
def test_block_decoder_equals_the_reference_on_corrupted_records(case: tuple, data: st.DataObject) -> None:
    drawn, values, page, zoned_sign = case
    reference = RecordEncoder(drawn.layout, EncodeOptions(codepage=page, zoned_sign=zoned_sign))  # type: ignore[arg-type]
    raw = [bytearray(reference.encode(v)) for v in values]
    for record in raw:
        for _ in range(data.draw(st.integers(0, 3))):
            record[data.draw(st.integers(0, len(record) - 1))] = data.draw(st.integers(0, 255))
    trim = data.draw(st.sampled_from(["right", "both", "none"]))
    assert_decodes_like_reference(_codec(drawn, page, zoned_sign, trim=trim), [bytes(r) for r in raw])


@SETTINGS
@given(layouts(), st.data())
def test_random_bytes_decode_or_give_typed_errors_like_the_reference(
    drawn: Drawn, data: st.DataObject
) -> None:
    length = drawn.layout.record_length
    raw = [
        data.draw(st.binary(min_size=length, max_size=length)) for _ in range(data.draw(st.integers(1, 5)))
    ]
    codec = _codec(drawn, data.draw(st.sampled_from(PAGES)), "ascii")
    columns = codec.decode(b"".join(raw))
    assert all(isinstance(error, RecordDecodeError) for error in columns.errors())
    assert all(error.record is not None and error.field for error in columns.errors())
    assert_decodes_like_reference(codec, raw)


@SETTINGS
@given(cases(), st.data())
def test_block_encoder_equals_the_reference_on_values_that_do_not_fit(
    case: tuple, data: st.DataObject
) -> None:
    drawn, values, page, zoned_sign = case
    spoilers = st.sampled_from([10**40, -(10**40), "text", None, 1.5e300, "x" * 40, True])
    for record in values:
        key = data.draw(st.sampled_from(sorted(record)))
        if data.draw(st.booleans()) and not isinstance(record[key], (dict, list)):
            record[key] = data.draw(spoilers)
    assert_encodes_like_reference(_codec(drawn, page, zoned_sign), values)


@SETTINGS
@given(cases())
def test_every_encoded_record_is_exactly_the_record_length(case: tuple) -> None:
    drawn, values, page, zoned_sign = case
    block = _codec(drawn, page, zoned_sign).encode_records(values)
    assert block.block.shape == (len(values), drawn.layout.record_length)
    assert all(len(r or b"") == drawn.layout.record_length for r in block.records())
    assert np.array_equal(block.lengths, np.full(len(values), drawn.layout.record_length))
