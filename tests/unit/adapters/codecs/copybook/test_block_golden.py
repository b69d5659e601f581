"""Golden records: every case of the shared Cobrix corpus decodes identically through the block codec and the
reference decoder (values, errors, lengths), and re-encodes identically through both encoders."""

from __future__ import annotations

import dataclasses
import itertools
import os
from pathlib import Path

import pytest

from adapters.codecs.copybook.compiled import compile_layout
from adapters.codecs.copybook.options import EncodeOptions
from tests.conformance.cobrix_adapter import Case, cases, decoder_for, layout_for, raw_records
from tests.unit.adapters.codecs.copybook.block_checks import (
    assert_decodes_like_reference,
    assert_encodes_like_reference,
)


def _corpus() -> Path | None:
    """The corpus folder: ``$BRIDGEWAY_SHARED/conformance/cobrix``, else ``shared/`` beside the clone."""
    configured = os.environ.get("BRIDGEWAY_SHARED")
    shared = Path(configured) if configured else Path(__file__).parents[5] / ".." / "shared"
    folder = shared / "conformance" / "cobrix"
    return folder.resolve() if (folder / "cases.json").is_file() else None


CORPUS = _corpus()
RECORDS = 300  # per case: every layout feature shows up well before; keeps the suite fast
CASES = cases(CORPUS) if CORPUS else []


@pytest.fixture(scope="module", autouse=True)
def _corpus_present() -> None:
    if CORPUS is None:
        message = "Cobrix corpus not found (set BRIDGEWAY_SHARED)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(f"NO CONFORMANCE CORPUS: {message}")


@pytest.mark.parametrize("case", CASES or [None], ids=[c.id for c in CASES] or ["no-corpus"])
def test_corpus_case_decodes_and_encodes_like_the_reference(case: Case) -> None:
    layout = layout_for(case)
    reference = decoder_for(case, layout)
    raw = list(itertools.islice(raw_records(case, layout, reference), RECORDS))
    for trim in ("none", "right"):
        options = dataclasses.replace(reference.options, trim=trim)
        codec = compile_layout(
            layout,
            decode=options,
            encode=EncodeOptions(codepage=options.codepage, odo=options.odo, segments=options.segments),
        )
        assert_decodes_like_reference(codec, raw, variable=True)
    decoded = codec.decode_records(raw)
    assert_encodes_like_reference(codec, [decoded.record(i).values for i in range(len(raw))])
