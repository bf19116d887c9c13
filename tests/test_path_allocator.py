"""Unit tests of PathAllocator: distinct, stable paths for document folders and their files."""

from __future__ import annotations

import pytest

from PathAllocator import PathAllocator, fits_file, fits_folder


def test_a_free_folder_keeps_its_name_and_the_next_ones_are_numbered():
    allocator = PathAllocator()
    assert [allocator.folder(("Doe", "2024 - T")) for _ in range(3)] == \
        ["Doe/2024 - T", "Doe/2024 - T (2)", "Doe/2024 - T (3)"]


def test_a_held_folder_is_not_handed_out_again():
    allocator = PathAllocator()
    allocator.hold_folder("Doe/2024 - T (2)")
    assert allocator.folder(("Doe", "2024 - T")) == "Doe/2024 - T"
    assert allocator.folder(("Doe", "2024 - T")) == "Doe/2024 - T (3)"


@pytest.mark.parametrize("other", ["doe/2024 - t", "DOE/2024 - T", "Doe/2024 - t"])
def test_folders_differing_only_in_case_collide(other):
    allocator = PathAllocator()
    allocator.hold_folder("Doe/2024 - T")
    assert allocator.folder(tuple(other.split("/"))) == f"{other} (2)"


def test_folders_differing_only_in_unicode_normalisation_collide():
    allocator = PathAllocator()
    assert allocator.folder(("Caf\u00e9",)) == "Caf\u00e9"
    assert allocator.folder(("Cafe\u0301",)) == "Cafe\u0301 (2)"


def test_a_folder_may_sit_under_another_documents_folder_but_not_take_its_parent():
    allocator = PathAllocator()
    allocator.hold_folder("A/B/C")
    assert allocator.folder(("A", "B")) == "A/B"  # a parent only, not a document's folder
    assert allocator.folder(("A", "B", "C", "D")) == "A/B/C/D"
    assert allocator.folder(("A", "B", "C")) == "A/B/C (2)"


def test_reserved_names_are_never_handed_out():
    allocator = PathAllocator(reserved_names=["info.json", "groups"])
    assert allocator.folder(("Groups",)) == "Groups (2)"
    assert allocator.file("Doe", "x.pdf") == "x.pdf"


def test_files_of_one_folder_are_numbered_before_the_extension():
    allocator = PathAllocator()
    assert [allocator.file("Doe/T", "a.pdf") for _ in range(3)] == ["a.pdf", "a (2).pdf", "a (3).pdf"]
    assert allocator.file("Doe/T", "A.PDF") == "A (4).PDF"
    assert allocator.file("Doe/T", "notes") == "notes"
    assert allocator.file("Doe/T", "notes") == "notes (2)"
    assert allocator.file("Doe/U", "a.pdf") == "a.pdf"


def test_a_file_cannot_take_a_folders_name_nor_a_folder_a_files():
    allocator = PathAllocator()
    allocator.hold_folder("Doe/T/sub")
    assert allocator.file("Doe/T", "sub") == "sub (2)"
    allocator.hold_file("Doe/T/a.pdf")
    assert allocator.folder(("Doe", "T", "a.pdf")) == "Doe/T/a.pdf (2)"


def test_the_files_every_document_folder_holds_are_taken_in_each_folder():
    allocator = PathAllocator(folder_files=["info.json", "annotations.json"])
    held = allocator.folder(("Doe", "T"))
    allocator.hold_folder("Roe/U")
    for folder in (held, "Roe/U"):
        assert allocator.file(folder, "info.json") == "info (2).json"
        assert allocator.file(folder, "Annotations.JSON") == "Annotations (2).JSON"
    assert allocator.folder(("Doe", "T", "info.json")) == "Doe/T/info.json (2)"


def test_a_folder_is_never_nested_under_a_file():
    allocator = PathAllocator()
    allocator.hold_file("X/T/p.pdf")
    assert allocator.folder(("X", "T", "p.pdf", "Z")) == "X/T/p.pdf (2)/Z"
    assert allocator.folder(("X", "T", "P.PDF", "Z")) == "X/T/P.PDF (2)/Z (2)"
    assert allocator.file("X/T/p.pdf (2)/Z", "p.pdf") == "p.pdf"


@pytest.mark.parametrize(("current", "components", "fits"), [
    ("Doe/2024 - T", ("Doe", "2024 - T"), True),
    ("Doe/2024 - T (2)", ("Doe", "2024 - T"), True),
    ("Doe/2024 - T (17)", ("Doe", "2024 - T"), True),
    ("Groups (2)/2024 - T", ("Groups", "2024 - T"), True),  # numbered clear of the backup's own names
    ("X/p.pdf (2)/Z", ("X", "p.pdf", "Z"), True),  # numbered clear of a file
    ("Doe/2024 - T (2)", ("Doe", "2024 - U"), False),
    ("Doe/2024 - T(2)", ("Doe", "2024 - T"), False),
    ("Doe/2024 - T (2) (2)", ("Doe", "2024 - T"), False),
    ("Doe/2024 - T", ("Roe", "2024 - T"), False),
    ("Doe/2024 - T", ("Doe", "2024 - T", "x"), False),
    ("doe/2024 - t", ("Doe", "2024 - T"), False),
])
def test_fits_folder(current, components, fits):
    assert fits_folder(current, components) is fits


@pytest.mark.parametrize(("current", "name", "fits"), [
    ("a.pdf", "a.pdf", True),
    ("a (2).pdf", "a.pdf", True),
    ("notes (3)", "notes", True),
    ("a (2).pdf", "b.pdf", False),
    ("a.pdf (2)", "a.pdf", False),
    ("a (2).txt", "a.pdf", False),
    ("A.pdf", "a.pdf", False),
])
def test_fits_file(current, name, fits):
    assert fits_file(current, name) is fits


def test_names_stay_stable_when_the_holder_of_the_plain_name_goes():
    """The (2) is kept by its document: a later allocator that holds only it gives the plain name to others."""
    later = PathAllocator()
    later.hold_folder("Doe/2024 - T (2)")
    assert fits_folder("Doe/2024 - T (2)", ("Doe", "2024 - T"))
    assert later.folder(("Doe", "2024 - T")) == "Doe/2024 - T"
