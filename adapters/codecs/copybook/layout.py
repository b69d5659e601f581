"""The compiled, immutable description of a COBOL record: what every byte of a record means.

A copybook compiles once (``parser.parse_copybook``) into a :class:`Layout`. Nothing in it changes after
compilation, and every offset and size is fixed at compile time, so decoders (the per-record reference path
in ``reference.py`` and the vectorised block path) only read it.

The model
---------
* The tree: ``Layout.root`` is the 01-level :class:`Group`; ``Group.children`` are :class:`Group` and
  :class:`Field` nodes in copybook order. Decoders that build nested objects walk the tree.
* The flat view: ``Layout.fields`` lists every *elementary* item (FILLER included, ``filler=True``) in
  copybook order. Block decoders work from this list alone: for a field, occurrence ``(i0, i1, ...)`` of a
  record starts at ``field.offset + i0 * dims[0].stride + i1 * dims[1].stride + ...`` and is ``field.size``
  bytes long. ``offset`` is 0-based from the start of the record (``show`` prints it 1-based, like a
  compiler listing).
* Names: ``Field.path`` / ``Group.path`` are the names from the 01 level down (``("CLAIM-REC", "ACCT",
  "BALANCE")``); ``qualified_name`` joins them with ``.``, the form every error message uses.
* Values: numeric kinds hold ``digits`` stored digit positions and a ``scale`` such that the value is
  ``unscaled * 10 ** -scale``. ``P`` positions only move the scale: ``PIC 9(5)PPP`` has digits 5, scale -3
  (a value of 12345 stored means 12345000); ``PIC PPP9(5)`` has digits 5, scale 8 (0.00012345). Decoders
  produce exact values (``Decimal`` or scaled integers), never binary floats, except for the float kinds.
* Occurs: ``dims`` holds the enclosing OCCURS tables of a node, outermost first, including the node's own.
  Each :class:`Dim` gives the maximum ``count``, the ``stride`` between occurrences in bytes, and for
  OCCURS ... DEPENDING ON the counter's qualified path and the allowed minimum. Offsets are those of the
  *maximum* layout (every table at its full size). Where a DEPENDING ON table is followed by other data or
  nested in another table (``Layout.shifting``), COBOL moves the following items when the counter is
  smaller; the reference decoder computes those moved offsets per record, the block path should fall back
  to it.
* Redefines: a node with ``redefines`` set overlays the earlier sibling named there (same offset); the
  chain's size is that of its largest member. ``Field.in_redefines`` marks every item under any member of a
  REDEFINES chain (the original included), because such bytes are only meaningful for one member.
* Binary byte order is per field (``byte_order``): COMP/COMP-4/BINARY are always big-endian; COMP-5 and IEEE
  floats follow ``LayoutOptions.native_byte_order`` (little for GnuCOBOL / Micro Focus on x86).

Example::

    >>> from adapters.codecs.copybook.parser import parse_copybook
    >>> layout = parse_copybook("01 REC. 05 AMT PIC S9(5)V99 COMP-3. 05 NAME PIC X(10).")
    >>> [(f.qualified_name, f.offset, f.size, f.kind.value, f.digits, f.scale) for f in layout.fields]
    [('REC.AMT', 0, 4, 'packed', 7, 2), ('REC.NAME', 4, 10, 'alnum', 0, 0)]
"""

from __future__ import annotations

import enum
from collections.abc import Iterator
from dataclasses import dataclass
from dataclasses import field as dc_field
from decimal import Decimal
from typing import Literal

__all__ = [
    "Condition",
    "Dim",
    "Field",
    "Group",
    "Kind",
    "Layout",
    "LayoutOptions",
    "Node",
    "Renames",
    "SignPosition",
    "Usage",
]

ByteOrder = Literal["big", "little"]


class Usage(enum.Enum):
    """The USAGE clause as written (normalised): what ``show`` prints."""

    DISPLAY = "DISPLAY"
    BINARY = "COMP"  # COMP, COMP-0, COMP-4, BINARY
    NATIVE_BINARY = "COMP-5"
    PACKED = "COMP-3"  # COMP-3, PACKED-DECIMAL
    FLOAT_SHORT = "COMP-1"
    FLOAT_LONG = "COMP-2"
    NATIONAL = "NATIONAL"


class Kind(enum.Enum):
    """How one elementary item's bytes turn into a value; each kind has one decode/encode in ``fields.py``."""

    ALNUM = "alnum"  # PIC X / A (and alphanumeric-edited): text in the record's code page
    NATIONAL = "national"  # PIC N: UTF-16 big-endian text
    ZONED = "zoned"  # PIC 9 DISPLAY: a digit per byte, sign overpunched or in a separate byte
    EDITED = "edited"  # numeric-edited DISPLAY (Z . + - , CR DB * $ B 0 /): read through edit_mask
    PACKED = "packed"  # COMP-3: two digits per byte, last nibble the sign
    BINARY = "binary"  # COMP / COMP-4 / BINARY / COMP-5: two's complement (signed) or unsigned
    FLOAT_IBM = "float_ibm"  # COMP-1 / COMP-2 as IBM System/360 hexadecimal floating point
    FLOAT_IEEE = "float_ieee"  # COMP-1 / COMP-2 as IEEE 754 binary32 / binary64


class SignPosition(enum.Enum):
    NONE = "none"  # unsigned (no S in the picture)
    LEADING = "leading"
    TRAILING = "trailing"


@dataclass(frozen=True, slots=True)
class LayoutOptions:
    """Compile-time choices that change sizes or byte interpretation (not per-record policy).

    ``float_format``: COMP-1/COMP-2 as IBM hexadecimal (z/OS, the default) or IEEE 754.
    ``native_byte_order``: byte order of COMP-5 and IEEE floats; big like z/OS by default, little for
    GnuCOBOL / Micro Focus on x86.
    ``binary_sizes``: storage of COMP by digit count: ``"2-4-8"`` (IBM: 1-4 digits 2 bytes, 5-9 4, 10-18 8)
    or ``"1-2-4-8"`` (GnuCOBOL's default ``binary-size``: 1-2 digits take 1 byte).
    ``source_format``: ``"auto"`` detects fixed or free reference format; ``"fixed"``/``"free"`` force it.
    """

    float_format: Literal["ibm", "ieee"] = "ibm"
    native_byte_order: ByteOrder = "big"
    binary_sizes: Literal["2-4-8", "1-2-4-8"] = "2-4-8"
    source_format: Literal["auto", "fixed", "free"] = "auto"


@dataclass(frozen=True, slots=True)
class Dim:
    """One OCCURS table dimension.

    ``count`` is the maximum number of occurrences (``n`` of OCCURS n, ``max`` of OCCURS min TO max);
    ``stride`` the bytes from one occurrence to the next. ``depending_on`` is the qualified path of the
    counter field for OCCURS ... DEPENDING ON (``None`` for a fixed table); a counter outside
    ``minimum..count`` is a ``DependingOnOutOfRange`` error. ``owner`` is the path of the item carrying
    the OCCURS clause.
    """

    count: int
    stride: int
    owner: tuple[str, ...]
    minimum: int = 0
    depending_on: tuple[str, ...] | None = None

    @property
    def variable(self) -> bool:
        return self.depending_on is not None


@dataclass(frozen=True, slots=True)
class Condition:
    """A level-88 condition name: the values (and ``THRU`` ranges) that make it true.

    Values are ``str`` for alphanumeric literals and figurative constants (``SPACES`` is ``" "``) and
    ``Decimal`` for numeric literals; a range is a ``(low, high)`` tuple.
    """

    name: str
    values: tuple[str | Decimal | tuple[str | Decimal, str | Decimal], ...]


@dataclass(frozen=True, slots=True)
class Field:
    """One elementary item (a leaf of the record tree). See the module docstring for the model."""

    path: tuple[str, ...]
    level: int
    offset: int
    size: int
    kind: Kind
    usage: Usage
    picture: str | None = None  # as written, for display (COMP-1/COMP-2 have none)
    digits: int = 0  # stored digit positions (numeric kinds); 0 for text and floats
    scale: int = 0  # value = unscaled * 10 ** -scale; P scaling included (negative for trailing P)
    signed: bool = False
    sign_position: SignPosition = SignPosition.NONE
    sign_separate: bool = False  # SIGN ... SEPARATE: the sign takes its own byte ('+' or '-')
    byte_order: ByteOrder = "big"  # binary and float kinds
    dims: tuple[Dim, ...] = ()
    redefines: str | None = None  # name of the earlier sibling this item overlays
    in_redefines: bool = False  # inside some member of a REDEFINES chain
    filler: bool = False
    sync: bool = False
    blank_when_zero: bool = False
    justified: bool = False  # JUSTIFIED RIGHT: text is padded on the left
    edit_mask: str | None = None  # EDITED / edited text: one picture symbol per byte (CR, DB as cr, db)
    conditions: tuple[Condition, ...] = ()
    line: int = 0  # copybook line of the definition

    @property
    def name(self) -> str:
        return self.path[-1]

    @property
    def qualified_name(self) -> str:
        return ".".join(self.path)

    @property
    def numeric(self) -> bool:
        return self.kind not in (Kind.ALNUM, Kind.NATIONAL)

    @property
    def occurrences(self) -> int:
        """Occurrences in the maximum layout (the product of every dimension's count)."""
        total = 1
        for dim in self.dims:
            total *= dim.count
        return total


@dataclass(frozen=True, slots=True)
class Group:
    """A group item: its children in copybook order, and the bytes it spans (one occurrence)."""

    path: tuple[str, ...]
    level: int
    offset: int
    size: int
    children: tuple[Node, ...]
    dims: tuple[Dim, ...] = ()
    redefines: str | None = None
    in_redefines: bool = False
    filler: bool = False
    conditions: tuple[Condition, ...] = ()
    line: int = 0

    @property
    def name(self) -> str:
        return self.path[-1]

    @property
    def qualified_name(self) -> str:
        return ".".join(self.path)


Node = Field | Group


@dataclass(frozen=True, slots=True)
class Renames:
    """A level-66 RENAMES: an alternative name for the bytes from ``first`` through ``last`` (inclusive).

    Decoders do not emit it (the bytes already appear under their own names); it is kept so that ``show``
    and callers can resolve the name.
    """

    name: str
    first: tuple[str, ...]
    last: tuple[str, ...]
    offset: int
    size: int


@dataclass(frozen=True, slots=True)
class Layout:
    """A compiled copybook: one 01-level record.

    ``record_length`` is the maximum record size (every table at its full count, every REDEFINES chain at
    its largest member); a fixed-length (F/FB) record is exactly this long. ``shifting`` is true when a
    DEPENDING ON table is followed by data or nested in another table, so that items move with the counter.
    """

    root: Group
    fields: tuple[Field, ...]
    record_length: int
    options: LayoutOptions = dc_field(default_factory=LayoutOptions)
    renames: tuple[Renames, ...] = ()
    shifting: bool = False

    @property
    def name(self) -> str:
        return self.root.name

    def field(self, qualified_name: str) -> Field:
        """The elementary field with this qualified name (``REC.GRP.FIELD``), or a name unique in the record.

        Raises ``KeyError`` naming the field when it does not exist or a bare name is ambiguous.
        """
        wanted = qualified_name.upper()
        exact = [f for f in self.fields if f.qualified_name.upper() == wanted]
        if exact:
            return exact[0]
        tail = [f for f in self.fields if ".".join(f.path[1:]).upper() == wanted or f.name.upper() == wanted]
        if len(tail) == 1:
            return tail[0]
        reason = "is ambiguous" if tail else "does not exist"
        raise KeyError(f"field {qualified_name!r} {reason} in record {self.name}")

    def nodes(self) -> Iterator[Node]:
        """Every group and field below the root, depth first in copybook order."""
        stack: list[Node] = list(reversed(self.root.children))
        while stack:
            node = stack.pop()
            yield node
            if isinstance(node, Group):
                stack.extend(reversed(node.children))
