"""The copybook parser: every clause lays out as COBOL does, and every mistake names its line and column."""

from __future__ import annotations

from decimal import Decimal

import pytest

from adapters.codecs.copybook.layout import Kind, LayoutOptions, SignPosition, Usage
from adapters.codecs.copybook.parser import parse_copybook
from adapters.codecs.errors import CopybookSyntaxError


def fixed(*lines: str) -> str:
    """Lines of a fixed-format copybook, each starting in area A (column 8)."""
    return "\n".join("       " + line for line in lines) + "\n"


def shape(text: str, **options: object) -> list[tuple[str, int, int, str]]:
    layout = parse_copybook(text, LayoutOptions(**options))  # type: ignore[arg-type]
    return [(f.qualified_name, f.offset, f.size, f.kind.value) for f in layout.fields]


def test_nested_groups_place_fields_one_after_another() -> None:
    text = fixed(
        "01 REC.",
        "   05 A PIC X(3).",
        "   05 G.",
        "      10 B PIC 9(4).",
        "      10 C PIC X.",
        "   05 D PIC X(2).",
    )
    assert shape(text) == [
        ("REC.A", 0, 3, "alnum"),
        ("REC.G.B", 3, 4, "zoned"),
        ("REC.G.C", 7, 1, "alnum"),
        ("REC.D", 8, 2, "alnum"),
    ]


@pytest.mark.parametrize(
    ("clause", "size"),
    [
        ("PIC S9(4) COMP", 2),
        ("PIC S9(9) COMP-4", 4),
        ("PIC S9(18) BINARY", 8),
        ("PIC 9(5) USAGE IS COMPUTATIONAL", 4),
        ("PIC S9(7)V99 COMP-3", 5),
        ("PIC S9(6) PACKED-DECIMAL", 4),
        ("COMP-1", 4),
        ("COMP-2", 8),
        ("PIC S9(5) SIGN LEADING SEPARATE CHARACTER", 6),
        ("PIC S9(5) SIGN IS TRAILING SEPARATE", 6),
        ("PIC S9(5) SIGN TRAILING", 5),
        ("PIC N(4)", 8),
        ("PIC ZZ,ZZ9.99-", 10),
        ("PIC X(3)BX(2)", 6),
    ],
)
def test_usage_and_sign_clauses_give_ibm_storage_sizes(clause: str, size: int) -> None:
    [(_, _, got, _)] = shape(fixed("01 REC.", f"   05 F {clause}."))
    assert got == size


def test_gnucobol_binary_sizes_store_two_digits_in_one_byte() -> None:
    text = fixed("01 REC.", "   05 A PIC 99 COMP.", "   05 B PIC 9(3) COMP.")
    assert [s for _, _, s, _ in shape(text, binary_sizes="1-2-4-8")] == [1, 2]
    assert [s for _, _, s, _ in shape(text)] == [2, 2]


def test_p_scaling_moves_the_decimal_point_without_storage() -> None:
    layout = parse_copybook(fixed("01 R.", "   05 A PIC 9(3)PPP.", "   05 B PIC SVPP9(2) COMP-3."))
    a, b = layout.fields
    assert (a.digits, a.scale, a.size) == (3, -3, 3)
    assert (b.digits, b.scale, b.size, b.signed) == (2, 4, 2, True)


def test_comp5_and_ieee_floats_follow_the_native_byte_order_option() -> None:
    text = fixed("01 R.", "   05 A PIC S9(4) COMP-5.", "   05 B PIC S9(4) COMP.", "   05 C COMP-2.")
    a, b, c = parse_copybook(text, LayoutOptions(native_byte_order="little", float_format="ieee")).fields
    assert (a.usage, a.byte_order) == (Usage.NATIVE_BINARY, "little")
    assert (b.usage, b.byte_order) == (Usage.BINARY, "big")
    assert (c.kind, c.byte_order) == (Kind.FLOAT_IEEE, "little")
    assert parse_copybook(text).fields[2].kind == Kind.FLOAT_IBM


def test_occurs_gives_dimensions_with_stride() -> None:
    text = fixed(
        "01 R.",
        "   05 T OCCURS 3 TIMES.",
        "      10 A PIC X(2).",
        "      10 B PIC 9 OCCURS 4.",
        "   05 Z PIC X.",
    )
    layout = parse_copybook(text)
    a, b, z = layout.fields
    assert [(d.count, d.stride) for d in a.dims] == [(3, 6)]
    assert [(d.count, d.stride) for d in b.dims] == [(3, 6), (4, 1)]
    assert (b.offset, z.offset, layout.record_length) == (2, 18, 19)


def test_occurs_depending_on_resolves_the_counter_and_keeps_the_maximum_layout() -> None:
    text = fixed(
        "01 R.", "   05 N PIC 9(2).", "   05 T OCCURS 1 TO 5 TIMES DEPENDING ON N.", "      10 A PIC X(3)."
    )
    layout = parse_copybook(text)
    dim = layout.fields[1].dims[0]
    assert (dim.minimum, dim.count, dim.depending_on) == (1, 5, ("R", "N"))
    assert (layout.record_length, layout.shifting) == (17, False)


def test_depending_on_table_followed_by_data_is_marked_shifting() -> None:
    text = fixed(
        "01 R.", "   05 N PIC 9.", "   05 T PIC X OCCURS 0 TO 5 DEPENDING ON N.", "   05 AFTER PIC X."
    )
    assert parse_copybook(text).shifting


def test_redefines_overlays_and_the_chain_takes_its_largest_member() -> None:
    text = fixed("01 R.", "   05 A PIC X(4).", "   05 B REDEFINES A PIC 9(6).", "   05 C PIC X.")
    layout = parse_copybook(text)
    a, b, c = layout.fields
    assert (b.offset, b.redefines, b.in_redefines, a.in_redefines) == (0, "A", True, True)
    assert c.offset == 6


def test_group_usage_and_sign_apply_to_the_items_inside() -> None:
    text = fixed(
        "01 R.",
        "   05 G COMP-3.",
        "      10 A PIC S9(5).",
        "   05 H SIGN LEADING SEPARATE.",
        "      10 B PIC S9(3).",
    )
    a, b = parse_copybook(text).fields
    assert (a.kind, a.size) == (Kind.PACKED, 3)
    assert (b.sign_position, b.sign_separate, b.size) == (SignPosition.LEADING, True, 4)


def test_sync_aligns_binary_items_to_their_size() -> None:
    text = fixed(
        "01 R.",
        "   05 A PIC X.",
        "   05 B PIC S9(9) COMP SYNC.",
        "   05 C PIC X.",
        "   05 D COMP-2 SYNCHRONIZED.",
    )
    assert [(o, s) for _, o, s, _ in shape(text)] == [(0, 1), (4, 4), (8, 1), (16, 8)]


def test_level_88_values_and_ranges_are_kept_as_labels() -> None:
    text = fixed(
        "01 R.",
        "   05 STATUS PIC X.",
        "      88 ACTIVE VALUE 'A'.",
        "      88 CLOSED VALUES 'C' 'X'.",
        "   05 SCORE PIC 9(3).",
        "      88 HIGH VALUE 700 THRU 999.",
    )
    status, score = parse_copybook(text).fields
    assert [(c.name, c.values) for c in status.conditions] == [("ACTIVE", ("A",)), ("CLOSED", ("C", "X"))]
    assert score.conditions[0].values == ((Decimal(700), Decimal(999)),)


def test_level_66_renames_names_a_byte_range() -> None:
    text = fixed(
        "01 R.", "   05 A PIC X(2).", "   05 B PIC X(3).", "   05 C PIC X(4).", "66 AB RENAMES A THRU B."
    )
    [renames] = parse_copybook(text).renames
    assert (renames.name, renames.offset, renames.size) == ("AB", 0, 5)


def test_value_justified_blank_when_zero_and_filler_are_accepted() -> None:
    text = fixed("01 R.", "   05 FILLER PIC X(2) VALUE SPACES.", "   05 A PIC X(5) JUST RIGHT VALUE 'AB'.",
                 "   05 B PIC 9(3) BLANK WHEN ZERO VALUE ZERO.", "   05 PIC X.")  # fmt: skip
    f, a, b, anonymous = parse_copybook(text).fields
    assert f.filler and anonymous.filler and a.justified and b.blank_when_zero
    assert a.offset == 2


def test_comments_sequence_numbers_and_columns_73_to_80_are_ignored() -> None:
    text = (
        "000100 01  REC.                                                         SEQ00001\n"
        "000200*    05  GONE PIC X(9).\n"
        "000300/\n"
        "000400     05  A   PIC X(4).                                            SEQ00002\n"
    )
    assert shape(text) == [("REC.A", 0, 4, "alnum")]


def test_continuation_line_continues_a_literal_in_area_b() -> None:
    text = (
        "       01  REC.\n"
        "           05  A   PIC X(80) VALUE 'FIRST PART OF A LONG LITERAL THAT G\n"
        "      -    'OES ON'.\n"
        "           05  B   PIC X.\n"
    )
    assert shape(text) == [("REC.A", 0, 80, "alnum"), ("REC.B", 80, 1, "alnum")]


def test_free_format_is_detected_and_parsed() -> None:
    text = "01 REC. *> a free-format copybook\n  05 AMOUNT PIC S9(5)V99 COMP-3.\n  05 NAME PIC X(10).\n"
    assert shape(text) == [("REC.AMOUNT", 0, 4, "packed"), ("REC.NAME", 4, 10, "alnum")]


def test_explicit_free_format_option_reads_text_beyond_column_72() -> None:
    text = "       01 R.\n" + "       05 A" + " " * 70 + "PIC X(3).\n"
    assert shape(text, source_format="free") == [("R.A", 0, 3, "alnum")]


def test_several_records_need_a_choice_by_name() -> None:
    text = fixed("01 A.", "   05 X PIC X.", "01 B.", "   05 Y PIC X(2).")
    with pytest.raises(
        CopybookSyntaxError, match=r"line 3, column 8: the copybook holds several records \(A, B\)"
    ):
        parse_copybook(text)
    assert parse_copybook(text, record="b").record_length == 2


@pytest.mark.parametrize(
    ("lines", "message"),
    [
        (
            ("01 R.", "   05 A PIC X(3) OCCURS 2 INDEXD BY I."),
            "line 2, column 34: unknown or unsupported clause",
        ),
        (("01 R.", "   05 A PIC Q(3)."), "line 2, column 20: PICTURE symbol 'Q' is not supported"),
        (("01 R.", "   05 A PIC 9(0)."), "line 2, column 21: repeat count must be a positive number"),
        (("01 R.", "   05 A PIC S9(4) INDEX."), "line 2, column 26: USAGE INDEX is not supported"),
        (("01 R.", "   05 A."), "line 2, column 11: elementary item A needs a PICTURE clause"),
        (("01 R.", "   05 A PIC X.", "      10 B PIC X."), "line 3, column 14: A is an elementary item"),
        (
            ("01 R.", "   05 A PIC X.", "   05 B REDEFINES Z PIC X."),
            "line 3, column 11: B must redefine the item",
        ),
        (
            ("01 R.", "   05 T PIC X OCCURS 1 TO 3 DEPENDING ON N."),
            "line 2, column 22: DEPENDING ON counter N is not",
        ),
        (("01 R.", "   10 A PIC X.", "   05 B PIC X."), "line 3, column 11: level 05 does not line up"),
        (
            ("01 R.", "   05 A PIC X(2) COMP-3."),
            "line 2, column 25: alphanumeric item A cannot be USAGE COMP-3",
        ),
        (("01 R.", "   05 A PIC X.", "   05 A PIC X."), "line 3, column 11: A is defined twice in R"),
        (("01 R.", "   05 A PIC X VALUE 'OPEN."), "line 2, column 28: literal is not terminated"),
        (("01 R.", "   COPY OTHER."), "line 2, column 11: COPY statements are not supported"),
        (("01 R.", "   05 A COMP-1 PIC 9."), "line 2, column 16: COMP-1 items take no PICTURE clause"),
        (("01 R.", "   05 A PIC 9(3) COMP SIGN LEADING."), "line 2, column 11: SIGN applies to DISPLAY"),
    ],
)
def test_syntax_errors_name_line_and_column(lines: tuple[str, ...], message: str) -> None:
    with pytest.raises(CopybookSyntaxError) as caught:
        parse_copybook(fixed(*lines))
    assert str(caught.value).startswith(message)


def test_syntax_error_names_the_copybook_source() -> None:
    with pytest.raises(CopybookSyntaxError, match=r"^claims\.cpy:line 1, column 8: "):
        parse_copybook(fixed("05 A PIC X."), source="claims.cpy")


def test_a_word_cut_at_column_72_is_an_error_in_forced_fixed_format() -> None:
    text = "       01 R.\n" + "           05 LONG-NAME" + " " * 42 + "PIC X(1" + "0).\n"
    assert len(text.splitlines()[1]) > 72
    with pytest.raises(CopybookSyntaxError, match="line 2, column 73: text runs past column 72"):
        parse_copybook(text, LayoutOptions(source_format="fixed"))
    assert shape(text) == [("R.LONG-NAME", 0, 10, "alnum")]  # auto-detection reads it as free format


def test_a_bad_indicator_in_column_7_is_an_error_not_a_silent_free_format_switch() -> None:
    with pytest.raises(CopybookSyntaxError, match="line 2, column 7: unknown indicator"):
        parse_copybook("       01 R.\n      X05 A PIC X.\n", LayoutOptions(source_format="fixed"))


def test_sync_inside_a_table_pads_each_occurrence_to_the_alignment() -> None:
    text = fixed(
        "01 R.", "   05 T OCCURS 2.", "      10 A PIC X.", "      10 B PIC S9(4) COMP SYNC.", "   05 Z PIC X."
    )
    a, b, z = parse_copybook(text).fields
    assert (a.offset, b.offset, b.dims[0].stride, z.offset) == (0, 2, 4, 8)


def test_an_elementary_77_item_is_a_record_of_one_field() -> None:
    layout = parse_copybook(fixed("77 RUN-COUNT PIC S9(4) COMP VALUE 0."))
    [count] = layout.fields
    assert (layout.name, layout.record_length, count.qualified_name, count.kind) == (
        "RUN-COUNT", 2, "RUN-COUNT", Kind.BINARY,
    )  # fmt: skip
