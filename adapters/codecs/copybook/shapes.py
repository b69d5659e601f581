"""The reference's record shape (nested dicts) <-> block columns, by the same tree walk in both directions.

The reference decoder (``reference.py``) defines the shape: the 01 level's items are the top-level keys,
groups are dicts, OCCURS are lists (DEPENDING ON: as many as the counter says), FILLER items are dropped and
the named items of a FILLER group are lifted into the enclosing dict, and of a REDEFINES chain that the
segment map covers only the selected member appears. :func:`record_builder` builds that shape from columns;
:func:`scatter` walks a reference-decoded dict and reports every field occurrence it holds, so that
records the block path hands to the reference can be written back into the columns.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from adapters.codecs.copybook.layout import Field, Group, Layout, Node
from adapters.codecs.copybook.tree import own_dim

__all__ = ["FieldRole", "Occurrence", "field_roles", "record_builder", "scatter"]

Path = tuple[str, ...]
Index = tuple[int, ...]
Occurrence = tuple[Field, Index, Any]  # a field, its occurrence subscripts, its value (None: null)


@dataclass(frozen=True, slots=True)
class FieldRole:
    """How the reference treats a field's errors and presence.

    ``lenient``: inside a REDEFINES member no segment map covers, where bytes that do not decode give
    ``None`` without an error. ``branches``: the segment-mapped members enclosing the field; it exists
    in a record only when the record's segment value selects them.
    """

    lenient: bool
    branches: tuple[Path, ...]


def field_roles(layout: Layout, mapped: set[int]) -> dict[Path, FieldRole]:
    """The :class:`FieldRole` of every elementary field, keyed by path.

    ``mapped`` holds the identities (``id``) of the members of segment-mapped chains, as
    ``tree.mapped_chains`` gives them. The walk mirrors ``reference.RecordDecoder._group``.
    """
    roles: dict[Path, FieldRole] = {}

    def walk(group: Group, lenient: bool, branches: tuple[Path, ...]) -> None:
        redefined = {c.redefines.upper() for c in group.children if c.redefines}
        for child in group.children:
            member = child.redefines is not None or child.name.upper() in redefined
            child_lenient = lenient or (member and id(child) not in mapped)
            child_branches = (*branches, child.path) if id(child) in mapped else branches
            if isinstance(child, Group):
                walk(child, child_lenient, child_branches)
            else:
                roles[child.path] = FieldRole(child_lenient, child_branches)

    walk(layout.root, False, ())
    return roles


Build = Callable[[int, Index], Any]


def record_builder(
    layout: Layout,
    values: Mapping[Path, Sequence[Any]],
    counts: Mapping[Path, Sequence[int]],
    selected: Sequence[Path | None] | None,
    mapped: set[int],
) -> Callable[[int], dict[str, Any]]:
    """A function from record index to the reference's dict for that record.

    ``values[path][i]`` is the field's value for record ``i`` as nested lists over its occurrence
    subscripts (``None`` for a null); ``counts[owner][i]`` the DEPENDING ON count of a table;
    ``selected[i]`` the segment-selected member path of record ``i``; ``mapped`` the identities of the
    members of segment-mapped chains.
    """

    def node_builder(node: Node) -> Build:
        single = group_builder(node) if isinstance(node, Group) else field_builder(node)
        dim = own_dim(node)
        if dim is None:
            return single
        table = counts.get(node.path)
        if table is None:
            size = dim.count
            return lambda i, idx: [single(i, (*idx, k)) for k in range(size)]
        return lambda i, idx: [single(i, (*idx, k)) for k in range(table[i])]

    def field_builder(field: Field) -> Build:
        column = values[field.path]

        def value(i: int, idx: Index) -> Any:
            found: Any = column[i]
            for k in idx:
                found = found[k]
            return found

        return value

    def group_builder(group: Group) -> Build:
        parts: list[tuple[Node, Build]] = [
            (child, node_builder(child))
            for child in group.children
            if not (child.filler and not isinstance(child, Group))
        ]

        def build(i: int, idx: Index) -> dict[str, Any]:
            out: dict[str, Any] = {}
            for child, make in parts:
                if id(child) in mapped and (selected is None or selected[i] != child.path):
                    continue
                value = make(i, idx)
                if not child.filler:
                    out[child.name] = value
                elif isinstance(value, dict):
                    out.update(value)
            return out

        return build

    root = group_builder(layout.root)
    return lambda i: root(i, ())


def scatter(layout: Layout, record: Mapping[str, Any]) -> list[Occurrence]:
    """Every field occurrence a reference-decoded ``record`` holds, with its value (FILLER excluded)."""
    out: list[Occurrence] = []
    _scatter_group(layout.root, record, (), out)
    return out


def _scatter_group(group: Group, obj: Mapping[str, Any], idx: Index, out: list[Occurrence]) -> None:
    for child in group.children:
        if child.filler:
            if isinstance(child, Group) and own_dim(child) is None:
                _scatter_group(child, obj, idx, out)
            continue
        if child.name not in obj:
            continue  # a segment member the record does not hold
        value = obj[child.name]
        if own_dim(child) is None:
            _scatter_single(child, value, idx, out)
        elif isinstance(value, list):
            for k, element in enumerate(value):
                _scatter_single(child, element, (*idx, k), out)


def _scatter_single(node: Node, value: Any, idx: Index, out: list[Occurrence]) -> None:
    if isinstance(node, Field):
        out.append((node, idx, value))
    elif isinstance(value, Mapping):
        _scatter_group(node, value, idx, out)
