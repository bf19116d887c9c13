"""`--help` and README's option table say the same things: every option in both, with the same config keys and
defaults; the placeholders (%author and %% included) and the exit statuses in both."""

from __future__ import annotations

import re

import pytest

from tests.tool import REPO, BackupTool

README = REPO / "README.md"
CONFIG_NOTE = re.compile(r"config: ([a-z-]+(?: or [a-z-]+)*) in \[([a-z-]+)\]")
DEFAULT_NOTE = re.compile(r"\(default: ([^;)]*)")


def options_of(invocation: str) -> tuple[str, ...]:
    """`-c FILE, --config-file FILE` -> ("-c", "--config-file")."""
    return tuple(part.split()[0] for part in invocation.split(", "))


@pytest.fixture
def help_text(tool: BackupTool) -> str:
    run = tool.run("--help", output=False, login=False, env={"COLUMNS": "1000"})  # one line per option's help
    return run.stdout


def help_options(help_text: str) -> dict[tuple[str, ...], tuple[set[str], str | None, str | None]]:
    """Each option of --help: its option strings -> (config keys, config section, default)."""
    found = {}
    lines = help_text.split("\n\n")[2].splitlines()[1:]  # the `options:` block
    index = 0
    while index < len(lines):
        invocation, _, text = lines[index].strip().partition("  ")
        if not text.strip():
            index += 1
            text = lines[index]
        index += 1
        config = CONFIG_NOTE.search(text)
        default = DEFAULT_NOTE.search(text)
        found[options_of(invocation)] = (set(config.group(1).split(" or ")) if config else set(),
                                         config.group(2) if config else None,
                                         default.group(1).strip() if default else None)
    found.pop(("-h", "--help"))
    return found


def readme_options() -> dict[tuple[str, ...], tuple[set[str], str | None, str | None]]:
    """Each row of README's option table, the same way."""
    section = README.read_text(encoding="utf-8").split("## Options", 1)[1].split("\n## ", 1)[0]
    found = {}
    for row in section.splitlines():
        cells = [cell.strip() for cell in re.split(r"(?<!\\)\|", row)[1:-1]]
        if len(cells) != 4 or not cells[0].startswith("`-"):
            continue
        keys = set(re.findall(r"`([a-z-]+)`", cells[1].split("(")[0]))
        where = re.search(r"\(([a-z-]+)", cells[1])
        default = re.sub(r"^`([^`]*)`.*", r"\1", cells[3]) if cells[3] else None
        found[options_of(cells[0].strip("`").replace("\\|", "|"))] = (keys, where.group(1) if where else None,
                                                                      default)
    return found


def test_every_option_of_help_is_in_the_readme_table_with_its_config_key_and_default(help_text):
    in_help, in_readme = help_options(help_text), readme_options()
    assert set(in_help) == set(in_readme), (sorted(set(in_help) - set(in_readme)),
                                            sorted(set(in_readme) - set(in_help)))
    assert len(in_help) >= 27
    for options, (keys, section, default) in in_help.items():
        readme_keys, readme_section, readme_default = in_readme[options]
        assert (keys, section) == (readme_keys, readme_section), options
        if options != ("-c", "--config-file"):  # the help names the real path, the README the usual one
            assert default == readme_default, options


def test_every_yes_no_option_has_its_no_form_in_both(help_text):
    yes_no = [options for options in help_options(help_text) if any(option.startswith("--no-") for option in options)]
    assert {options[0] for options in yes_no} == {"--browser", "--keep-trashed", "--annotated-pdfs", "--full",
                                                  "--verify", "--force", "--dry-run", "--json"}
    assert all(options in readme_options() for options in yes_no)


def test_placeholders_and_exit_statuses_are_in_both(help_text):
    readme = README.read_text(encoding="utf-8")
    for placeholder in ("%authors", "%author", "%first_author", "%title", "%year", "%month", "%type", "%source",
                        "%id", "%folder", "%%"):
        assert placeholder in help_text.split("placeholders of --pattern", 1)[1], placeholder
        assert f"`{placeholder}`" in readme.split("## Pattern placeholders", 1)[1], placeholder
    statuses = help_text.split("exit status:", 1)[1]
    for status, words in (("0", "success"), ("1", "failure"), ("2", "usage error"), ("3", "held back removals")):
        assert re.search(rf"^  {status}  .*{re.escape(words)}", statuses, re.M), status
        assert re.search(rf"`{status}` [^`]*{re.escape(words)}", readme), status
    assert "429 and 5xx answers" in help_text and "429 and 5xx answers" in readme  # what --retries retries
