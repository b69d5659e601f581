"""Fixed-width records as column chunks, and result records a COBOL program can read back."""

from __future__ import annotations

import io
from decimal import Decimal

import numpy as np
import pytest

from adapters.codecs.copybook import EncodeOptions as Options
from adapters.codecs.copybook import (
    Framing,
    RecordDecoder,
    RecordEncoder,
    TrailerCheck,
    get_codepage,
    parse_copybook,
)
from adapters.codecs.errors import RecordDecodeError, RecordLengthError, TrailerMismatch
from adapters.codecs.fixed import FixedReader, FixedWriter, ResultLayoutError, record_fields

CP037 = get_codepage("cp037")
CLAIM = parse_copybook(
    """
       01  CLAIM.
           05  ID        PIC X(4).
           05  ACCT.
               10  BALANCE   PIC S9(5)V99 COMP-3.
           05  FILLER    PIC X(2).
    """
)
TRAILER = parse_copybook("01 TRL. 05 TAG PIC X(4). 05 CNT PIC 9(4) COMP-3. 05 FILLER PIC X(3).")
RESULT = parse_copybook(
    """
       01  RESULT.
           05  CLAIM-ID      PIC X(4).
           05  P-MALIGNANT   PIC 9V9(4).
           05  RS-LABEL      PIC 9.
    """
)


def record(claim_id: str, balance: str) -> bytes:
    encoder = RecordEncoder(CLAIM, Options(codepage=CP037))
    return encoder.encode({"ID": claim_id, "ACCT": {"BALANCE": Decimal(balance)}})


def read(data: bytes, rows: int = 10, trailer: TrailerCheck | None = None):  # type: ignore[no-untyped-def]
    framing = Framing("FB", CLAIM.record_length, skip_trailer=CLAIM.record_length if trailer else 0)
    return list(FixedReader(CLAIM, framing, CP037, trailer=trailer).chunks(io.BytesIO(data), rows))


def test_groups_flatten_to_dotted_names_and_numbers_stay_exact() -> None:
    (chunk,) = read(record("A001", "123.45") + record("A002", "-0.50"))
    assert record_fields(CLAIM) == ("ID", "ACCT.BALANCE")
    assert chunk.columns["ID"].tolist() == ["A001", "A002"]
    assert chunk.columns["ACCT.BALANCE"].tolist() == [Decimal("123.45"), Decimal("-0.50")]
    assert chunk.record_numbers.tolist() == [1, 2]


def test_a_record_with_bad_packed_data_is_reported_with_field_and_the_others_decode() -> None:
    good = record("A001", "1.00")
    bad = bytearray(record("A002", "2.00"))
    bad[4:8] = b"\xff\xff\xff\xff"  # not packed decimal
    (chunk,) = read(good + bytes(bad) + good)
    assert chunk.record_numbers.tolist() == [1, 3]
    (problem,) = chunk.bad
    assert problem.record_number == 2 and problem.field == "CLAIM.ACCT.BALANCE"
    assert "record 2" in problem.reason and "FF FF FF FF" in problem.reason


def test_an_input_that_ends_inside_a_record_is_invalid_as_a_whole() -> None:
    with pytest.raises(RecordLengthError):
        read(record("A001", "1.00") + record("A002", "2.00")[:5])


def test_a_trailer_count_off_by_one_is_invalid_as_a_whole() -> None:
    trailer_record = RecordEncoder(TRAILER, Options(codepage=CP037)).encode({"TAG": "TRLR", "CNT": 3})
    check = TrailerCheck(TRAILER, "CNT")
    data = record("A001", "1.00") + record("A002", "2.00")
    with pytest.raises(TrailerMismatch, match="does not match"):
        read(data + trailer_record, trailer=check)
    good_trailer = RecordEncoder(TRAILER, Options(codepage=CP037)).encode({"TAG": "TRLR", "CNT": 2})
    assert sum(c.n_rows for c in read(data + good_trailer, trailer=check)) == 2


def test_result_records_take_result_columns_by_name_and_round_to_the_pictures_decimals() -> None:
    """``RS-LABEL`` takes ``label``: a short record prefix may lead a result field's name."""
    writer = FixedWriter(
        RESULT, Framing("F", RESULT.record_length), CP037, ["claim_id", "p_malignant", "label", "x"]
    )
    data = writer.encode(
        {
            "claim_id": np.array(["A001", "A002"], dtype=object),
            "p_malignant": np.array([0.98765, 0.5], dtype=np.float32),
            "label": np.array([1, 0]),
            "x": np.array(["ignored", "ignored"], dtype=object),
        }
    )
    decoder = RecordDecoder(RESULT)
    rows = [decoder.decode(data[i : i + RESULT.record_length]).values for i in (0, RESULT.record_length)]
    assert rows == [
        {"CLAIM-ID": "A001", "P-MALIGNANT": Decimal("0.9876"), "RS-LABEL": 1},
        {"CLAIM-ID": "A002", "P-MALIGNANT": Decimal("0.5000"), "RS-LABEL": 0},
    ]
    assert writer.failures == []


def test_a_value_that_does_not_fit_its_result_field_fails_that_row_only() -> None:
    writer = FixedWriter(
        RESULT, Framing("F", RESULT.record_length), CP037, ["claim_id", "p_malignant", "label"]
    )
    data = writer.encode(
        {
            "claim_id": np.array(["A001", "A002"], dtype=object),
            "p_malignant": np.array([0.5, 0.5]),
            "label": np.array([12, 1]),
        }
    )
    assert len(data) == RESULT.record_length
    ((row, field, reason),) = writer.failures
    assert row == 0 and "LABEL" in field and reason


def test_a_result_copybook_field_without_a_matching_column_is_a_configuration_error() -> None:
    with pytest.raises(ResultLayoutError, match="P-MALIGNANT matches no result column"):
        FixedWriter(RESULT, Framing("F", RESULT.record_length), CP037, ["claim_id", "label"])


def test_the_block_path_gives_the_reference_decoders_values_and_errors() -> None:
    from tests.support.models import MODELS_DIR

    samples = MODELS_DIR / "samples"
    layout = parse_copybook((samples / "breast-cancer-claims.cpy").read_text())
    data = bytearray((samples / "breast-cancer-claims.dat").read_bytes())
    data[3 * 250 + 20] = 0xFF  # record 4: a bad packed digit
    framing = Framing("FB", layout.record_length)
    (chunk,) = FixedReader(layout, framing, CP037).chunks(io.BytesIO(bytes(data)), 1000)
    reference = RecordDecoder(layout)
    expected: list[dict[str, object]] = []
    for i in range(200):
        try:
            values = reference.decode(bytes(data[i * 250 : (i + 1) * 250]), i + 1).values
        except RecordDecodeError as exc:  # the reference's error for the bad record
            assert chunk.bad[0].reason == str(exc) and chunk.bad[0].record_number == i + 1
            continue
        expected.append({"ID": values["CLAIM-ID"], **{k: v for k, v in values["MEASUREMENTS"].items()}})
    assert len(chunk.bad) == 1 and chunk.n_rows == 199
    for row, record in enumerate(expected):
        assert chunk.columns["CLAIM-ID"][row] == record["ID"]
        assert chunk.columns["MEASUREMENTS.MEAN-RADIUS"][row] == record["MEAN-RADIUS"]
        assert chunk.columns["MEASUREMENTS.WORST-AREA"][row] == record["WORST-AREA"]


def test_numeric_fields_can_be_read_as_floats_for_the_model() -> None:
    framing = Framing("FB", CLAIM.record_length)
    reader = FixedReader(CLAIM, framing, CP037, numeric=lambda name: name == "ACCT.BALANCE")
    (chunk,) = reader.chunks(io.BytesIO(record("A001", "123.45")), 10)
    assert chunk.columns["ACCT.BALANCE"].dtype == np.float64 and chunk.columns["ACCT.BALANCE"].tolist() == [
        123.45
    ]


def test_a_trailer_shorter_than_its_count_field_is_invalid() -> None:
    check = TrailerCheck(TRAILER, "CNT")
    framing = Framing("FB", CLAIM.record_length, skip_trailer=CLAIM.record_length)
    with pytest.raises(TrailerMismatch, match="the trailer is too short to hold its record count"):
        list(FixedReader(CLAIM, framing, CP037, trailer=check).chunks(io.BytesIO(b""), 10))


TABLES = parse_copybook(
    """
       01  ORDER-REC.
           05  LINES     PIC 9.
           05  SIZES     PIC 9(2) OCCURS 2 TIMES.
           05  ITEM      OCCURS 0 TO 3 TIMES DEPENDING ON LINES.
               10  SKU       PIC X(2).
               10  QTY       PIC 9(3).
    """
)


@pytest.mark.parametrize("record_format", ["F", "V"])
def test_tables_come_out_as_the_reference_decoder_gives_them_in_every_framing(record_format: str) -> None:
    texts = ["1" + "0708" + "AB123" + "CD456" + "EF789", "3" + "1112" + "AB123" + "CD456" + "EF789"]
    raws = [t.encode("cp037") for t in texts]
    if record_format == "V":
        framing = Framing("V")
        data = b"".join((len(r) + 4).to_bytes(2, "big") + b"\0\0" + r for r in raws)
    else:
        framing = Framing("F", TABLES.record_length)
        data = b"".join(raws)
    (chunk,) = FixedReader(TABLES, framing, CP037).chunks(io.BytesIO(data), 10)
    reference = [RecordDecoder(TABLES).decode(r).values for r in raws]
    assert set(chunk.columns) == set(record_fields(TABLES)) == {"LINES", "SIZES", "ITEM"}
    for name in record_fields(TABLES):
        assert chunk.columns[name].tolist() == [values[name] for values in reference], name
    assert chunk.columns["ITEM"].tolist()[0] == [{"SKU": "AB", "QTY": 123}]


def _framed(records: list[bytes], record_format: str) -> bytes:
    rdws = [(len(r) + 4).to_bytes(2, "big") + b"\0\0" + r for r in records]
    if record_format == "V":
        return b"".join(rdws)
    if record_format == "VB":  # two records per block
        blocks = [b"".join(rdws[i : i + 2]) for i in range(0, len(rdws), 2)]
        return b"".join((len(b) + 4).to_bytes(2, "big") + b"\0\0" + b for b in blocks)
    return b"HEADER" + b"".join(records)  # F with a 6-byte header


@pytest.mark.parametrize("record_format", ["V", "VB", "F"])
def test_framed_records_take_the_block_codec_and_give_the_reference_decoders_values_and_errors(
    record_format: str,
) -> None:
    records = [record(f"A{i:03}", f"{i}.25") for i in range(7)]
    records[3] = records[3][:5] + b"\xff" + records[3][6:]  # record 4: a bad packed digit
    framing = (
        Framing("F", CLAIM.record_length, skip_header=6) if record_format == "F" else Framing(record_format)
    )
    reader = FixedReader(CLAIM, framing, CP037)
    chunks = list(reader.chunks(io.BytesIO(_framed(records, record_format)), 3))
    assert [c.n_rows for c in chunks] == [3, 2, 1]  # three records per chunk, the bad one left out
    reference = RecordDecoder(CLAIM)
    expected = []
    for number, raw in enumerate(records, 1):
        try:
            expected.append((number, reference.decode(raw, number).values))
        except RecordDecodeError as exc:
            (bad,) = chunks[1].bad
            assert (bad.record_number, bad.field, bad.reason) == (number, exc.field, str(exc))
    assert [n for c in chunks for n in c.record_numbers.tolist()] == [n for n, _ in expected]
    assert [v for c in chunks for v in c.columns["ACCT.BALANCE"].tolist()] == [
        values["ACCT"]["BALANCE"] for _, values in expected
    ]
    assert [v for c in chunks for v in c.columns["ID"].tolist()] == [values["ID"] for _, values in expected]
