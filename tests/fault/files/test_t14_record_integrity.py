"""T14: mainframe files that cannot be trusted are quarantined whole, with a report naming where they
break, and no result of theirs is published: (a) a truncated last record, (b) a trailer count off by one,
(c) the wrong code page (every record rejected: over the skip limit), (d) VB data without descriptor words."""

from __future__ import annotations

import json
from pathlib import Path

from adapters.codecs.copybook import EncodeOptions, RecordEncoder, get_codepage, parse_copybook
from adapters.codecs.copybook import RecordDecoder as Decoder
from adapters.codecs.copybook.options import DecodeOptions
from tests.fault.files.conftest import (
    SAMPLES,
    TRAILER_COPYBOOK,
    files_pipeline,
    fixed_input,
    mainframe_records,
    trailer,
)
from tests.support.bridgeway_run import drop, run_process, wait_for, write_config
from tests.support.models import MODELS_DIR

RECORDS = 100


def ascii_records(records: int) -> bytes:
    """The same records written in an ASCII code page: what a transfer without EBCDIC translation sends
    when the other side expected EBCDIC."""
    layout = parse_copybook((SAMPLES / "breast-cancer-claims.cpy").read_text())
    ebcdic = mainframe_records(records)
    decoder = Decoder(layout, DecodeOptions(codepage=get_codepage("cp037")))
    encoder = RecordEncoder(layout, EncodeOptions(codepage=get_codepage("latin-1")))
    size = layout.record_length
    return b"".join(
        encoder.encode(decoder.decode(ebcdic[i : i + size]).values) for i in range(0, len(ebcdic), size)
    )


def reason(errors: Path, name: str) -> str:
    return str(json.loads((errors / f"{name}.reason.json").read_text())["reason"])


def test_untrustworthy_mainframe_files_are_quarantined_whole_naming_where_they_break(tmp_path: Path) -> None:
    (tmp_path / "trailer.cpy").write_text(TRAILER_COPYBOOK)
    with_trailer = fixed_input(
        trailer_copybook=str(tmp_path / "trailer.cpy"), trailer_count_field="TRL-COUNT"
    )
    output = {"format": "csv", "carry": ["claim_id"]}
    pipelines = [
        files_pipeline(tmp_path, "trailer", input=with_trailer, output=output),
        files_pipeline(tmp_path, "strict", input=fixed_input(), output=output, reject_limit=10),
        files_pipeline(tmp_path, "blocked", input=fixed_input(record_format="VB"), output=output),
    ]
    config = write_config(tmp_path / "bridgeway.yaml", {"models": str(MODELS_DIR), "pipelines": pipelines})
    good = mainframe_records(RECORDS)
    drops = {
        ("trailer", "TRUNCATED.DAT"): (good + trailer(RECORDS))[:-260],
        ("trailer", "OFFBYONE.DAT"): good + trailer(RECORDS + 1),
        ("strict", "ASCII.DAT"): ascii_records(RECORDS),
        ("blocked", "NORDW.DAT"): good,
    }
    with run_process(config) as process:
        for (pipeline, name), data in drops.items():
            drop(tmp_path / pipeline / "inbox", name, data)
        wait_for(lambda: all((tmp_path / p / "errors" / f"{n}.reason.json").exists() for p, n in drops), 60)
        drop(tmp_path / "trailer" / "inbox", "GOOD.DAT", good + trailer(RECORDS))
        wait_for((tmp_path / "trailer" / "outbox" / "GOOD.manifest.json").exists, 60)
        assert process.stop() == 0
    truncated = reason(tmp_path / "trailer" / "errors", "TRUNCATED.DAT")
    # The last 250 bytes are held back as the trailer, so the record cut short is record 99, at 98 x 250.
    assert "input ends inside a fixed-length record (expected 250 bytes, found 240 bytes)" in truncated
    assert "input byte offset 24500" in truncated
    off_by_one = reason(tmp_path / "trailer" / "errors", "OFFBYONE.DAT")
    assert "trailer record count does not match" in off_by_one
    assert f"expected {RECORDS + 1} records, found {RECORDS} records" in off_by_one
    wrong_page = reason(tmp_path / "strict" / "errors", "ASCII.DAT")
    assert wrong_page.startswith(f"{RECORDS} records rejected, more than reject_limit 10: record 1, field")
    assert "not a zoned decimal digit (expected F0-F9, found 30" in wrong_page
    assert "record 2," in wrong_page
    no_rdw = reason(tmp_path / "blocked" / "errors", "NORDW.DAT")
    assert "malformed record descriptor word" in no_rdw and "input byte offset 4" in no_rdw
    for pipeline in ("strict", "blocked"):
        assert list((tmp_path / pipeline / "outbox").iterdir()) == []  # 0 results for a quarantined file
    assert sorted(p.name for p in (tmp_path / "trailer" / "outbox").iterdir()) == [
        "GOOD.manifest.json",
        "GOOD.result.csv",
    ]
    for (pipeline, name), data in drops.items():
        assert (tmp_path / pipeline / "errors" / name).read_bytes() == data
