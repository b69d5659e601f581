"""Which input names the folder protocol accepts, and how refused ones are shown."""

from __future__ import annotations

import pytest

from adapters.files.names import name_problem, safe_name


@pytest.mark.parametrize("name", [b"claims.csv", "Zoë 2024-05 (v2).csv".encode(), b"-rf.csv", b"a" * 255])
def test_ordinary_names_are_accepted(name: bytes) -> None:
    assert name_problem(name) is None


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        (b"a\x00b.csv", "NUL byte"),
        (b"../x.csv", "a path, not a file name"),
        (b"..", "a path, not a file name"),
        (b"bad\nname.csv", "control character (U+000A)"),
        (b"tab\there.csv", "control character (U+0009)"),
        (b"\xff\xfe.csv", "not valid UTF-8 (byte 0: 0xFF)"),
        ("invoice\u202egpj.csv".encode(), "format or invisible character (U+202E)"),
        ("line\u2028sep.csv".encode(), "format or invisible character (U+2028)"),
        (b"a" * 256, "256 bytes long"),
    ],
)
def test_hostile_names_are_refused_with_the_reason(name: bytes, reason: str) -> None:
    problem = name_problem(name)
    assert problem is not None and reason in problem


def test_a_name_whose_derived_output_name_would_be_too_long_is_refused() -> None:
    stem = "a" * 250
    assert name_problem(f"{stem}.csv".encode()) is None
    problem = name_problem(f"{stem}.csv".encode(), [f"{stem}.result.csv"])
    assert problem == "the output name derived from it would be 261 bytes, over the limit of 255"


def test_a_safe_name_is_printable_short_and_never_a_path() -> None:
    assert safe_name(b"a\nb\xff.csv") == "a_b\\xff.csv"
    assert safe_name(b"..") == "_.."
    assert "/" not in safe_name(b"x/y")
    assert len(safe_name("é".encode() * 200).encode()) <= 201
