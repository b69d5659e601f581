"""Fixed-width copybook records over AMQP: EBCDIC requests in, result-copybook records out."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from adapters.amqp import messages as m
from adapters.codecs.copybook import DecodeOptions, RecordDecoder, get_codepage, parse_copybook
from tests.support.amqp_adapter import Names, RunningAdapter, classifier_client, pipeline_settings
from tests.support.amqp_client import ResultCollector, publish_confirmed, request_properties
from tests.support.broker import Broker

pytestmark = pytest.mark.integration

DATA = Path(__file__).with_name("data")
OCTETS = "application/octet-stream"


def _packed(value: str, digits: int, scale: int) -> bytes:
    """IBM packed decimal (COMP-3), written by hand so the test does not trust the codec it checks."""
    number = Decimal(value)
    nibbles = f"{abs(number).scaleb(scale):0{digits}.0f}" + ("d" if number < 0 else "c")
    nibbles = nibbles.rjust(len(nibbles) + len(nibbles) % 2, "0")
    return bytes.fromhex(nibbles)


def _claim(claim_id: str, radius: str, texture: str) -> bytes:
    return claim_id.ljust(8).encode("cp037") + _packed(radius, 6, 3) + _packed(texture, 6, 3)


def _settings(broker: Broker, names: Names, tmp_path: Path) -> object:
    return pipeline_settings(
        broker.url, names.requests, tmp_path,
        input={"format": "fixed", "copybook": str(DATA / "claim.cpy"), "encoding": "cp037"},
        output={"format": "fixed", "result_copybook": str(DATA / "result.cpy"), "encoding": "cp037",
                "carry": ["CLAIM-ID"]},
    )  # fmt: skip


def test_a_message_of_claim_records_gets_one_result_record_per_claim_in_order(
    broker: Broker, names: Names, tmp_path: Path
) -> None:
    body = _claim("CLM00001", "1.500", "0.250") + _claim("CLM00002", "0.100", "0.200")
    with RunningAdapter(_settings(broker, names, tmp_path), classifier_client()):  # type: ignore[arg-type]
        with ResultCollector(broker.url, names.replies) as results:
            props = request_properties("fixed-1", reply_to=names.replies, content_type=OCTETS)
            publish_confirmed(broker.url, names.requests, [(body, props)])
            assert results.wait_for(1, timeout_s=30)
    [result] = results.snapshot()
    assert result.properties.content_type == OCTETS
    assert result.properties.headers[m.HEADER_RECORDS] == 2
    layout = parse_copybook((DATA / "result.cpy").read_text())
    decoder = RecordDecoder(layout, DecodeOptions(codepage=get_codepage("cp037")))
    size = layout.record_length
    assert len(result.body) == 2 * size
    first, second = (decoder.decode(result.body[i : i + size]).values for i in (0, size))
    assert first == {
        "RS-CLAIM-ID": "CLM00001",
        "RS-P-BENIGN": Decimal("1.750000"),
        "RS-P-MALIGNANT": Decimal("-1.750000"),
        "RS-LABEL": 1,
        "RS-MODEL-VERSION": "1",
    }
    assert second["RS-CLAIM-ID"] == "CLM00002" and second["RS-LABEL"] == 0
    assert second["RS-P-BENIGN"] == pytest.approx(Decimal("0.300000"), abs=Decimal("0.000001"))


def test_a_record_that_does_not_decode_dead_letters_the_message_naming_record_and_field(
    broker: Broker, names: Names, tmp_path: Path
) -> None:
    bad_packed = b"\x00\x01\x5a\x0c"  # 'a' is no digit
    body = (
        _claim("CLM00001", "1.500", "0.250") + "CLM00002".encode("cp037") + bad_packed + _packed("0.2", 6, 3)
    )
    with RunningAdapter(_settings(broker, names, tmp_path), classifier_client()) as adapter:  # type: ignore[arg-type]
        props = request_properties("fixed-bad", reply_to=names.replies, content_type=OCTETS)
        publish_confirmed(broker.url, names.requests, [(body, props)])
        assert adapter.journal.wait_for("dead_lettered", timeout_s=30) is not None
    [(_, dead, _)] = broker.get_all(names.dead_letters)
    reason = dead.headers[m.HEADER_ERROR]
    assert "MEAN-RADIUS" in reason and "record 2" in reason
    assert dead.headers[m.HEADER_ERROR_KIND] == "poison"


def test_a_body_that_is_not_a_whole_number_of_records_is_poison(
    broker: Broker, names: Names, tmp_path: Path
) -> None:
    body = _claim("CLM00001", "1.500", "0.250")[:-3]
    with RunningAdapter(_settings(broker, names, tmp_path), classifier_client()) as adapter:  # type: ignore[arg-type]
        props = request_properties("fixed-short", reply_to=names.replies, content_type=OCTETS)
        publish_confirmed(broker.url, names.requests, [(body, props)])
        assert adapter.journal.wait_for("dead_lettered", timeout_s=30) is not None
    [(_, dead, _)] = broker.get_all(names.dead_letters)
    assert dead.headers[m.HEADER_ERROR]
