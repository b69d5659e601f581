"""COBOL copybook records: parse a copybook into a ``Layout``; frame, decode and encode records with it.

>>> from adapters.codecs.copybook import RecordDecoder, parse_copybook
>>> layout = parse_copybook("01 R. 05 ID PIC X(4). 05 AMOUNT PIC S9(3)V99 COMP-3.")
>>> RecordDecoder(layout).decode(bytes.fromhex("c1c2c3c4 03050c")).values
{'ID': 'ABCD', 'AMOUNT': Decimal('30.50')}
"""

from adapters.codecs.copybook.codepages import Codepage, available_codepages, get_codepage
from adapters.codecs.copybook.compiled import BlockCodec, compile_layout
from adapters.codecs.copybook.encoder import RecordEncoder
from adapters.codecs.copybook.framing import Framing, RawRecord, RecordFormat, RecordReader, RecordWriter
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
from adapters.codecs.copybook.options import DecodeOptions, EncodeOptions, Segments
from adapters.codecs.copybook.parser import parse_copybook
from adapters.codecs.copybook.reference import Decoded, RecordDecoder
from adapters.codecs.copybook.stream import (
    DecodedRecord,
    Rejected,
    TrailerCheck,
    check_trailer,
    decode_stream,
)

__all__ = [
    "BlockCodec",
    "Codepage",
    "Condition",
    "DecodeOptions",
    "Decoded",
    "DecodedRecord",
    "Dim",
    "EncodeOptions",
    "Field",
    "Framing",
    "Group",
    "Kind",
    "Layout",
    "LayoutOptions",
    "RawRecord",
    "RecordDecoder",
    "RecordEncoder",
    "RecordFormat",
    "RecordReader",
    "RecordWriter",
    "Rejected",
    "Renames",
    "Segments",
    "SignPosition",
    "TrailerCheck",
    "Usage",
    "available_codepages",
    "check_trailer",
    "compile_layout",
    "decode_stream",
    "get_codepage",
    "parse_copybook",
]
