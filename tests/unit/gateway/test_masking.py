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
