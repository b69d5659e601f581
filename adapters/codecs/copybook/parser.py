"""Copybook text -> :class:`Layout`: the one entry point that compiles a copybook.

>>> layout = parse_copybook('''
...        01  CLAIM-REC.
...            05  CLAIM-ID          PIC X(8).
...            05  AMOUNT            PIC S9(7)V99 COMP-3.
...            05  LINES             OCCURS 3 TIMES.
...                10  CODE          PIC 9(4) COMP.
... ''')
>>> [(f.qualified_name, f.offset, f.size) for f in layout.fields]
[('CLAIM-REC.CLAIM-ID', 0, 8), ('CLAIM-REC.AMOUNT', 8, 5), ('CLAIM-REC.LINES.CODE', 13, 2)]
>>> layout.record_length, layout.fields[2].dims[0].count, layout.fields[2].dims[0].stride
(19, 3, 2)
"""

from __future__ import annotations

from adapters.codecs.copybook.build import Builder, _Inherited, build_tree
from adapters.codecs.copybook.entries import Entry, parse_entries
from adapters.codecs.copybook.layout import Field, Group, Layout, LayoutOptions, Node, Renames
from adapters.codecs.copybook.source import tokenize
from adapters.codecs.errors import CopybookSyntaxError

__all__ = ["parse_copybook"]


def parse_copybook(
    text: str,
    options: LayoutOptions | None = None,
    *,
    record: str | None = None,
    source: str | None = None,
) -> Layout:
    """Compile copybook text into a :class:`Layout`.

    ``record`` picks the 01 (or 77) record when the copybook holds several; ``source`` names the copybook
    in error messages. Raises :class:`CopybookSyntaxError` (with line and column) for anything malformed or
    unsupported, never returning a layout that silently differs from what COBOL would lay out.
    """
    options = options or LayoutOptions()
    try:
        records = build_tree(parse_entries(tokenize(text, options.source_format)))
        root, renames = _choose(records, record)
        return _compile(root, renames, options)
    except CopybookSyntaxError as exc:
        if source is not None and exc.source is None:
            exc.source = source
        raise


def _choose(records: list[tuple[Entry, list[Entry]]], wanted: str | None) -> tuple[Entry, list[Entry]]:
    if wanted is not None:
        for entry, renames in records:
            if entry.name.upper() == wanted.upper():
                return entry, renames
        names = ", ".join(e.name for e, _ in records)
        first = records[0][0].token
        raise CopybookSyntaxError(
            f"record {wanted} is not in the copybook", line=first.line, column=first.column, found=names
        )
    if len(records) > 1:
        second = records[1][0].token
        names = ", ".join(e.name for e, _ in records)
        raise CopybookSyntaxError(
            f"the copybook holds several records ({names}); choose one by name",
            line=second.line,
            column=second.column,
        )
    return records[0]


def _compile(root: Entry, renames: list[Entry], options: LayoutOptions) -> Layout:
    builder = Builder(options)
    node = builder.place(root, (), 0, (), _Inherited())
    if root.occurs is not None:
        raise CopybookSyntaxError(
            "an 01 record cannot have OCCURS", line=root.occurs.token.line, column=root.occurs.token.column
        )
    group = node if isinstance(node, Group) else Group(node.path, node.level, 0, node.size, (node,))
    fields = tuple(builder.fields)
    return Layout(
        root=group,
        fields=fields,
        record_length=group.size,
        options=options,
        renames=tuple(_renames(group, entry) for entry in renames),
        shifting=_shifting(builder, fields),
    )


def _shifting(builder: Builder, fields: tuple[Field, ...]) -> bool:
    """True when some DEPENDING ON table is nested in a table or has data after its maximum extent."""
    for table, dim in builder.odo_tables:
        if len(table.dims) > 1:
            return True
        end = table.offset + dim.count * dim.stride
        inside = len(table.path)
        if any(f.offset >= end and f.path[:inside] != table.path for f in fields):
            return True
    return False


def _find(group: Group, name: str) -> Node | None:
    stack: list[Node] = list(group.children)
    while stack:
        node = stack.pop(0)
        if node.name.upper() == name.upper():
            return node
        if isinstance(node, Group):
            stack.extend(node.children)
    return None


def _renames(group: Group, entry: Entry) -> Renames:
    assert entry.renames is not None
    first_name, last_name = entry.renames
    first = _find(group, first_name)
    last = _find(group, last_name) if last_name is not None else first
    token = entry.token
    for name, node in ((first_name, first), (last_name or first_name, last)):
        if node is None:
            raise CopybookSyntaxError(
                f"RENAMES names {name}, which is not in the record", line=token.line, column=token.column
            )
        if node.dims:
            raise CopybookSyntaxError(
                f"RENAMES cannot name {name}, which is in a table", line=token.line, column=token.column
            )
    assert first is not None and last is not None
    end = last.offset + last.size
    if end <= first.offset:
        raise CopybookSyntaxError(
            f"RENAMES {first_name} THRU {last_name}: the range is empty", line=token.line, column=token.column
        )
    return Renames(entry.name, first.path, last.path, first.offset, end - first.offset)
