"""Per-record decode and encode policy: code page, trimming, error handling, segments, DEPENDING ON layout.

These are the caller's choices for *reading and writing* records; what the bytes mean is fixed by the
``Layout`` (and its compile-time ``LayoutOptions``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from dataclasses import field as dc_field
from typing import Literal

from adapters.codecs.copybook.codepages import Codepage, get_codepage
from adapters.codecs.copybook.fields import Rounding, Trim
from adapters.codecs.copybook.layout import Field, Group, Layout, Node
from adapters.codecs.copybook.numeric import ZonedSign

__all__ = [
    "DecodeOptions",
    "EncodeOptions",
    "OdoLayout",
    "OnError",
    "Segments",
    "chain_members",
    "redefine_chains",
]

OnError = Literal["reject", "null", "fail"]
OdoLayout = Literal["shift", "fixed"]


@dataclass(frozen=True, slots=True)
class Segments:
    """Multi-segment records: the value of ``field`` picks which REDEFINES member a record holds.

    ``branches`` maps a segment value (compared without trailing spaces and NULs) to the name of a group or
    field that is a member of a REDEFINES chain. For a record, only the selected member of each mapped
    chain is decoded; the other mapped members are left out of the result. A record whose segment value
    is not in the map is a ``RecordDecodeError`` (it would otherwise decode as none of its variants).
    """

    field: str
    branches: Mapping[str, str] = dc_field(default_factory=dict)

    def resolve(self, layout: Layout) -> tuple[Field, dict[str, tuple[str, ...]]]:
        """The segment field and, per segment value, the path of the branch it selects.

        Raises ``KeyError`` naming a field or branch that is not in the layout or not a REDEFINES member.
        """
        segment_field = layout.field(self.field)
        members = chain_members(layout.root)
        resolved: dict[str, tuple[str, ...]] = {}
        for value, branch in self.branches.items():
            nodes = [n for n in members if n.name.upper() == branch.upper()]
            if len(nodes) != 1:
                why = "is ambiguous" if nodes else "is not a REDEFINES member of the record"
                raise KeyError(f"segment branch {branch!r} {why}")
            resolved[value.rstrip(" \x00")] = nodes[0].path
        return segment_field, resolved


def redefine_chains(group: Group) -> list[list[Node]]:
    """Every REDEFINES chain below ``group``: the redefined item followed by the items redefining it."""
    chains: list[list[Node]] = []
    current: list[Node] = []
    for child in group.children:
        if child.redefines:
            current.append(child)
        else:
            if len(current) > 1:
                chains.append(current)
            current = [child]
        if isinstance(child, Group):
            chains.extend(redefine_chains(child))
    if len(current) > 1:
        chains.append(current)
    return chains


def chain_members(group: Group) -> list[Node]:
    """Every node that is a member of a REDEFINES chain: it redefines a sibling or a sibling redefines it."""
    return [node for chain in redefine_chains(group) for node in chain]


@dataclass(frozen=True, slots=True)
class DecodeOptions:
    """How to read records.

    ``on_error``: ``reject`` raises the record's first error (a stream skips the record and goes on),
    ``null`` sets each bad field to ``None`` and lists the errors with the record, ``fail`` raises and ends
    the whole input. ``trim``: remove trailing padding (spaces and NULs) from text (``right``, the
    default; JUSTIFIED RIGHT fields lose leading padding instead), from both ends, or keep text as is.
    ``odo``: ``shift`` (COBOL's rule) moves the items after an OCCURS DEPENDING ON table to follow the
    occurrences the counter says; ``fixed`` keeps every table at its maximum size.
    """

    codepage: Codepage = dc_field(default_factory=lambda: get_codepage("cp037"))
    trim: Trim = "right"
    on_error: OnError = "reject"
    odo: OdoLayout = "shift"
    segments: Segments | None = None


@dataclass(frozen=True, slots=True)
class EncodeOptions:
    """How to write records: code page, the ASCII zoned sign convention, rounding of surplus fraction
    digits (``error`` by default: never silently change a value), segments and DEPENDING ON layout as for
    decoding."""

    codepage: Codepage = dc_field(default_factory=lambda: get_codepage("cp037"))
    zoned_sign: ZonedSign = "ascii"
    rounding: Rounding = "error"
    odo: OdoLayout = "shift"
    segments: Segments | None = None
