"""COBOL copybook records: parse a copybook into a ``Layout``; decode and encode records with it."""

from adapters.codecs.copybook.layout import (
    Condition,
    Dim,
    Field,
    Group,
    Kind,
    Layout,
    LayoutOptions,
    Renames,
    SignPosition,
    Usage,
)

__all__ = [
    "Condition",
    "Dim",
    "Field",
    "Group",
    "Kind",
    "Layout",
    "LayoutOptions",
    "Renames",
    "SignPosition",
    "Usage",
]
