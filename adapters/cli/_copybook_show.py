"""The ``bridgeway copybook show`` table: the layout as a mainframe programmer reads a compiler listing."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table

from adapters.codecs.copybook.layout import Dim, Field, Group, Layout, Node
from adapters.codecs.copybook.tree import own_dim

__all__ = ["render_layout"]


def _occurs(node: Node) -> str:
    dim: Dim | None = own_dim(node)
    if dim is None:
        return ""
    if dim.depending_on is None:
        return str(dim.count)
    return f"{dim.minimum} TO {dim.count} DEPENDING ON {dim.depending_on[-1]}"


def _name(node: Node, depth: int) -> str:
    text = "  " * depth + node.name
    return text + (f" REDEFINES {node.redefines}" if node.redefines else "")


def _usage(node: Node) -> str:
    if isinstance(node, Group):
        return ""
    usage = node.usage.value
    if node.usage.value in ("COMP-1", "COMP-2"):
        return usage + (" (IEEE)" if node.kind.value == "float_ieee" else " (IBM hex)")
    if node.usage.value == "COMP-5" and node.byte_order == "little":
        return usage + " (little-endian)"
    return usage


def _rows(node: Node, depth: int, table: Table) -> None:
    picture = node.picture or "" if isinstance(node, Field) else ""
    if isinstance(node, Field) and node.sign_separate:
        picture += f" SIGN {node.sign_position.value.upper()} SEPARATE"
    length = str(node.size)
    table.add_row(
        f"{node.level:02d}",
        _name(node, depth),
        picture,
        _usage(node),
        str(node.offset + 1),
        length,
        _occurs(node),
    )
    for condition in node.conditions:
        values = ", ".join(_literal(v) for v in condition.values)
        table.add_row("88", "  " * (depth + 1) + condition.name, f"VALUE {values}", "", "", "", "")
    if isinstance(node, Group):
        for child in node.children:
            _rows(child, depth + 1, table)


def _literal(value: object) -> str:
    if isinstance(value, tuple):
        return f"{_literal(value[0])} THRU {_literal(value[1])}"
    return repr(value) if isinstance(value, str) else str(value)


def render_layout(layout: Layout, console: Console | None = None) -> None:
    """Print ``layout``: one row per item, offsets 1-based (first occurrence inside tables)."""
    console = console or Console(width=None if Console().is_terminal else 200)
    table = Table(title=f"{layout.name}: {layout.record_length} bytes", title_justify="left")
    for header, justify in (("Level", "right"), ("Name", "left"), ("Picture", "left"), ("Usage", "left"),
                            ("Offset", "right"), ("Length", "right"), ("Occurs", "left")):  # fmt: skip
        table.add_column(header, justify=justify, no_wrap=header != "Picture")  # type: ignore[arg-type]
    _rows(layout.root, 0, table)
    for renames in layout.renames:
        table.add_row("66", f"{renames.name} RENAMES {renames.first[-1]} THRU {renames.last[-1]}", "", "",
                      str(renames.offset + 1), str(renames.size), "")  # fmt: skip
    console.print(table)
    console.print(
        "Offsets are 1-based as in a compiler listing (in a table: the first occurrence); lengths in bytes."
    )
