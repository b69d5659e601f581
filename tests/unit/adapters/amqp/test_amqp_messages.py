"""Request bodies -> records and results -> reply bodies; the content-type allow-list."""

from __future__ import annotations

import json

import pytest

from adapters.amqp.errors import PoisonMessage
from adapters.amqp.messages import Delivery, JsonRecords, clip_reason, codec_for

JSON = JsonRecords()


def test_one_object_is_one_record_and_a_list_is_many_in_order() -> None:
    one = JSON.decode(b'{"a": 1}', max_records=10)
    many = JSON.decode(b'[{"a": 1}, {"a": 2}]', max_records=10)
    assert (one.records, one.many) == ([{"a": 1}], False)
    assert (many.records, many.many) == ([{"a": 1}, {"a": 2}], True)


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"\xff{}", "not UTF-8: invalid byte at offset 0"),
        (b'{"a": 1', "not JSON"),
        (b'{"a": NaN}', "NaN is not a JSON number"),
        (b"[]", "an empty list"),
        (b"42", "got a number"),
        (b'[{"a": 1}, "x"]', "record 2 of the list is a string"),
        (b"[{}, {}, {}]", "3 records in one message; at most 2"),
    ],
)
def test_bodies_that_cannot_be_records_are_poison_with_a_reason_saying_where(
    body: bytes, reason: str
) -> None:
    with pytest.raises(PoisonMessage, match=reason):
        JSON.decode(body, max_records=2)


def test_replies_mirror_the_request_shape_and_have_no_nan() -> None:
    rows = [{"p": 0.5, "x": float("nan")}, {"p": 1.0, "x": 2}]
    assert json.loads(JSON.encode(rows, many=True)) == [{"p": 0.5, "x": None}, {"p": 1.0, "x": 2}]
    assert json.loads(JSON.encode(rows[:1], many=False)) == {"p": 0.5, "x": None}


def test_content_types_are_allow_listed_and_parameters_ignored() -> None:
    codecs = {"application/json": JSON}
    allowed = ("application/json",)
    assert codec_for("application/json; charset=utf-8", allowed, codecs, JSON) is JSON
    assert codec_for(None, allowed, codecs, JSON) is JSON  # no content type: the pipeline's format
    with pytest.raises(PoisonMessage, match="'application/x-python-pickle' is not accepted"):
        codec_for("application/x-python-pickle", allowed, codecs, JSON)
    with pytest.raises(PoisonMessage, match="not accepted"):
        codec_for("application/json", (), codecs, JSON)  # a codec alone does not allow a type


def test_the_request_id_is_the_message_id_else_the_correlation_id() -> None:
    assert Delivery(1, 1, b"", message_id="m", correlation_id="c").key == "m"
    assert Delivery(1, 1, b"", correlation_id="c").key == "c"
    assert Delivery(1, 1, b"").key is None
    assert Delivery(1, 1, b"", message_id="m").reply_correlation_id == "m"


def test_the_quorum_delivery_count_header_gives_the_previous_deliveries() -> None:
    assert Delivery(1, 1, b"", headers={"x-delivery-count": 2}).previous_deliveries == 2
    assert Delivery(1, 1, b"", headers={"x-delivery-count": "junk"}).previous_deliveries == 0


def test_long_reasons_are_clipped_for_headers() -> None:
    assert len(clip_reason("x" * 5000)) == 1000 and clip_reason("short") == "short"
