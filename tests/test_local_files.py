"""Unit tests of LocalFiles: paths stay under the root, and no symbolic link inside it is followed."""

from __future__ import annotations

import hashlib
import os

import pytest

from Errors import UnsafePathError
from LocalFiles import (
    ensure_folder,
    inside,
    inside_text,
    prune_folders,
    remove_file,
    sha1_of,
    signature,
    signatures_under,
)


def test_inside_joins_a_relative_path_under_the_root(tmp_path):
    assert inside(tmp_path, "Doe/2024 - T/paper.pdf") == tmp_path / "Doe" / "2024 - T" / "paper.pdf"
    assert inside_text(str(tmp_path), "Doe/2024 - T/paper.pdf") == str(tmp_path / "Doe" / "2024 - T" / "paper.pdf")
    assert inside_text(str(tmp_path), "..a/b.. c/...") == str(tmp_path / "..a" / "b.. c" / "...")  # names, not steps


@pytest.mark.parametrize("relative", ["", "..", "../outside", "Doe/../../outside", "/etc/passwd", "Doe//T",
                                      "Doe/", "./Doe", "Doe/./T", ".", "Doe/..", "/"])
def test_inside_refuses_a_path_that_could_leave_the_root(tmp_path, relative):
    with pytest.raises(UnsafePathError, match="would leave the backup folder"):
        inside(tmp_path, relative)
    with pytest.raises(UnsafePathError, match="would leave the backup folder"):
        inside_text(str(tmp_path), relative)


def test_ensure_folder_creates_the_folder_and_its_parents(tmp_path):
    assert ensure_folder(tmp_path, "Doe/2024 - T") == tmp_path / "Doe" / "2024 - T"
    assert (tmp_path / "Doe" / "2024 - T").is_dir()
    ensure_folder(tmp_path, "Doe/2024 - T")  # already there: fine
    assert sorted(os.listdir(tmp_path / "Doe")) == ["2024 - T"]


@pytest.mark.parametrize("relative", ["Doe/2024 - T", "Doe"])
def test_ensure_folder_refuses_a_symbolic_link_in_the_path(tmp_path, relative):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    root = tmp_path / "backup"
    root.mkdir()
    (root / "Doe").symlink_to(elsewhere, target_is_directory=True)
    with pytest.raises(UnsafePathError, match="symbolic link"):
        ensure_folder(root, relative)
    assert os.listdir(elsewhere) == []


def test_remove_file_removes_a_file_and_accepts_a_missing_one(tmp_path):
    (tmp_path / "Doe").mkdir()
    (tmp_path / "Doe" / "paper.pdf").write_bytes(b"x")
    remove_file(tmp_path, "Doe/paper.pdf")
    remove_file(tmp_path, "Doe/paper.pdf")
    remove_file(tmp_path, "Nobody/paper.pdf")
    assert os.listdir(tmp_path / "Doe") == []


def test_remove_file_removes_a_link_itself_never_its_target(tmp_path):
    target = tmp_path / "precious.pdf"
    target.write_bytes(b"keep me")
    root = tmp_path / "backup"
    (root / "Doe").mkdir(parents=True)
    (root / "Doe" / "paper.pdf").symlink_to(target)
    remove_file(root, "Doe/paper.pdf")
    assert os.listdir(root / "Doe") == []
    assert target.read_bytes() == b"keep me"


def test_remove_file_refuses_a_folder_and_a_link_in_the_path(tmp_path):
    root = tmp_path / "backup"
    (root / "Doe" / "sub").mkdir(parents=True)
    with pytest.raises(UnsafePathError, match="it is a folder"):
        remove_file(root, "Doe/sub")
    assert (root / "Doe" / "sub").is_dir()
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "paper.pdf").write_bytes(b"keep me")
    (root / "Roe").symlink_to(elsewhere, target_is_directory=True)
    with pytest.raises(UnsafePathError, match="symbolic link"):
        remove_file(root, "Roe/paper.pdf")
    assert (elsewhere / "paper.pdf").read_bytes() == b"keep me"


def test_prune_folders_removes_empty_folders_up_to_a_non_empty_one(tmp_path):
    (tmp_path / "Doe" / "2024 - T" / "inner").mkdir(parents=True)
    (tmp_path / "Doe" / "2024 - U").mkdir()
    prune_folders(tmp_path, "Doe/2024 - T/inner")
    assert sorted(os.listdir(tmp_path / "Doe")) == ["2024 - U"]


def test_prune_folders_stops_at_a_folder_holding_a_file(tmp_path):
    (tmp_path / "Doe" / "2024 - T").mkdir(parents=True)
    (tmp_path / "Doe" / "2024 - T" / "notes.txt").write_bytes(b"mine")
    prune_folders(tmp_path, "Doe/2024 - T")
    assert (tmp_path / "Doe" / "2024 - T" / "notes.txt").read_bytes() == b"mine"


def test_prune_folders_never_removes_the_root(tmp_path):
    root = tmp_path / "backup"
    (root / "Doe" / "2024 - T").mkdir(parents=True)
    prune_folders(root, "Doe/2024 - T")
    assert root.is_dir() and os.listdir(root) == []


def test_prune_folders_leaves_a_symbolic_link_and_what_it_points_to(tmp_path):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    root = tmp_path / "backup"
    root.mkdir()
    (root / "Doe").symlink_to(elsewhere, target_is_directory=True)
    prune_folders(root, "Doe")
    assert (root / "Doe").is_symlink() and elsewhere.is_dir()


def test_prune_folders_removes_the_parents_of_a_folder_already_gone(tmp_path):
    """A run killed after it removed a moved document's folder, before its parent: the rerun's prune finishes."""
    (tmp_path / "Doe").mkdir()
    (tmp_path / "Roe" / "2024 - U").mkdir(parents=True)
    prune_folders(tmp_path, "Doe/2024 - T")
    prune_folders(tmp_path, "Roe/2024 - V")
    assert os.listdir(tmp_path) == ["Roe"] and os.listdir(tmp_path / "Roe") == ["2024 - U"]


def test_prune_folders_removes_nothing_under_a_symbolic_link(tmp_path):
    (tmp_path / "elsewhere" / "2024 - T").mkdir(parents=True)
    root = tmp_path / "backup"
    root.mkdir()
    (root / "Doe").symlink_to(tmp_path / "elsewhere", target_is_directory=True)
    prune_folders(root, "Doe/2024 - T")
    assert (root / "Doe").is_symlink() and (tmp_path / "elsewhere" / "2024 - T").is_dir()


@pytest.mark.parametrize("from_root_folder", [True, False])
def test_signatures_under_a_root_are_those_of_its_regular_files(tmp_path, monkeypatch, from_root_folder):
    if not from_root_folder:  # as on Windows, where stat takes no folder to start from
        monkeypatch.setattr(os, "supports_dir_fd", set())
    (tmp_path / "Doe" / "2024 - T").mkdir(parents=True)
    paper = tmp_path / "Doe" / "2024 - T" / "paper.pdf"
    paper.write_bytes(b"x" * 7)
    (tmp_path / "Doe" / "2024 - T" / "link.pdf").symlink_to(paper)
    with signatures_under(tmp_path) as signature_of:
        assert signature_of("Doe/2024 - T/paper.pdf") == (7, paper.stat().st_mtime_ns) == signature(paper)
        assert signature_of("Doe/2024 - T/link.pdf") is None and signature_of("Doe/2024 - T/gone.pdf") is None
        assert signature_of("Doe/2024 - T") is None  # a folder is no file
        with pytest.raises(UnsafePathError):
            signature_of("Doe/../../outside.pdf")
    with signatures_under(tmp_path / "not yet made") as signature_of:
        assert signature_of("Doe/2024 - T/paper.pdf") is None


def test_sha1_of_a_file_and_of_none(tmp_path):
    data = os.urandom(3 << 20)  # more than one chunk
    (tmp_path / "big.bin").write_bytes(data)
    assert sha1_of(tmp_path / "big.bin") == hashlib.sha1(data).hexdigest()
    (tmp_path / "empty").write_bytes(b"")
    assert sha1_of(tmp_path / "empty") == hashlib.sha1(b"").hexdigest()
    assert sha1_of(tmp_path / "missing") is None
    assert sha1_of(tmp_path) is None  # a folder cannot be read


def test_signature_of_a_regular_file_only(tmp_path):
    (tmp_path / "paper.pdf").write_bytes(b"12345")
    os.utime(tmp_path / "paper.pdf", ns=(1_000_000_000, 1_700_000_000_123_456_789))
    assert signature(tmp_path / "paper.pdf") == (5, 1_700_000_000_123_456_789)
    (tmp_path / "link.pdf").symlink_to(tmp_path / "paper.pdf")
    assert signature(tmp_path / "link.pdf") is None
    assert signature(tmp_path) is None
    assert signature(tmp_path / "missing") is None
