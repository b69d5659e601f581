"""Round-trip properties of the reference path: decode(encode(x)) == x and the size is the field's."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from adapters.codecs.copybook.codepages import get_codepage
from adapters.codecs.copybook.encoder import RecordEncoder
from adapters.codecs.copybook.fields import decode_field, encode_field
from adapters.codecs.copybook.parser import parse_copybook
from adapters.codecs.copybook.reference import RecordDecoder
from adapters.codecs.errors import InvalidPackedData
from tests.unit.adapters.codecs.copybook.strategies import NumericShape, shapes_with_values

CP037 = get_codepage("cp037")
ASCII = get_codepage("ascii")


@settings(max_examples=300, deadline=None)
@given(shapes_with_values(), st.sampled_from([CP037, ASCII]), st.sampled_from(["ascii", "ebcdic"]))
def test_every_numeric_shape_round_trips_exactly(
    case: tuple[NumericShape, int | Decimal], page: object, zoned_sign: str
) -> None:
    shape, value = case
    field = shape.field()
    data = encode_field(field, value, page, zoned_sign=zoned_sign)  # type: ignore[arg-type]
    assert len(data) == field.size
    decoded = decode_field(field, data, page)  # type: ignore[arg-type]
    assert decoded == value and str(decoded) == str(value)


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.characters(codec="cp037", exclude_characters=" \x00"), max_size=12))
def test_text_round_trips_without_its_padding(text: str) -> None:
    field = parse_copybook("01 R. 05 F PIC X(12).").fields[0]
    assert decode_field(field, encode_field(field, text, CP037), CP037) == text


@settings(max_examples=200, deadline=None)
@given(
    st.integers(1, 18).flatmap(
        lambda d: st.tuples(st.just(d), st.binary(min_size=d // 2 + 1, max_size=d // 2 + 1))
    )
)
def test_packed_bytes_either_decode_and_re_encode_or_raise_a_packed_error(case: tuple[int, bytes]) -> None:
    digits, data = case
    field = parse_copybook(f"01 R. 05 F PIC S9({digits}) COMP-3.").fields[0]
    try:
        value = decode_field(field, data, CP037)
    except InvalidPackedData:
        return
    preferred = data[:-1] + bytes([(data[-1] & 0xF0) | (0xD if value < 0 else 0xC)])  # type: ignore[operator]
    assert encode_field(field, value, CP037) == preferred


LAYOUT = parse_copybook(
    "01 R. 05 ID PIC 9(6) COMP. 05 NAME PIC X(8). 05 N PIC 9. "
    "05 ITEMS OCCURS 0 TO 4 DEPENDING ON N. 10 QTY PIC S9(3) COMP-3. 10 PRICE PIC 9(5)V99."
)


@settings(max_examples=100, deadline=None)
@given(
    st.integers(0, 999999),
    st.text(alphabet="ABCXYZ 019", max_size=8).map(str.rstrip),
    st.lists(st.tuples(st.integers(-999, 999), st.integers(0, 9999999)), max_size=4),
)
def test_records_round_trip_through_the_encoder_and_decoder(
    ident: int, name: str, items: list[tuple[int, int]]
) -> None:
    values = {
        "ID": ident,
        "NAME": name,
        "N": len(items),
        "ITEMS": [{"QTY": q, "PRICE": Decimal(f"{p}E-2")} for q, p in items],
    }
    record = RecordEncoder(LAYOUT).encode(values)
    assert len(record) == 4 + 8 + 1 + len(items) * 9
    assert RecordDecoder(LAYOUT).decode(record).values == values
