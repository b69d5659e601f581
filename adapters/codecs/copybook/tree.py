"""Walking the record tree: the rules the reference decoder and encoder share.

Which nodes produce keys (FILLER dropped, FILLER groups lifted), which nodes form REDEFINES chains, and
how much a node spans, so that both directions agree byte for byte.
"""

from __future__ import annotations

from adapters.codecs.copybook.layout import Dim, Group, Node
from adapters.codecs.copybook.options import redefine_chains
from adapters.codecs.errors import CopybookSyntaxError

__all__ = ["check_keys", "closing_shift", "mapped_chains", "own_dim", "static_extent", "visible_children"]


def own_dim(node: Node) -> Dim | None:
    """The OCCURS dimension a node declares itself (not one of its enclosing tables)."""
    return node.dims[-1] if node.dims and node.dims[-1].owner == node.path else None


def visible_children(group: Group) -> list[tuple[Node, bool]]:
    """``(node, lifted)`` for the nodes that produce keys of ``group``'s dict, in copybook order.

    FILLER fields are dropped; a FILLER group's named items are lifted into ``group`` (``lifted=True``).
    """
    out: list[tuple[Node, bool]] = []
    for child in group.children:
        if not child.filler:
            out.append((child, False))
        elif isinstance(child, Group):
            out.extend((node, True) for node, _ in visible_children(child))
    return out


def check_keys(group: Group) -> None:
    """Lifting FILLER groups must not produce two keys with the same name."""
    seen: dict[str, Node] = {}
    for node, _ in visible_children(group):
        if node.name.upper() in seen:
            raise CopybookSyntaxError(
                f"{node.name} appears twice in {group.name} once FILLER groups are flattened",
                line=node.line,
                column=1,
            )
        seen[node.name.upper()] = node
        if isinstance(node, Group):
            check_keys(node)
    for child in group.children:
        if child.filler and isinstance(child, Group) and own_dim(child) and visible_children(child):
            raise CopybookSyntaxError("a FILLER table cannot hold named items", line=child.line, column=1)


def closing_shift(base: int, static_end: int, actual_end: int, shift: int) -> int:
    """How much the chain just closed grew or shrank against its static size (0 for an empty chain)."""
    if static_end == 0 and actual_end == 0:
        return 0
    return actual_end - (base + static_end + shift)


def static_extent(node: Node) -> int:
    dim = own_dim(node)
    return dim.count * dim.stride if dim is not None else node.size


def mapped_chains(root: Group, selected: set[tuple[str, ...]]) -> set[int]:
    """Identities (``id``) of every member of each REDEFINES chain that holds a segment-selected branch.

    Identities, not paths: FILLER siblings share a path.
    """
    out: set[int] = set()
    for chain in redefine_chains(root):
        if any(node.path in selected for node in chain):
            out.update(id(node) for node in chain)
    return out
