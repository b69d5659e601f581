"""The ``input`` and ``output`` sections of a pipeline in ``bridgeway.yaml``, and the shared config bases.

Each format has its own model, chosen by ``format``, so an option of another format (``delimiter`` on a
JSON Lines input) is refused with a message saying which format it belongs to. Paths are resolved against
the config file's folder (``ConfigPath``); code page names are checked when the file is loaded.
"""

from __future__ import annotations

import codecs
from pathlib import Path
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)

__all__ = [
    "FORMAT_OPTIONS",
    "ConfigPath",
    "CsvInput",
    "CsvOutput",
    "FixedInput",
    "FixedOutput",
    "InputSpec",
    "JsonInput",
    "JsonOutput",
    "JsonlInput",
    "JsonlOutput",
    "OutputSpec",
    "Strict",
]


class Strict(BaseModel):
    """Base of every config section: unknown keys are errors, values are frozen after loading."""

    model_config = ConfigDict(extra="forbid", frozen=True)


def _resolve(value: Path, info: ValidationInfo) -> Path:
    """Relative paths are relative to the config file's folder (``context["base_dir"]``), when known."""
    base = (info.context or {}).get("base_dir")
    if value.is_absolute() or base is None:
        return value
    return Path(base) / value


#: A path in the config file: relative ones resolve against the folder holding the file.
ConfigPath = Annotated[Path, AfterValidator(_resolve)]

Char = Annotated[str, Field(min_length=1, max_length=1)]
Quoting = Literal["minimal", "all", "nonnumeric", "none"]
RecordFormat = Literal["F", "FB", "V", "VB", "text"]
ByteOrder = Literal["big", "little"]


def _text_encoding(value: str) -> str:
    try:
        return codecs.lookup(value).name
    except LookupError:
        raise ValueError(f"unknown text encoding {value!r} (e.g. utf-8, cp1252, latin-1)") from None


def _code_page(value: str) -> str:
    from adapters.codecs.copybook.codepages import available_codepages, get_codepage

    try:
        get_codepage(value)
    except (KeyError, LookupError, ValueError):
        known = ", ".join(available_codepages())
        raise ValueError(f"unknown code page {value!r}; known: {known}") from None
    return value


TextEncoding = Annotated[str, AfterValidator(_text_encoding)]
CodePage = Annotated[str, AfterValidator(_code_page)]


class _Carry(Strict):
    carry: tuple[str, ...] = ()

    @field_validator("carry")
    @classmethod
    def _named(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        if any(not name.strip() for name in value):
            raise ValueError("carried field names must not be empty")
        return value


class CsvInput(Strict):
    """Delimited text. ``columns`` names the fields of a file without a header line (``header: false``).
    ``decimal`` is the decimal mark of numbers (``,`` in many European exports, with ``delimiter: ";"``)."""

    format: Literal["csv"]
    encoding: TextEncoding = "utf-8"
    delimiter: Char = ","
    quotechar: Char = '"'
    quoting: Quoting = "minimal"
    header: bool = True
    columns: tuple[str, ...] | None = None
    decimal: Char = "."

    @field_validator("columns")
    @classmethod
    def _some(cls, value: tuple[str, ...] | None) -> tuple[str, ...] | None:
        if value is not None and (not value or len(set(value)) != len(value)):
            raise ValueError("list each field name once")
        return value

    @model_validator(mode="after")
    def _header_or_columns(self) -> CsvInput:
        if not self.header and self.columns is None:
            raise ValueError("header: false needs 'columns', the field names in file order")
        if self.header and self.columns is not None:
            raise ValueError("'columns' is for files without a header line (header: false)")
        if self.delimiter in (self.quotechar, self.decimal, "\n", "\r"):
            raise ValueError("delimiter must differ from quotechar, decimal and line breaks")
        return self


class JsonlInput(Strict):
    """JSON Lines: one JSON object per line; nested objects become dotted field names."""

    format: Literal["jsonl"]
    encoding: TextEncoding = "utf-8"


class JsonInput(Strict):
    """A message body holding one JSON record object or a list of them (AMQP)."""

    format: Literal["json"]


class FixedInput(Strict):
    """Fixed-width records described by a COBOL copybook (DESIGN.md "Records and copybooks").

    ``record`` picks the 01 level when the copybook holds several. ``trailer_count_field`` names the field
    of the trailer record (the last record, laid out by ``trailer_copybook`` or the copybook's 01 level
    ``trailer_record``) that holds the number of data records; a file whose count differs is quarantined
    whole, and none of its results are published.
    """

    format: Literal["fixed"]
    copybook: ConfigPath
    record: str | None = None
    encoding: CodePage = "cp037"
    record_format: RecordFormat = "F"
    record_length: Annotated[int, Field(ge=1)] | None = None
    rdw_order: ByteOrder = "big"
    rdw_includes_header: bool = True
    trailer_copybook: ConfigPath | None = None
    trailer_record: str | None = None
    trailer_count_field: str | None = None

    @model_validator(mode="after")
    def _trailer_count(self) -> FixedInput:
        if (self.trailer_copybook or self.trailer_record) is not None and self.trailer_count_field is None:
            raise ValueError("a trailer layout needs trailer_count_field, the field holding the record count")
        if self.trailer_count_field is not None and self.record_format not in ("F", "FB"):
            raise ValueError("a trailer record count is checked for F and FB records only")
        if self.record_format in ("V", "VB") and self.record_length is not None:
            raise ValueError("record_length is for F, FB and text records; V and VB records carry theirs")
        return self


class CsvOutput(_Carry):
    """CSV results: a header line of the result columns, then one line per scored record."""

    format: Literal["csv"]
    encoding: TextEncoding = "utf-8"
    delimiter: Char = ","
    quotechar: Char = '"'
    quoting: Quoting = "minimal"
    header: bool = True
    newline: Literal["lf", "crlf"] = "lf"


class JsonlOutput(_Carry):
    """JSON Lines results (UTF-8): one object per scored record."""

    format: Literal["jsonl"]


class JsonOutput(_Carry):
    """A reply message body: one result object, or a list for a list request (AMQP)."""

    format: Literal["json"]


class FixedOutput(_Carry):
    """Fixed-width results laid out by ``result_copybook``, so that a COBOL program can read them; result
    columns fill the copybook's fields of the same name (matched like model fields)."""

    format: Literal["fixed"]
    result_copybook: ConfigPath
    record: str | None = None
    encoding: CodePage = "cp037"
    record_format: RecordFormat = "F"
    rdw_order: ByteOrder = "big"
    rdw_includes_header: bool = True


InputSpec = Annotated[CsvInput | JsonlInput | FixedInput | JsonInput, Field(discriminator="format")]
OutputSpec = Annotated[CsvOutput | JsonlOutput | FixedOutput | JsonOutput, Field(discriminator="format")]

#: Which options each format takes, to say where a misplaced option belongs.
FORMAT_OPTIONS: dict[str, frozenset[str]] = {
    "csv": frozenset(CsvInput.model_fields) | frozenset(CsvOutput.model_fields),
    "jsonl": frozenset(JsonlInput.model_fields) | frozenset(JsonlOutput.model_fields),
    "json": frozenset(JsonInput.model_fields) | frozenset(JsonOutput.model_fields),
    "fixed": frozenset(FixedInput.model_fields) | frozenset(FixedOutput.model_fields),
}
