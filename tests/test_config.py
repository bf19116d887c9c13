"""Settings end to end: built-in defaults < the INI config file < the command line, as the original tool."""

from __future__ import annotations

import time
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from Config import load_settings
from tests.library import attach_file, create_document
from tests.tool import SECRET, BackupTool, Summary, loopback_redirect_uri, read_json, state_of

PDF = b"%PDF-1.4 configured\n" * 40


@pytest.fixture
def paper(api) -> dict:
    document = create_document(api, "T 1", ["Doe", "Roe"])
    attach_file(api, document["id"], "paper.pdf", PDF)
    return document


def write_config(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def default_config(tool: BackupTool) -> Path:
    """Where the tool looks without -c: appdirs' user config folder, which honours XDG_CONFIG_HOME."""
    return tool.tmp / "config" / "mendeley-backup" / "mendeley-backup.conf"


def test_output_dir_and_pattern_come_from_the_config_file(tool, paper):
    output = tool.tmp / "from-config"
    config = write_config(tool.tmp / "my.conf", f"[backup]\noutput-dir = {output}\npattern = %year/%title\n")
    assert tool.run("-c", str(config), output=False).summary == Summary(new=1)
    assert (output / "2024/T 1/paper.pdf").read_bytes() == PDF
    assert state_of(output)["pattern"] == "%year/%title"
    assert not tool.backup.exists()


def test_the_command_line_overrides_the_config_file(tool, paper):
    output = tool.tmp / "from-config"
    config = write_config(tool.tmp / "my.conf", f"[backup]\noutput-dir = {output}\npattern = %year/%title\n")
    tool.run("-c", str(config), "-p", "%title")  # and -o tmp/backup
    assert (tool.backup / "T 1/paper.pdf").read_bytes() == PDF
    assert state_of(tool.backup)["pattern"] == "%title"
    assert not output.exists()


def test_without_any_setting_the_backup_goes_to_backup_in_the_working_folder(tool, paper):
    tool.run(output=False)  # the working folder is tmp, so this is tmp/backup
    assert (tool.backup / "Doe & Roe/2024 - T 1/paper.pdf").read_bytes() == PDF
    assert state_of(tool.backup)["pattern"] == "%authors/%year - %title"


def test_the_default_config_file_is_read_from_the_user_config_folder(tool, paper):
    output = tool.tmp / "from-default-config"
    write_config(default_config(tool), f"[backup]\noutput-dir = {output}\npattern = %title\n")
    tool.run(output=False)
    assert (output / "T 1/paper.pdf").read_bytes() == PDF


def test_an_unknown_key_is_ignored_with_a_warning(tool, paper):
    config = write_config(tool.tmp / "my.conf", "[backup]\ncolour = blue\npattern = %title\n")
    run = tool.run("-c", str(config))
    assert "colour" in run.stderr
    assert (tool.backup / "T 1/paper.pdf").is_file()


# A file that does not parse exits 1, as the original's; a value that cannot be used is a usage error, exit 2.
BROKEN = {
    "no section header": ("output-dir = somewhere\n", 1),
    "a key twice": ("[backup]\npattern = %title\npattern = %year\n", 1),
    "a client id that is not a number": ("[login-method]\nclient-id = my-app\n", 2),
    "an unknown placeholder": ("[backup]\npattern = %authors/%journal\n", 2),
    "a negative retry count": ("[backup]\nretries = -1\n", 2),
}


@pytest.mark.parametrize("where", ["-c", "default location"])
@pytest.mark.parametrize("problem", BROKEN)
def test_a_broken_config_file_is_one_line_and_exit_1_or_for_a_bad_value_2(tool, paper, problem, where):
    path = tool.tmp / "broken.conf" if where == "-c" else default_config(tool)
    text, status = BROKEN[problem]
    write_config(path, text)
    run = tool.run(*(["-c", str(path)] if where == "-c" else []), expect=status)
    assert str(path) in run.error_line
    assert not tool.backup.exists()


def test_a_config_file_that_is_not_utf8_or_missing_is_one_line_and_exit_1(tool, paper):
    path = tool.tmp / "latin1.conf"
    path.write_bytes("[backup]\noutput-dir = Universität\n".encode("latin-1"))
    assert str(path) in tool.run("-c", str(path), expect=1).error_line
    missing = tool.tmp / "missing.conf"
    assert str(missing) in tool.run("-c", str(missing), expect=1).error_line
    assert not tool.backup.exists()


@pytest.mark.parametrize("key", ["redirect-uri", "redirect-url"])
def test_both_spellings_of_the_redirect_key_are_used_for_the_login(tool, paper, key):
    tool.token_file.unlink()
    redirect_uri = loopback_redirect_uri()
    config = write_config(tool.tmp / "my.conf", f"[login-method]\n{key} = {redirect_uri}\n")
    tool.run("-c", str(config), env=tool.stand_in_browser())
    (visit,) = tool.browser_visits()
    assert parse_qs(urlsplit(visit["login_url"]).query)["redirect_uri"] == [redirect_uri]
    assert "Successfully logged in" in visit["page"]
    assert read_json(tool.token_file)["access_token"]


@pytest.mark.parametrize("where", ["config file", "command line"])
def test_the_readme_spelling_author_means_authors(tool, paper, where):
    if where == "config file":
        config = write_config(tool.tmp / "my.conf", "[backup]\npattern = %author/%year - %title\n")
        tool.run("-c", str(config))
    else:
        tool.run("-p", "%author/%year - %title")
    assert (tool.backup / "Doe & Roe/2024 - T 1/paper.pdf").read_bytes() == PDF


@pytest.mark.parametrize("args", [
    ("-j", "0"), ("-j", "fast"), ("--bwlimit", "2x"), ("--bwlimit", "-5M"),
    ("-p", "%authors/%journal"), ("-p", "100%"), ("-i", "my-app"), ("--max-delete", "150"),
    ("--api-host", "ftp://example.org"), ("--timeout", "-1"), ("--retries", "many"), ("--no-such-option",),
], ids=lambda args: " ".join(args))
def test_a_bad_value_on_the_command_line_is_a_usage_error(tool, paper, args):
    run = tool.run(*args, expect=2)
    assert args[0] in run.error_line and "see --help" in run.error_line
    assert not tool.backup.exists()


@pytest.mark.parametrize("where", ["command line", "config file"])
def test_a_relative_token_file_is_in_the_user_cache_folder(emulator, tool, paper, where):
    cached = tool.tmp / "cache" / "mendeley-backup" / "my-login.json"
    cached.parent.mkdir(parents=True)
    old = emulator.token()
    tool.token_file.unlink()
    tool.token_file = cached
    tool.save_token({**old, "expires_at": time.time() - 60})  # expired: the refresh is written back there
    if where == "command line":
        run = tool.run("-s", SECRET, "-t", "my-login.json", login=False)
    else:
        config = write_config(tool.tmp / "my.conf", "[login-method]\ntoken-file = my-login.json\n")
        run = tool.run("-s", SECRET, "-c", str(config), login=False)
    assert run.summary == Summary(new=1)
    assert read_json(cached)["refresh_token"] != old["refresh_token"]
    assert not (tool.tmp / "my-login.json").exists()


def test_a_pattern_given_for_an_existing_backup_is_ignored_with_a_warning(tool, api, paper):
    tool.run("-p", "%title")
    create_document(api, "T 2", ["Poe"])
    run = tool.run("-p", "%year/%title")
    assert "%year/%title" in run.stderr and "%title" in run.stderr
    assert run.summary == Summary(new=1)
    assert (tool.backup / "T 2/info.json").is_file()
    assert state_of(tool.backup)["pattern"] == "%title"


@pytest.mark.parametrize(("args", "jobs", "bwlimit"), [
    ((), None, None), (("-j", "auto"), None, None), (("-j", "6"), 6, None),
    (("--bwlimit", "2M"), None, 2 * 2**20), (("--bwlimit", "500K"), None, 500 * 2**10),
    (("--bwlimit", "1500"), None, 1500), (("--bwlimit", "none"), None, None),
    (("--bwlimit", "1.5m/s"), None, 1.5 * 2**20)])
def test_jobs_and_bandwidth_limit_are_read_as_given(tmp_path, args, jobs, bwlimit):
    settings = load_settings(["-c", str(write_config(tmp_path / "empty.conf", "")), *args])
    assert (settings.backup.jobs, settings.http.bwlimit) == (jobs, bwlimit)


def test_a_run_with_a_fixed_number_of_jobs_and_a_bandwidth_limit_backs_up_the_library(tool, emulator, paper):
    run = tool.run("-j", "2", "--bwlimit", "64K")
    assert run.summary == Summary(new=1)
    assert (tool.backup / "Doe & Roe/2024 - T 1/paper.pdf").read_bytes() == PDF
