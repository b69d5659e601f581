"""Run our copybook codec on a Cobrix conformance case and shape the result the way Cobrix prints it.

Our codec is strict and its JSON shape follows our design; Cobrix is lenient in places and prints Spark
rows. This adapter keeps the two apart: it drives *our* decoder (framing, layout, numbers, code pages) and
then applies only Cobrix's presentation rules, as the corpus README states them: ``-`` -> ``_`` in names,
nulls omitted, Java ``String.trim`` trimming, all-``00`` fields as null ("improved null detection"),
Cobrix's ``common`` code page and its fix-ups of the named pages, Java integer overflow of unsigned binary,
FILLER naming, generated columns, sorting, ``take`` and segment reassembly. Where Cobrix's leniency gives a
value that our codec rejects, our value is ``None`` and the mismatch must be one the test declares.
"""

from __future__ import annotations

import codecs
import json
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np

from adapters.codecs.copybook.codepages import Codepage, get_codepage
from adapters.codecs.copybook.framing import Framing, RecordReader
from adapters.codecs.copybook.layout import Field, Group, Kind, Layout, LayoutOptions, Node
from adapters.codecs.copybook.options import DecodeOptions, Segments
from adapters.codecs.copybook.parser import parse_copybook
from adapters.codecs.copybook.reference import RecordDecoder
from adapters.codecs.copybook.tree import own_dim

_COMMON_BYTES = {
    0x0D: "\n", 0x25: "\r", 0x4B: ".", 0x4C: "<", 0x4D: "(", 0x4E: "+", 0x4F: "|", 0x50: "&", 0x5A: "!",
    0x5B: "$", 0x5C: "*", 0x5D: ")", 0x5E: ";", 0x60: "-", 0x61: "/", 0x6A: "¦", 0x6B: ",", 0x6C: "%",
    0x6D: "_", 0x6E: ">", 0x6F: "?", 0x79: "`", 0x7A: ":", 0x7B: "#", 0x7C: "@", 0x7D: "'", 0x7E: "=",
    0x7F: '"', 0xA1: "~", 0xB0: "^", 0xBA: "[", 0xBB: "]", 0xC0: "{", 0xCA: "-", 0xD0: "}", 0xE0: "\\",
}  # fmt: skip
_COMMON_RANGES = ((0x81, "abcdefghi"), (0x91, "jklmnopqr"), (0xA2, "stuvwxyz"), (0xC1, "ABCDEFGHI"),
                  (0xD1, "JKLMNOPQR"), (0xE2, "STUVWXYZ"), (0xF0, "0123456789"))  # fmt: skip


def common_table() -> str:
    """Cobrix's ``common`` EBCDIC page: the listed bytes, every other byte a space."""
    table = [" "] * 256
    for byte, char in _COMMON_BYTES.items():
        table[byte] = char
    for start, chars in _COMMON_RANGES:
        for i, char in enumerate(chars):
            table[start + i] = char
    return "".join(table)


def _named_fixups(name: str, raw: bytes, text: str) -> str:
    """Cobrix's changes to a named code page's text, per the corpus README (position = byte)."""
    out = []
    for byte, char in zip(raw, text, strict=True):
        if name == "cp037":
            if byte < 0x40:
                char = {0x0D: "\n", 0x15: "\x85", 0x25: "\r"}.get(byte, " ")
        elif byte in (0x0D, 0x25):
            char = "\n" if byte == 0x0D else "\r"
        elif name in ("cp1141", "cp1148") and byte == 0x15:
            char = "\x85"
        elif "\x80" <= char <= "\x9f" and char != "\x85":
            char = " "
        if byte == 0xFF:
            char = " "
        if name == "cp273" and byte == 0xBC:
            char = "\u00af"
        out.append(char)
    return "".join(out)


def java_trim(text: str, policy: str) -> str:
    strip = "".join(chr(c) for c in range(0x21))
    return {"both": text.strip(strip), "left": text.lstrip(strip), "right": text.rstrip(strip)}.get(
        policy, text
    )


@dataclass
class Case:
    """One entry of ``cases.json`` with the paths resolved against the corpus folder."""

    spec: dict[str, Any]
    root: Path

    @property
    def id(self) -> str:
        return str(self.spec["id"])

    def path(self, key: str) -> Path:
        return self.root / self.spec[key]

    @property
    def ebcdic(self) -> bool:
        return self.spec["encoding"] == "ebcdic"

    @property
    def page(self) -> str:
        return str(self.spec.get("ebcdic_code_page", "ascii"))


def layout_for(case: Case) -> Layout:
    fp = case.spec.get("floating_point_format") or case.spec["cobrix_options"].get(
        "floating_point_format", ""
    )
    ieee = str(fp).upper().startswith("IEEE")
    options = LayoutOptions(float_format="ieee" if ieee else "ibm")
    return parse_copybook(case.path("copybook").read_text(encoding="latin-1"), options)


def codepage_for(case: Case) -> Codepage:
    if not case.ebcdic:
        return get_codepage("latin-1")  # bytes kept one to one; Cobrix's charset rules are applied after
    if case.page in ("common", "common_extended"):
        # common_extended differs from common only in control bytes (its table is Cobrix-private): the test
        # runs such a case on common to show that those bytes are the only difference.
        return Codepage.from_table("cobrix-common", common_table())
    return get_codepage(case.page.removesuffix("_extended"))


def raw_records(case: Case, layout: Layout, decoder: RecordDecoder) -> Iterator[bytes]:
    """The records of the case's data file, framed by our framing code."""
    framing = case.spec["framing"]
    data = case.path("data").read_bytes()
    skip = {
        "skip_header": framing.get("file_start_offset", 0),
        "skip_trailer": framing.get("file_end_offset", 0),
    }
    kind = framing["type"]
    if kind == "fixed":
        reader = RecordReader(data, Framing("F", framing["record_length"], **skip))
        yield from (r.data for r in reader)
    elif kind in ("rdw", "length_field"):
        big = framing.get("byte_order", "big") == "big"
        includes = framing.get("length_includes_header", False)
        reader = RecordReader(
            data, Framing("V", rdw_order="big" if big else "little", rdw_includes_header=includes, **skip)
        )
        for r in reader:
            # With a length field the copybook's first field overlays the 4 header bytes.
            yield data[r.offset - 4 : r.offset + len(r.data)] if kind == "length_field" else r.data
    else:  # variable_size_occurs: each record as long as its DEPENDING ON counters make it
        position = 0
        while position < len(data):
            length = decoder.decode(data[position:]).length
            yield data[position : position + length]
            position += length


def decoder_for(case: Case, layout: Layout) -> RecordDecoder:
    segments = None
    if "segment_redefines" in case.spec:
        spec = case.spec["segment_redefines"]
        segments = Segments(spec["field"].replace("_", "-"), spec["map"])
    shift = case.spec["framing"]["type"] == "variable_size_occurs"
    options = DecodeOptions(
        codepage_for(case), trim="none", on_error="null", odo="shift" if shift else "fixed", segments=segments
    )
    return RecordDecoder(layout, options)


def cobrix_name(name: str) -> str:
    return name.replace("-", "_").replace(":", "").replace("'", "").replace('"', "")


class Shaper:
    """Turns one record decoded by our codec into the row Cobrix prints for the case."""

    def __init__(self, case: Case, layout: Layout) -> None:
        self.case = case
        self.layout = layout
        self.null_detection = bool(case.spec["improved_null_detection"])
        self.trim = str(case.spec["string_trimming"])
        self.keep_group_fillers = case.id == "test7a"
        self._filler_numbers: dict[tuple[tuple[str, ...], int], int] = {}
        for node in layout.nodes():
            if isinstance(node, Group) and node.filler:
                self._filler_numbers[(node.path, node.offset)] = len(self._filler_numbers) + 1

    def row(self, values: dict[str, Any], raw: bytes) -> dict[str, Any]:
        bytes_known = not self.layout.shifting  # shifted items have no fixed offset to read raw bytes at
        out = self._group(self.layout.root, values, raw if bytes_known else None, 0)
        if self.case.spec.get("debug_columns"):
            for field in self.layout.fields:
                if not field.filler and len(field.path) == 2:
                    out[cobrix_name(field.name) + "_debug"] = (
                        raw[field.offset : field.offset + field.size].hex().upper()
                    )
        return out

    def _group(self, group: Group, values: dict[str, Any], raw: bytes | None, base: int) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for child in group.children:
            start = base + child.offset - group.offset
            if child.filler:
                if isinstance(child, Group) and self.keep_group_fillers:
                    lifted = self._group(child, values, raw, start)
                    if any(not c.filler for c in child.children):  # kept even when all its fields are null
                        out[f"FILLER_{self._filler_numbers[(child.path, child.offset)]}"] = lifted
                continue
            if child.name not in values:
                continue  # a member of another segment
            if isinstance(child, Group) and all(c.filler for c in child.children):
                continue  # Cobrix drops a group that holds only FILLER
            shaped = self._node(child, values[child.name], raw, start)
            if shaped is not None:
                out[cobrix_name(child.name)] = shaped
        return out

    def _node(self, node: Node, value: Any, raw: bytes | None, start: int) -> Any:
        dim = own_dim(node)
        if dim is not None and isinstance(value, list):
            return [
                self._single(node, element, raw, start + i * dim.stride) for i, element in enumerate(value)
            ]
        return self._single(node, value, raw, start)

    def _single(self, node: Node, value: Any, raw: bytes | None, start: int) -> Any:
        if isinstance(node, Group):
            return None if value is None else self._group(node, value, raw, start)
        data = raw[start : start + node.size] if raw is not None else None
        if node.kind == Kind.ALNUM and self.null_detection and data and not any(data):
            return None  # "improved null detection" applies to text only
        if node.kind == Kind.ALNUM:
            return None if value is None else java_trim(self._text(value, data), self.trim)
        if value is not None and node.kind == Kind.BINARY and not node.signed and data is not None:
            unscaled = int.from_bytes(data, "big")
            if (node.size == 4 and node.digits < 9 and unscaled >= 2**31) or (
                node.size == 8 and node.digits < 18 and unscaled >= 2**63
            ):
                return None  # Cobrix reads these through a Java int/long and overflows
        return value

    def _text(self, text: str, data: bytes | None) -> str:
        if not self.case.ebcdic:
            kept = bytes(b for b in text.encode("latin-1") if b >= 0x20)
            charset = "latin-1" if self.case.spec.get("ascii_charset") == "ISO-8859-1" else "utf-8"
            return codecs.decode(kept, charset, "replace")
        if data is None or self.case.page.startswith("common"):
            return text
        return _named_fixups(self.case.page, data, text)


def _segment_of(row: dict[str, Any], branches: set[str]) -> str | None:
    return next((key for key in row if key in branches), None)


def assemble(rows: list[dict[str, Any]], case: Case) -> list[dict[str, Any]]:
    """Cobrix's ``segment-children``: one row per root segment, child segment groups nested in arrays."""
    children = {
        cobrix_name(p): [cobrix_name(c) for c in cs] for p, cs in case.spec["segment_children"].items()
    }
    parent_of = {child: parent for parent, kids in children.items() for child in kids}
    branches = {cobrix_name(b) for b in case.spec["segment_redefines"]["map"].values()}
    out: list[dict[str, Any]] = []
    stack: list[tuple[str, dict[str, Any]]] = []
    for row in rows:
        segment = _segment_of(row, branches)
        if segment is None:
            continue
        group = row[segment]
        for kid in children.get(segment, []):
            group[kid] = []
        if segment not in parent_of:
            out.append(row)
            stack = [(segment, group)]
            continue
        while stack and stack[-1][0] != parent_of[segment]:
            stack.pop()
        if stack:
            stack[-1][1][segment].append(group)
            stack.append((segment, group))
    return out


def _fill_zeros(row: dict[str, Any], layout: Layout) -> None:
    from adapters.codecs.copybook.numeric import scaled

    for node in layout.root.children:
        if isinstance(node, Field) and node.numeric and not node.filler and cobrix_name(node.name) not in row:
            zero = 0.0 if node.kind in (Kind.FLOAT_IBM, Kind.FLOAT_IEEE) else scaled(0, node.scale)
            row[cobrix_name(node.name)] = zero


def _sort_key(row: dict[str, Any], names: list[str]) -> tuple[Any, ...]:
    key = []
    for name in names:
        value: Any = row
        for part in name.split("."):
            value = value.get(part) if isinstance(value, dict) else None
        key.append((value is not None, value if value is not None else 0))
    return tuple(key)


@dataclass
class Decoded:
    rows: list[dict[str, Any]]
    errors: int  # fields our codec rejected (and so left out of the rows)


def decode_case(case: Case) -> Decoded:
    layout = layout_for(case)
    decoder = decoder_for(case, layout)
    shaper = Shaper(case, layout)
    rows: list[dict[str, Any]] = []
    errors = 0
    for number, raw in enumerate(raw_records(case, layout, decoder), start=1):
        decoded = decoder.decode(raw, number)
        errors += len(decoded.errors)
        row = shaper.row(decoded.values, raw)
        if "segment_children" not in case.spec:
            row["Record_Byte_Length"] = len(raw)
        rows.append(row)
    if "segment_filter" in case.spec:
        spec = case.spec["segment_filter"]
        rows = [r for r in rows if java_trim(str(r.get(spec["field"], "")), "both") in spec["values"]]
    if "segment_children" in case.spec:
        rows = assemble(rows, case)
    if case.spec["fill_top_level_numeric_nulls_with_zero"]:
        for row in rows:
            _fill_zeros(row, layout)
    if case.spec["root_group"] == "keep":
        rows = [
            {cobrix_name(layout.name): {k: v for k, v in r.items() if k != "Record_Byte_Length"}}
            for r in rows
        ]
    if "sort_by" in case.spec:
        rows.sort(key=lambda r: _sort_key(r, case.spec["sort_by"]))
    return Decoded(rows[: case.spec["take"]], errors)


def load_expected(case: Case) -> list[dict[str, Any]]:
    text = case.path("expected").read_text(encoding="utf-8")
    form = case.spec["expected_format"]
    if form == "json_lines":
        return [json.loads(line, parse_float=Decimal) for line in text.split("\n") if line.strip()]
    if form == "pretty_json_array_doubles":
        return list(json.loads(text, parse_float=Decimal))
    decoder = json.JSONDecoder(parse_float=Decimal)
    rows, position = [], 0
    while (position := _skip_space(text, position)) < len(text):
        row, position = decoder.raw_decode(text, position)
        rows.append(row)
    return rows


def _skip_space(text: str, position: int) -> int:
    while position < len(text) and text[position].isspace():
        position += 1
    return position


_GENERATED = ("File_Id", "Record_Id", "Seg_Id")


@dataclass(frozen=True)
class Mismatch:
    row: int
    path: str  # Cobrix field path without array indexes: "METADATA.ACCOUNT.ACCOUNT_DETAIL.ACCOUNT_NUMBER"
    ours: Any
    expected: Any


def compare(
    ours: list[dict[str, Any]], expected: list[dict[str, Any]], exact_decimals: bool
) -> list[Mismatch]:
    out: list[Mismatch] = []
    if len(ours) != len(expected):
        out.append(Mismatch(-1, "<row count>", len(ours), len(expected)))
    for i, (mine, theirs) in enumerate(zip(ours, expected, strict=False)):
        _compare(mine, theirs, "", i, exact_decimals, out)
    return out


def _compare(mine: Any, theirs: Any, path: str, row: int, exact: bool, out: list[Mismatch]) -> None:
    if isinstance(theirs, dict) and isinstance(mine, dict):
        keys = {k for k in theirs if not k.startswith(_GENERATED)}
        if not path and ("Record_Byte_Length" not in mine or "Record_Byte_Length" not in theirs):
            # Only some cases generate it; hierarchical rows would sum their children's lengths.
            keys.discard("Record_Byte_Length")
            mine = {k: v for k, v in mine.items() if k != "Record_Byte_Length"}
        for key in sorted(keys | set(mine)):
            _compare(mine.get(key), theirs.get(key), f"{path}.{key}" if path else key, row, exact, out)
    elif isinstance(theirs, list) and isinstance(mine, list) and len(mine) == len(theirs):
        for a, b in zip(mine, theirs, strict=True):
            _compare(a, b, path, row, exact, out)
    elif not _same(mine, theirs, exact):
        out.append(Mismatch(row, path, mine, theirs))


def _same(mine: Any, theirs: Any, exact: bool) -> bool:
    if isinstance(mine, float) and isinstance(theirs, Decimal | int):
        return float(theirs) == mine or np.float32(float(theirs)) == np.float32(mine)
    if isinstance(mine, Decimal | int) and isinstance(theirs, Decimal | int) and not isinstance(mine, bool):
        if exact and isinstance(theirs, Decimal):
            return isinstance(mine, Decimal) and str(mine) == str(theirs)
        return Decimal(mine) == Decimal(theirs)
    return type(mine) is type(theirs) and mine == theirs


def cases(root: Path) -> list[Case]:
    spec = json.loads((root / "cases.json").read_text(encoding="utf-8"))
    return [Case(c, root) for c in spec["cases"]]


__all__ = [
    "Case",
    "Decoded",
    "Mismatch",
    "cases",
    "compare",
    "decode_case",
    "decoder_for",
    "layout_for",
    "load_expected",
    "raw_records",
]
