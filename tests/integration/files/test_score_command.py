"""``bridgeway score`` as a process: every format, local and remote, its summary line and exit codes."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
from decimal import Decimal
from pathlib import Path

import pytest

from adapters.codecs.copybook import RecordDecoder, get_codepage, parse_copybook
from adapters.codecs.copybook.options import DecodeOptions
from tests.integration.files.conftest import SAMPLES, expected_claims
from tests.support.bridgeway_run import score
from tests.support.gateway_process import GatewayProcess
from tests.support.models import MODELS_DIR

CLAIMS = SAMPLES / "breast-cancer-claims.csv"
SUMMARY = re.compile(r"^scored ([\d,]+) records, rejected ([\d,]+).*; model (\S+) version (\S+); [\d.]+ s, ")


def summary(stdout: str) -> tuple[int, int, str, str]:
    match = SUMMARY.match(stdout.strip().splitlines()[-1])
    assert match is not None, stdout
    return int(match[1].replace(",", "")), int(match[2].replace(",", "")), match[3], match[4]


def read_csv(path: Path) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(path.read_text(encoding="utf-8"))))


def assert_scores_match(rows: list[dict[str, str]], key: str = "claim_id") -> None:
    expected = expected_claims()
    assert len(rows) == len(expected)
    for row in rows:
        label, p_malignant = expected[row[key]]
        assert int(row["label"]) == label
        assert float(row["p_malignant"]) == pytest.approx(p_malignant, abs=1e-6)


def test_a_csv_file_is_scored_in_process_with_a_one_line_summary(tmp_path: Path) -> None:
    out = tmp_path / "claims.result.csv"
    done = score(
        [
            str(CLAIMS),
            "-o",
            str(out),
            "--model",
            "breast-cancer",
            "--models",
            str(MODELS_DIR),
            "--carry",
            "claim_id",
        ],
        tmp_path,
    )
    assert done.returncode == 0, done.stderr
    assert summary(done.stdout) == (200, 0, "breast-cancer", "2")
    rows = read_csv(out)
    assert_scores_match(rows)
    assert {r["input_sha256"] for r in rows} == {hashlib.sha256(CLAIMS.read_bytes()).hexdigest()}
    assert [int(r["record_no"]) for r in rows] == list(range(1, 201))
    assert not any(p.name.startswith(".") for p in tmp_path.iterdir())


def test_the_same_file_scores_the_same_through_a_remote_gateway(
    tmp_path: Path, serve_gateway: GatewayProcess
) -> None:
    out = tmp_path / "remote.csv"
    done = score(
        [
            str(CLAIMS),
            "-o",
            str(out),
            "--model",
            "breast-cancer",
            "--gateway",
            serve_gateway.address,
            "--carry",
            "claim_id",
        ],
        tmp_path,
    )
    assert done.returncode == 0, done.stderr
    assert summary(done.stdout)[:2] == (200, 0)
    assert_scores_match(read_csv(out))


def test_json_lines_in_and_out_keep_carried_amounts_exact(tmp_path: Path) -> None:
    rows = read_csv(CLAIMS)
    source = tmp_path / "claims.jsonl"
    lines = []
    for i, row in enumerate(rows):
        record = {k: float(v) for k, v in row.items() if k != "claim_id"}
        lines.append(json.dumps({"claim_id": row["claim_id"], "amount": "__AMOUNT__", **record}))
        lines[-1] = lines[-1].replace('"__AMOUNT__"', f"{i}.50")
    source.write_text("\n".join(lines) + "\n", encoding="utf-8")
    out = tmp_path / "claims.result.jsonl"
    done = score(
        [
            str(source),
            "-o",
            str(out),
            "--model",
            "breast-cancer",
            "--models",
            str(MODELS_DIR),
            "--carry",
            "claim_id,amount",
        ],
        tmp_path,
    )
    assert done.returncode == 0, done.stderr
    results = [json.loads(line, parse_float=Decimal) for line in out.read_text().splitlines()]
    assert [r["amount"] for r in results[:3]] == [Decimal("0.50"), Decimal("1.50"), Decimal("2.50")]
    assert '"amount":0.50,' in out.read_text().splitlines()[0]
    assert_scores_match([{k: str(v) for k, v in r.items()} for r in results])


def test_mainframe_records_are_scored_into_result_records_of_the_result_copybook(tmp_path: Path) -> None:
    out = tmp_path / "CLAIMS.RESULT.DAT"
    done = score(
        [
            str(SAMPLES / "breast-cancer-claims.dat"),
            "--copybook",
            str(SAMPLES / "breast-cancer-claims.cpy"),
            "--record-format",
            "FB",
            "-o",
            str(out),
            "--result-copybook",
            str(SAMPLES / "breast-cancer-result.cpy"),
            "--carry",
            "claim_id",
            "--model",
            "breast-cancer",
            "--models",
            str(MODELS_DIR),
        ],
        tmp_path,
    )
    assert done.returncode == 0, done.stderr
    layout = parse_copybook((SAMPLES / "breast-cancer-result.cpy").read_text())
    data = out.read_bytes()
    assert len(data) == 200 * layout.record_length
    decoder = RecordDecoder(layout, DecodeOptions(codepage=get_codepage("cp037")))
    expected = expected_claims()
    for i in range(200):
        values = decoder.decode(data[i * layout.record_length : (i + 1) * layout.record_length]).values
        label, p_malignant = expected[values["RS-CLAIM-ID"]]
        assert values["RS-LABEL"] == label and values["RS-RECORD-NO"] == i + 1
        assert abs(float(values["RS-P-MALIGNANT"]) - p_malignant) <= 1e-6  # six decimals of a float32
        assert values["RS-MODEL-NAME"] == "breast-cancer" and values["RS-MODEL-VERSION"] == "2"


def test_a_cp1252_semicolon_export_is_read_in_its_own_encoding(tmp_path: Path) -> None:
    text = CLAIMS.read_text(encoding="utf-8").replace(",", ";").replace("CLM-00001", "CLM-Zoë")
    source = tmp_path / "export.csv"
    source.write_bytes(text.encode("cp1252"))
    out = tmp_path / "export.result.csv"
    done = score(
        [
            str(source),
            "-o",
            str(out),
            "--model",
            "breast-cancer",
            "--models",
            str(MODELS_DIR),
            "--encoding",
            "cp1252",
            "--delimiter",
            ";",
            "--carry",
            "claim_id",
        ],
        tmp_path,
    )
    assert done.returncode == 0, done.stderr
    assert out.read_text(encoding="utf-8").splitlines()[1].startswith("CLM-Zoë;")


def test_bad_records_go_to_the_rejects_file_with_record_number_field_and_reason(tmp_path: Path) -> None:
    lines = CLAIMS.read_text().splitlines()
    lines[5] = lines[5].replace(",", ",x", 1)  # record 5: mean_radius is not a number
    lines[9] = lines[9] + ",extra"  # record 9: one field too many
    source = tmp_path / "claims.csv"
    source.write_text("\n".join(lines) + "\n")
    done = score(
        [
            str(source),
            "-o",
            str(tmp_path / "out.csv"),
            "--model",
            "breast-cancer",
            "--models",
            str(MODELS_DIR),
            "--carry",
            "claim_id",
        ],
        tmp_path,
    )
    assert done.returncode == 0, done.stderr
    assert summary(done.stdout)[:2] == (198, 2)
    rejects = read_csv(tmp_path / "out.rejects.csv")
    assert [(r["record_no"], r["field"]) for r in rejects] == [("5", "mean_radius"), ("9", "")]
    assert (
        rejects[0]["reason"].startswith("not a number: 'x")
        and rejects[0]["claim_id"] == lines[5].split(",")[0]
    )
    assert rejects[1]["reason"] == "expected 31 fields, saw 32"


def test_on_bad_record_fail_exits_1_naming_the_record_and_writes_no_result(tmp_path: Path) -> None:
    lines = CLAIMS.read_text().splitlines()
    lines[3] = lines[3].replace(",", ",x", 1)
    source = tmp_path / "claims.csv"
    source.write_text("\n".join(lines) + "\n")
    done = score(
        [
            str(source),
            "-o",
            str(tmp_path / "out.csv"),
            "--model",
            "breast-cancer",
            "--models",
            str(MODELS_DIR),
            "--on-bad-record",
            "fail",
        ],
        tmp_path,
    )
    assert done.returncode == 1
    assert "record 3, field mean_radius: not a number" in done.stderr
    assert "Traceback" not in done.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["claims.csv"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--delimiter", ";", "--format", "jsonl"], "--delimiter does not apply to input format jsonl"),
        (["--model", "no-such-model"], "unknown model 'no-such-model'"),
        (["--gateway", "127.0.0.1:1", "--models", "."], "not both"),
    ],
)
def test_mistakes_give_one_clear_line_and_no_traceback(tmp_path: Path, args: list[str], message: str) -> None:
    base = [str(CLAIMS), "-o", str(tmp_path / "o.csv")]
    if "--model" not in args:
        base += ["--model", "breast-cancer"]
    if "--gateway" not in args:
        base += ["--models", str(MODELS_DIR)]
    done = score([*base, *args], tmp_path)
    assert done.returncode in (1, 2)
    assert message in done.stderr and "Traceback" not in done.stderr
