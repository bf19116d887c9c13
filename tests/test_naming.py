"""Unit tests of Naming: the folder pattern, author lists and safe path components (pure functions)."""

from __future__ import annotations

import pytest

from Errors import ConfigError
from Naming import (
    authors_text,
    collision_key,
    numbered,
    parse_pattern,
    render_path,
    safe_component,
    safe_file_name,
    safe_folder_name,
    split_extension,
)


def people(*last_names: str) -> list[dict[str, str]]:
    return [{"first_name": "J", "last_name": name} for name in last_names]


# Pattern parsing ---------------------------------------------------------------------------------------

def test_the_default_pattern_is_literals_and_placeholders_in_order():
    assert parse_pattern("%authors/%year - %title").tokens == (
        (True, "authors"), (False, "/"), (True, "year"), (False, " - "), (True, "title"))


def test_a_double_percent_is_a_literal_percent_sign():
    pattern = parse_pattern("100%% %title%%")
    assert pattern.tokens == ((False, "100"), (False, "%"), (False, " "), (True, "title"), (False, "%"))
    assert render_path(pattern, {"title": "T"}) == ("100% T%",)


def test_the_readme_spelling_author_is_authors():
    assert parse_pattern("%author/%title").tokens == parse_pattern("%authors/%title").tokens


def test_first_author_is_not_read_as_an_unknown_placeholder():
    assert parse_pattern("%first_author").tokens == ((True, "first_author"),)


@pytest.mark.parametrize("text", ["%journal", "%authors/%yeer", "100%", "%", "%Title", "%% %x"])
def test_an_unknown_placeholder_is_a_config_error_naming_it(text):
    with pytest.raises(ConfigError, match="Unknown placeholder") as error:
        parse_pattern(text)
    assert repr(text) in str(error.value)


def test_uses_folders_only_with_the_folder_placeholder():
    assert parse_pattern("%folder/%title").uses_folders
    assert not parse_pattern("%authors/%title").uses_folders


# Authors -----------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("names", "text"), [
    ((), "Unknown"),
    (("Doe",), "Doe"),
    (("Doe", "Roe"), "Doe & Roe"),
    (("Doe", "Roe", "Poe"), "Doe, Roe & Poe"),
    (("Doe", "Roe", "Poe", "Loe"), "Doe et al."),
    (("Doe", "Roe", "Poe", "Loe", "Moe", "Noe"), "Doe et al."),
])
def test_authors_text_follows_the_original(names, text):
    assert authors_text(people(*names)) == text


def test_authors_text_falls_back_to_the_first_name_and_skips_empty_people():
    authors = [{"first_name": "Plato"}, {"last_name": "  "}, {"first_name": "", "last_name": "Doe"}, "not a person"]
    assert authors_text(authors) == "Plato & Doe"


@pytest.mark.parametrize("authors", [None, "Doe", {"last_name": "Doe"}, []])
def test_authors_text_of_no_usable_list_is_unknown(authors):
    assert authors_text(authors) == "Unknown"


# Rendering a document's folder -------------------------------------------------------------------------

DEFAULT = parse_pattern("%authors/%year - %title")


def test_render_path_of_the_default_pattern():
    assert render_path(DEFAULT, {"authors": people("Doe", "Roe"), "year": 2024, "title": "T 1"}) == \
        ("Doe & Roe", "2024 - T 1")


def test_missing_year_title_and_authors_give_readable_stable_words_never_none():
    assert render_path(DEFAULT, {}) == ("Unknown", "Unknown - Untitled")
    assert render_path(DEFAULT, {"year": None, "title": "   ", "authors": []}) == ("Unknown", "Unknown - Untitled")
    assert render_path(parse_pattern("%month/%type/%source/%first_author"), {"month": 3}) == \
        ("03", "Unknown", "Unknown", "Unknown")


def test_a_slash_in_the_pattern_makes_folders_but_in_a_value_it_is_replaced():
    document = {"authors": people("AC/DC"), "year": 2024, "title": "Input/Output: a\\b*c?d\"e<f>g|h"}
    assert render_path(DEFAULT, document) == ("AC_DC", "2024 - Input_Output_ a_b_c_d_e_f_g_h")


def test_reserved_characters_in_the_patterns_literals_are_kept():
    assert render_path(parse_pattern("%year: %title"), {"year": 2024, "title": "T"}) == ("2024: T",)


def test_empty_components_of_the_pattern_are_dropped():
    assert render_path(parse_pattern("/%title//"), {"title": "T"}) == ("T",)


def test_each_folder_of_the_folder_placeholder_is_a_component():
    pattern = parse_pattern("%folder/%title")
    assert render_path(pattern, {"title": "T"}, ("Reading", "To/Do")) == ("Reading", "To_Do", "T")
    assert render_path(pattern, {"title": "T"}) == ("Unfiled", "T")


def test_rendered_components_are_made_safe():
    document = {"authors": people(".."), "title": "CON", "year": 2024}
    assert render_path(parse_pattern("%authors/%title"), document) == ("_", "_CON")


# Safe components ---------------------------------------------------------------------------------------

@pytest.mark.parametrize(("name", "safe"), [
    ("plain", "plain"),
    ("", "_"),
    (".", "_"),
    ("..", "_"),
    ("...", "_"),
    ("ends with dots..", "ends with dots"),
    ("ends with spaces  ", "ends with spaces"),
    ("ends. . .", "ends"),
    ("Doe et al.", "Doe et al."),  # the original's folders keep their dot
    ("nul\x00byte\x07bell\ttab\nnewline\x7f", "nul_byte_bell_tab_newline_"),
    ("CON", "_CON"),
    ("con.txt", "_con.txt"),
    ("Com1", "_Com1"),
    ("LPT9.log", "_LPT9.log"),
    ("aux.tar.gz", "_aux.tar.gz"),
    ("CONSOLE", "CONSOLE"),
    ("prn ", "_prn"),
    ("Cafe\u0301", "Caf\u00e9"),
])
def test_safe_component(name, safe):
    assert safe_component(name) == safe


def test_a_long_component_is_cut_to_255_bytes_on_a_character_boundary():
    cut = safe_component("é" * 200)
    assert cut == "é" * 127 and len(cut.encode()) == 254
    assert safe_component("a" * 300) == "a" * 255


def test_a_long_file_name_keeps_its_extension():
    name = safe_file_name("ü" * 148 + ".pdf")
    assert name.endswith(".pdf") and name.startswith("üü") and len(name.encode()) <= 255
    assert len(safe_file_name("x" * 400 + ".tar.gz").encode()) == 255


@pytest.mark.parametrize(("name", "safe"), [
    ("paper.pdf", "paper.pdf"),
    ("../../evil.pdf", ".._.._evil.pdf"),
    ("a/b\\c:d.pdf", "a_b_c_d.pdf"),
    ("/absolute.pdf", "_absolute.pdf"),
    ("x\x00y.pdf", "x_y.pdf"),
    ("nul.txt", "_nul.txt"),
    ("..", "_"),
    ("trailing. . ", "trailing"),
    ("Cafe\u0301.pdf", "Caf\u00e9.pdf"),
    (None, "_"),
])
def test_safe_file_name(name, safe):
    assert safe_file_name(name) == safe


def test_safe_folder_name_is_one_component():
    assert safe_folder_name("Lab/Group: 2") == "Lab_Group_ 2"
    assert safe_folder_name(None) == "_"


# Numbering and extensions -------------------------------------------------------------------------------

@pytest.mark.parametrize(("name", "keep_extension", "result"), [
    ("2024 - T", False, "2024 - T (2)"),
    ("a.pdf", True, "a (2).pdf"),
    ("a.pdf", False, "a.pdf (2)"),
    ("archive.tar.gz", True, "archive.tar (2).gz"),
    ("notes", True, "notes (2)"),
    (".hidden", True, ".hidden (2)"),
])
def test_numbered(name, keep_extension, result):
    assert numbered(name, 2, keep_extension) == result


def test_numbered_stays_within_255_bytes_keeping_the_number_and_extension():
    name = safe_file_name("é" * 140 + ".pdf")
    numbered_name = numbered(name, 12, keep_extension=True)
    assert numbered_name.endswith(" (12).pdf") and len(numbered_name.encode()) <= 255
    folder = numbered("a" * 255, 3, keep_extension=False)
    assert folder.endswith(" (3)") and len(folder.encode()) == 255


@pytest.mark.parametrize(("name", "parts"), [
    ("report.pdf", ("report", ".pdf")),
    ("archive.tar.gz", ("archive.tar", ".gz")),
    (".bashrc", (".bashrc", "")),
    ("no extension", ("no extension", "")),
    ("v1.2 final", ("v1.2 final", "")),
    ("name.averyveryverylongtail", ("name.averyveryverylongtail", "")),
])
def test_split_extension(name, parts):
    assert split_extension(name) == parts


def test_collision_key_is_case_and_normalisation_blind():
    assert collision_key("Doe/Caf\u00e9.PDF") == collision_key("doe/cafe\u0301.pdf")
    assert collision_key("Doe/a.pdf") != collision_key("Doe/a.pdf ")
