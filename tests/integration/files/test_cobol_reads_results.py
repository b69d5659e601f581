"""Result records are what a COBOL program reads: GnuCOBOL compiles a reader with the result copybook."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from tests.integration.files.conftest import SAMPLES, expected_claims
from tests.support.bridgeway_run import score
from tests.support.models import MODELS_DIR

READER = """\
       IDENTIFICATION DIVISION.
       PROGRAM-ID. READRES.
       ENVIRONMENT DIVISION.
       INPUT-OUTPUT SECTION.
       FILE-CONTROL.
           SELECT RESULTS ASSIGN TO "RESULTS"
               ORGANIZATION IS SEQUENTIAL.
       DATA DIVISION.
       FILE SECTION.
       FD  RESULTS.
       COPY "breast-cancer-result.cpy".
       WORKING-STORAGE SECTION.
       01  WS-EOF                PIC X VALUE "N".
       01  WS-COUNT              PIC 9(9) VALUE 0.
       PROCEDURE DIVISION.
           OPEN INPUT RESULTS
           PERFORM UNTIL WS-EOF = "Y"
               READ RESULTS
                   AT END MOVE "Y" TO WS-EOF
                   NOT AT END
                       ADD 1 TO WS-COUNT
                       DISPLAY RS-CLAIM-ID "|" RS-LABEL "|"
                           RS-P-MALIGNANT "|" RS-MODEL-VERSION "|"
                           RS-RECORD-NO
               END-READ
           END-PERFORM
           CLOSE RESULTS
           DISPLAY "COUNT " WS-COUNT
           STOP RUN.
"""


@pytest.fixture(scope="module")
def cobc() -> str:
    found = shutil.which("cobc")
    if found is None:
        pytest.skip("GnuCOBOL (cobc) is not installed: apt-get install gnucobol3")
    return found


def test_a_cobol_program_reads_back_every_result_record(tmp_path: Path, cobc: str) -> None:
    results = tmp_path / "RESULTS"
    done = score(
        [
            str(SAMPLES / "breast-cancer-claims.csv"),
            "-o",
            str(results),
            "--output-format",
            "fixed",
            "--result-copybook",
            str(SAMPLES / "breast-cancer-result.cpy"),
            "--output-encoding",
            "ascii",
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
    (tmp_path / "readres.cob").write_text(READER)
    subprocess.run(
        [cobc, "-x", "-I", str(SAMPLES), "-o", str(tmp_path / "readres"), str(tmp_path / "readres.cob")],
        check=True,
        capture_output=True,
        timeout=120,
    )
    shown = subprocess.run(
        [str(tmp_path / "readres")], cwd=tmp_path, capture_output=True, text=True, timeout=60
    )
    assert shown.returncode == 0, shown.stderr
    lines = shown.stdout.splitlines()
    assert lines[-1] == "COUNT 000000200"
    expected = expected_claims()
    for number, line in enumerate(lines[:-1], start=1):
        claim_id, label, p_malignant, version, record_no = (part.strip() for part in line.split("|"))
        assert int(label) == expected[claim_id][0]
        assert abs(float(p_malignant) - expected[claim_id][1]) <= 1e-6  # DISPLAY shows 9V9(6) as 0.973304
        assert version == "2" and int(record_no) == number
