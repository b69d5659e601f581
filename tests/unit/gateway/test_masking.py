"""gateway.masking: configured field names are masked in structured fields and in free text."""

from __future__ import annotations

from gateway.masking import MASK, Masker

CANARY = "123-45-6789"


def test_masked_keys_are_hidden_at_any_depth_and_match_like_record_fields() -> None:
    masker = Masker(["national-id", "Email"])
    masked = masker.fields({"NATIONAL_ID": CANARY, "rows": [{"email": "a@b.invalid", "amount": 3}]})
    assert masked == {"NATIONAL_ID": MASK, "rows": [{"email": MASK, "amount": 3}]}


def test_masked_names_are_hidden_in_free_text_in_the_usual_forms() -> None:
    masker = Masker(["national_id"])
    for text in (
        f"national_id={CANARY} rejected",
        f"record {{'national_id': '{CANARY}', 'x': 1}}",
        f'{{"NATIONAL-ID": "{CANARY}"}}',
        f"nationalId: {CANARY}, next",
    ):
        assert CANARY not in masker.text(text), text
    assert masker.text("international_id=7") == "international_id=7"


def test_an_empty_masker_changes_nothing() -> None:
    value = {"national_id": CANARY}
    assert Masker([]).fields(value) is value
    assert not Masker([" "])


def test_the_json_log_formatter_masks_configured_fields_in_extras_messages_and_exceptions() -> None:
    import json
    import logging

    from gateway.logs import JsonFormatter

    try:
        raise ValueError(f"cannot parse national_id={CANARY}")
    except ValueError as exc:
        record = logging.makeLogRecord(
            {
                "msg": "rejected %s",
                "args": (f"NATIONAL-ID: {CANARY}",),
                "record": {"national_id": CANARY, "amount": 7},
                "exc_info": (ValueError, exc, exc.__traceback__),
            }
        )
    line = JsonFormatter(mask=["national_id"]).format(record)
    assert CANARY not in line
    assert json.loads(line)["record"] == {"national_id": MASK, "amount": 7}
    assert CANARY in JsonFormatter().format(record)  # nothing is masked unless configured
