"""RestoreJournal and MendeleyApi.created_once: each object recorded before it is made and its id after, on disk at
once; a step begun without its id is looked for before it is made again; an answer after which the object may exist
is followed by a look, others by an error."""

from __future__ import annotations

from pathlib import Path

import pytest

from BackupFolder import RESTORE_JOURNAL, TEMP_DIR, AtomicWriter, BackupFolder
from Errors import ApiError, UnfinishedRestoreError
from HttpSession import HttpPolicy, make_write_session
from MendeleyApi import MendeleyApi
from RestoreJournal import FILE, RestoreJournal, Step, document_step, folder_step, refuse_unfinished_restore
from tests.tool import read_json


@pytest.fixture
def folder(tmp_path: Path) -> BackupFolder:
    (tmp_path / TEMP_DIR).mkdir()
    return BackupFolder(tmp_path, AtomicWriter(tmp_path / TEMP_DIR))


@pytest.fixture
def writer() -> MendeleyApi:
    """A client whose created_once is all that is used: no request is ever sent."""
    policy = HttpPolicy(retries=2, backoff_s=0.0)
    return MendeleyApi("http://127.0.0.1:9", make_write_session(policy), credentials=None,  # type: ignore[arg-type]
                       policy=policy)


class Calls:
    """A step's create and find, counting their calls; `outcomes` are what create does, in turn."""

    def __init__(self, *outcomes: str | Exception, found: str | None = None) -> None:
        self.outcomes, self.found = list(outcomes), found
        self.created = self.looked = 0

    def create(self) -> str:
        self.created += 1
        outcome = self.outcomes.pop(0)
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    def find(self) -> str | None:
        self.looked += 1
        return self.found


def test_a_step_is_on_disk_before_its_request_and_its_id_after(folder, writer):
    journal = RestoreJournal.open(folder, dry_run=False)
    step = Step("doc", FILE, "old-file")
    seen = []

    def create() -> str:
        seen.append(read_json(folder.path(RESTORE_JOURNAL))["documents"]["doc"][FILE])
        return "new-file"

    assert journal.take(step, writer, create, lambda: None, "a file") == ("new-file", True)
    assert seen == [{"old-file": None}]
    assert RestoreJournal.open(folder, dry_run=False).lookup(step) == (True, "new-file")
    assert journal.take(step, writer, create, lambda: None, "a file") == ("new-file", False)
    assert len(seen) == 1


def test_a_step_a_killed_run_began_is_looked_for_before_it_is_made(folder, writer):
    journal = RestoreJournal.open(folder, dry_run=False)
    step = document_step("doc")
    journal.intend(step)
    found = Calls("should not be made", found="made-by-the-dead-run")
    assert RestoreJournal.open(folder, dry_run=False).take(step, writer, found.create, found.find, "a document") \
        == ("made-by-the-dead-run", True)
    assert (found.looked, found.created) == (1, 0)
    other = folder_step("folder")
    journal.intend(other)
    missing = Calls("new-folder")
    assert journal.take(other, writer, missing.create, missing.find, "a folder") == ("new-folder", True)
    assert (missing.looked, missing.created) == (1, 1)


def test_an_answer_after_which_the_object_may_exist_is_followed_by_a_look(writer):
    made = Calls(ApiError("POST /documents failed: connection reset"), ApiError("cut", 500), found=None)
    made.outcomes.append("third-try")
    assert writer.created_once(made.create, made.find, check_first=False, what="x") == "third-try"
    assert (made.created, made.looked) == (3, 2)
    lost = Calls(ApiError("502", 502), found="it-was-made")
    assert writer.created_once(lost.create, lost.find, check_first=False, what="x") == "it-was-made"
    assert (lost.created, lost.looked) == (1, 1)


def test_a_refused_body_is_an_error_at_once_and_the_tries_are_bounded(writer):
    refused = Calls(ApiError("400", 400))
    with pytest.raises(ApiError, match="400"):
        writer.created_once(refused.create, refused.find, check_first=False, what="x")
    assert (refused.created, refused.looked) == (1, 0)
    failing = Calls(*[ApiError("500", 500)] * 5)
    with pytest.raises(ApiError, match="Could not create x"):
        writer.created_once(failing.create, failing.find, check_first=False, what="x")
    assert failing.created == 3  # --retries 2: three tries in all


def test_documents_leave_the_journal_and_a_finished_restore_removes_it(folder):
    journal = RestoreJournal.open(folder, dry_run=False)
    journal.made(document_step("a"), "new-a")
    journal.made(document_step("b"), "new-b")
    journal.prune(["a"])
    assert set(read_json(folder.path(RESTORE_JOURNAL))["documents"]) == {"b"}
    assert journal.made_documents() == {"new-b"}
    with pytest.raises(UnfinishedRestoreError, match="has not finished"):
        refuse_unfinished_restore(folder)
    journal.remove()
    assert not folder.has(RESTORE_JOURNAL)
    refuse_unfinished_restore(folder)


def test_a_dry_run_writes_no_journal(folder):
    journal = RestoreJournal.open(folder, dry_run=True)
    journal.intend(document_step("a"))
    journal.made(document_step("a"), "x")
    assert not folder.has(RESTORE_JOURNAL)
