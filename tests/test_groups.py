"""Groups: each chosen one backed up under groups/<name>/ like a library of its own; the user's layout untouched."""

from __future__ import annotations

import pytest

from tests.library import (
    add_to_folder,
    attach_file,
    create_annotation,
    create_document,
    create_folder,
    delete_annotation,
    delete_document,
    update_annotation,
)
from tests.tool import (
    BackupTool,
    Summary,
    annotations_of,
    document_folders,
    folder_files,
    read_json,
    sha1,
    state_of,
)

POSITIONS = [{"top_left": {"x": 10.0, "y": 90.0}, "bottom_right": {"x": 200.0, "y": 78.5}, "page": 1}]


def fill_group(api, group_id: str, label: str) -> dict:
    """Two documents of a group, one with a file, a note and a highlight, filed in a group folder."""
    folder = create_folder(api, f"{label} folder", group_id=group_id)
    with_file = create_document(api, f"{label} paper", ["Doe"], group_id=group_id)
    data = f"%PDF-1.4 {label}\n".encode() * 100
    attach_file(api, with_file["id"], f"{label}.pdf", data)
    create_annotation(api, with_file["id"], "note", text=f"{label} note")
    create_annotation(api, with_file["id"], "highlight", positions=POSITIONS, color={"r": 9, "g": 9, "b": 9})
    add_to_folder(api, folder["id"], with_file["id"])
    plain = create_document(api, f"{label} draft", ["Roe"], group_id=group_id)
    return {"folder": folder, "with_file": with_file, "data": data, "plain": plain}


@pytest.fixture
def libraries(emulator, api):
    """The user's own document, and three groups: two to back up, one left alone."""
    mine = create_document(api, "Mine", ["Poe"])
    create_folder(api, "My folder")
    lab = emulator.create_group("Lab reading list")
    team = emulator.create_group("Équipe: Recherche/Π")
    other = emulator.create_group("Not chosen")
    create_document(api, "Not wanted", ["Foe"], group_id=other["id"])
    return {"mine": mine, "lab": lab, "team": team, "lab_docs": fill_group(api, lab["id"], "Lab"),
            "team_docs": fill_group(api, team["id"], "Team")}


def test_chosen_groups_are_backed_up_beside_an_unchanged_user_library(emulator, tmp_path, libraries):
    tool = BackupTool(emulator, tmp_path / "with-groups")
    # One group by its name (case does not matter), the other by its id.
    run = tool.run("--groups", f"lab READING list,{libraries['team']['id']}")
    assert run.summary == Summary(new=5, annotations=4)
    truth = emulator.library()
    folders = {"lab": "groups/Lab reading list", "team": "groups/Équipe_ Recherche_Π"}
    assert sorted(path.name for path in (tool.backup / "groups").iterdir()) == sorted(
        folder.split("/")[1] for folder in folders.values())
    for name, folder in folders.items():
        root, docs, group_id = tool.backup / folder, libraries[f"{name}_docs"], libraries[name]["id"]
        label = name.capitalize()
        assert document_folders(root) == {docs["with_file"]["id"]: f"Doe/2024 - {label} paper",
                                          docs["plain"]["id"]: f"Roe/2024 - {label} draft"}
        assert folder_files(root)[f"Doe/2024 - {label} paper/{label}.pdf"] == sha1(docs["data"])
        info = read_json(root / f"Doe/2024 - {label} paper/info.json")
        assert info["document"]["group_id"] == group_id
        assert info["document"]["folder_uuids"] == [docs["folder"]["id"]]
        assert read_json(root / f"Doe/2024 - {label} paper/annotations.json") == \
            annotations_of(truth, docs["with_file"]["id"])
        assert read_json(root / "folders.json") == [docs["folder"]]
    # The user's library is laid out exactly as a backup without groups lays it out.
    plain = BackupTool(emulator, tmp_path / "without-groups")
    assert plain.run().summary == Summary(new=1)
    assert {path: digest for path, digest in folder_files(tool.backup).items()
            if not path.startswith("groups/")} == folder_files(plain.backup)
    assert document_folders(tool.backup) == {libraries["mine"]["id"]: "Poe/2024 - Mine"}
    assert tool.run("--groups", f"Lab reading list,{libraries['team']['id']}").summary == Summary()


def test_a_document_deleted_in_a_group_is_removed_from_its_folder(emulator, tmp_path, libraries):
    tool = BackupTool(emulator, tmp_path)
    tool.run("--groups", "all")
    lab_root, team_root = tool.backup / "groups/Lab reading list", tool.backup / "groups/Équipe_ Recherche_Π"
    team_before = folder_files(team_root, skip_volatile=False)
    assert (tool.backup / "groups/Not chosen/info.json").is_file()  # `all` takes every group
    # Two documents in each group: removing one is half of it, the most --max-delete allows by default.
    delete_document(emulator.api_session(), libraries["lab_docs"]["with_file"]["id"])
    assert tool.run("--groups", "all").summary == Summary(removed=1)
    assert not (lab_root / "Doe").exists()
    assert document_folders(lab_root) == {libraries["lab_docs"]["plain"]["id"]: "Roe/2024 - Lab draft"}
    assert {path: digest for path, digest in folder_files(team_root, skip_volatile=False).items()
            if path != "info.json"} == {path: digest for path, digest in team_before.items() if path != "info.json"}


def test_groups_come_from_the_config_file_and_default_to_none(emulator, tmp_path, libraries):
    tool = BackupTool(emulator, tmp_path)
    assert tool.run().summary == Summary(new=1)
    assert not (tool.backup / "groups").exists()
    assert "groups" not in state_of(tool.backup)
    config = tmp_path / "mendeley-backup.conf"
    config.write_text(f"[backup]\ngroups = {libraries['lab']['id']}\n")
    assert tool.run("-c", str(config)).summary == Summary(new=2, annotations=2)
    assert [path.name for path in (tool.backup / "groups").iterdir()] == ["Lab reading list"]
    assert state_of(tool.backup)["groups"] == {libraries["lab"]["id"]: "groups/Lab reading list"}


def test_a_user_folder_named_groups_stays_apart_from_the_groups(emulator, api, tmp_path, libraries):
    folder = create_folder(api, "groups")
    add_to_folder(api, folder["id"], libraries["mine"]["id"])
    tool = BackupTool(emulator, tmp_path)
    assert tool.run("-p", "%folder/%title", "--groups", "Lab reading list").summary == Summary(new=3, annotations=2)
    assert document_folders(tool.backup) == {libraries["mine"]["id"]: "groups (2)/Mine"}
    assert sorted(document_folders(tool.backup / "groups/Lab reading list").values()) == [
        "Lab folder/Lab paper", "Unfiled/Lab draft"]


def test_an_unknown_group_is_a_usage_error_naming_the_groups_there_are(emulator, tmp_path, libraries):
    tool = BackupTool(emulator, tmp_path)
    run = tool.run("--groups", "Lab reading list,No such group", expect=2)
    assert "--groups" in run.error_line and "'No such group'" in run.error_line
    assert all(repr(name) in run.error_line for name in ("Lab reading list", "Équipe: Recherche/Π", "Not chosen"))
    assert not tool.backup.exists()
    config = tmp_path / "mendeley-backup.conf"
    config.write_text("[backup]\ngroups = Lab reading lists\n")
    run = tool.run("-c", str(config), expect=2)
    assert f"groups in [backup] of {config}" in run.error_line and "'Lab reading lists'" in run.error_line


def test_annotations_of_a_group_follow_it_incrementally(emulator, api, tmp_path, libraries):
    tool = BackupTool(emulator, tmp_path)
    tool.run("--groups", "all")
    paper = libraries["team_docs"]["with_file"]["id"]
    note, highlight = annotations_of(emulator.library(), paper)
    update_annotation(api, note["id"], text="revised in the group")
    delete_annotation(api, highlight["id"])
    emulator.reset_stats()
    assert tool.run("--groups", "all").summary == Summary(updated=1, annotations=2)
    assert "GET /files/{id}" not in emulator.stats()["by_endpoint"]
    saved = read_json(tool.backup / "groups/Équipe_ Recherche_Π/Doe/2024 - Team paper/annotations.json")
    assert saved == annotations_of(emulator.library(), paper) and saved[0]["text"] == "revised in the group"
