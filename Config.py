"""Settings of a run: built-in defaults, overridden by the config file, overridden by the command line.

The config file is the original tool's INI file (sections `[login-method]` and `[backup]`, every key
optional), read without interpolation so that patterns keep their `%` signs.

A value that cannot be used is a usage error (exit status 2) wherever it was given, named by its option or key,
with the value and what is allowed; a config file that cannot be read or parsed at all exits 1, as the original's.
"""

import argparse
import configparser
import importlib.metadata
import logging
import math
import os
import platform
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, NoReturn

from appdirs import user_cache_dir, user_config_dir

from Errors import ConfigError, ConfigFileError
from Naming import parse_pattern

log = logging.getLogger(__name__)

APP_NAME = "mendeley-backup"
VERSION = "2.0.0"
DESCRIPTION = "Create a local backup of your Mendeley library."

# What a run does: back up (the default), one of the commands that work on the backup alone, or put the backup back
# into the account.
BACKUP, STATUS, RELAYOUT, RESTORE = "backup", "status", "relayout", "restore"


@dataclass(frozen=True)
class GroupSelection:
    """Which groups to back up: `none`, `all`, or some given by id or name."""

    everything: bool = False
    chosen: tuple[str, ...] = ()
    setting: str = "--groups"  # where the selection was given, for a message about a group that does not exist

    @property
    def any(self) -> bool:
        return self.everything or bool(self.chosen)

    def wants(self, group: Mapping[str, Any]) -> bool:
        return self.everything or any(group_matches(wanted, group) for wanted in self.chosen)


def group_matches(wanted: str, group: Mapping[str, Any]) -> bool:
    """Whether `wanted` is the group's id, or its name in any case."""
    return wanted == str(group.get("id")) or wanted.casefold() == str(group.get("name") or "").casefold()


@dataclass(frozen=True)
class HttpPolicy:
    """How patient a run is with the network, and how much of it a run may take."""

    retries: int = 5
    timeout_s: float = 30.0
    backoff_s: float = 0.5
    backoff_max_s: float = 30.0
    pool_size: int = 8
    bwlimit: float | None = None  # bytes a second for all downloads together; None: no limit


@dataclass(frozen=True)
class LoginSettings:
    """What logging in needs, resolved."""

    client_id: str
    client_secret: str | None = field(repr=False)  # None (or empty) → implicit grant, nothing saved
    redirect_uri: str  # http:// on a loopback host, e.g. http://localhost:5000/oauth
    token_file: Path  # absolute
    api_host: str  # e.g. https://api.mendeley.com, or http://127.0.0.1:PORT for the emulator
    open_browser: bool = True  # False with --no-browser
    login_timeout_s: float = 300.0


@dataclass(frozen=True)
class BackupOptions:
    """How one library is backed up."""

    jobs: int | None = None  # None: adaptive (--jobs auto)
    dry_run: bool = False
    full: bool = False
    full_every_days: float = 7.0
    verify: bool = False
    max_delete_percent: float = 50.0
    force: bool = False
    keep_trashed: bool = False
    annotated_pdfs: bool = False  # beside each PDF with highlights or sticky notes, a copy with them drawn in
    progress: bool = False  # progress bars on stderr


@dataclass(frozen=True)
class Settings:
    """Every setting of a run, checked once where it was read."""

    login: LoginSettings
    output_dir: Path
    pattern: str
    pattern_given: bool  # set by the user (file or command line), not the built-in default
    http: HttpPolicy
    backup: BackupOptions
    groups: GroupSelection
    verbosity: int  # -1 quiet, 0 normal, 1 verbose, 2 debug
    action: str = BACKUP  # BACKUP, STATUS, RELAYOUT or RESTORE
    json: bool = False  # the summary as one JSON object instead of its lines


# Converters: text to value, or ValueError saying why the value is not allowed (it is shown after the option's
# or key's name, so it names the value and what is allowed, never a Python internal).

def _whole_number(text: str, least: int) -> int:
    try:
        value = int(text.strip())
    except ValueError:
        value = least - 1
    if value < least:
        raise ValueError(f"{text!r} is not a whole number of {least} or more")
    return value


def _positive_int(text: str) -> int:
    return _whole_number(text, 1)


def _count(text: str) -> int:
    return _whole_number(text, 0)


def _jobs(text: str) -> int | None:
    """`auto` (None: adapted to the link and the server as the run goes) or a fixed number of parallel downloads."""
    if text.strip().lower() == "auto":
        return None
    try:
        return _whole_number(text, 1)
    except ValueError:
        raise ValueError(f"{text!r} is neither auto nor a whole number of 1 or more") from None


# The most parallel downloads --jobs auto opens.
MAX_JOBS = 64
RATE_UNITS = {"": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30}


def _rate(text: str) -> float | None:
    """Bytes per second, `2M` being 2 MiB/s (K, M, G: powers of 1024, as rsync and curl read them); 0 or `none`: no
    limit (None)."""
    cleaned = text.strip().lower().removesuffix("/s").removesuffix("b")
    if cleaned in ("", "none", "0"):
        return None
    unit = cleaned[-1] if cleaned[-1] in RATE_UNITS else ""
    try:
        value = float(cleaned[: len(cleaned) - len(unit)]) * RATE_UNITS[unit]
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or value < 1:
        raise ValueError(f"{text!r} is not a rate such as 500K or 2M (bytes a second), or none")
    return value


def _positive_float(text: str) -> float:
    try:
        value = float(text.strip())
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or value <= 0:
        raise ValueError(f"{text!r} is not a number above 0")
    return value


def _percent(text: str) -> float:
    try:
        value = float(text.strip().rstrip("%"))
    except ValueError:
        value = math.nan
    if not 0 <= value <= 100:
        raise ValueError(f"{text!r} is not a percentage from 0 to 100")
    return value


def _boolean(text: str) -> bool:
    states = configparser.ConfigParser.BOOLEAN_STATES
    if text.strip().lower() not in states:
        raise ValueError(f"{text!r} is not yes or no")
    return states[text.strip().lower()]


def _client_id(text: str) -> str:
    if not text.strip().isdigit():
        raise ValueError(f"{text!r} is not the numeric id of a registered Mendeley app")
    return text.strip()


def _api_host(text: str) -> str:
    if not text.startswith(("http://", "https://")):
        raise ValueError(f"{text!r} is not an http:// or https:// URL")
    return text.rstrip("/")


def _pattern(text: str) -> str:
    if not text.replace("/", "").strip():
        raise ValueError(f"{text!r} makes no folder name; give placeholders and text, such as "
                         f"%authors/%year - %title")
    try:
        parse_pattern(text)
    except ConfigError as error:
        raise ValueError(str(error)) from None
    return text


def _groups(text: str) -> GroupSelection:
    words = tuple(word.strip() for word in text.split(",") if word.strip())
    if [word.lower() for word in words] in (["none"], []):
        return GroupSelection()
    if [word.lower() for word in words] == ["all"]:
        return GroupSelection(everything=True)
    return GroupSelection(chosen=words)


# Config file keys: (section, key) -> (option name, converter). `redirect-url` is the README's spelling.
CONFIG_KEYS: dict[tuple[str, str], tuple[str, Callable[[str], Any]]] = {
    ("login-method", "client-id"): ("client_id", _client_id),
    ("login-method", "client-secret"): ("client_secret", str),
    ("login-method", "redirect-uri"): ("redirect_uri", str),
    ("login-method", "redirect-url"): ("redirect_uri", str),
    ("login-method", "token-file"): ("token_file", str),
    ("login-method", "api-host"): ("api_host", _api_host),
    ("login-method", "login-timeout"): ("login_timeout", _positive_float),
    ("login-method", "browser"): ("browser", _boolean),
    ("backup", "output-dir"): ("output_dir", str),
    ("backup", "pattern"): ("pattern", _pattern),
    ("backup", "jobs"): ("jobs", _jobs),
    ("backup", "bwlimit"): ("bwlimit", _rate),
    ("backup", "retries"): ("retries", _count),
    ("backup", "timeout"): ("timeout", _positive_float),
    ("backup", "max-delete"): ("max_delete", _percent),
    ("backup", "full-every"): ("full_every", _positive_float),
    ("backup", "groups"): ("groups", _groups),
    ("backup", "keep-trashed"): ("keep_trashed", _boolean),
    ("backup", "annotated-pdfs"): ("annotated_pdfs", _boolean),
}

DEFAULTS: dict[str, Any] = {
    "client_id": "15049",  # the original tool's registered app
    "client_secret": None,
    "redirect_uri": "http://localhost:5000/oauth",
    "token_file": "token",
    "api_host": "https://api.mendeley.com",
    "login_timeout": 300.0,
    "browser": True,
    "output_dir": "backup",
    "pattern": "%authors/%year - %title",
    "jobs": None,  # auto
    "bwlimit": None,
    "retries": 5,
    "timeout": 30.0,
    "max_delete": 50.0,
    "full_every": 7.0,
    "groups": GroupSelection(),
    "keep_trashed": False,
    "annotated_pdfs": False,
}

EPILOG = """\
placeholders of --pattern (a / outside them makes subfolders):
  %authors, %author  last names: Doe, Doe & Roe, Doe, Roe & Poe, from four authors Doe et al.; Unknown if none
  %first_author      the first author's last name, Unknown if none
  %title             the title, Untitled if none
  %year, %month      the year; the month as two digits (03); Unknown if none
  %type              the document type (journal, book, conference_proceedings, ...)
  %source            the journal, book or other outlet, Unknown if none
  %id                the Mendeley document id
  %folder            the document's Mendeley folder path (Parent/Child), Unfiled if in none
  %%                 a percent sign

exit status:
  0  success
  1  failure: nothing was backed up this run, or it stopped; nothing already backed up is lost
  2  usage error: an option or a config file value that cannot be used
  3  the run finished but could not back up (or restore) some items, or held back removals beyond
     --max-delete (named on stderr; the next run tries them again)

An option with a config key can be set in the config file; the command line wins over the file, which wins
over the defaults. Every yes/no option has a --no- form."""


def default_config_file() -> Path:
    return Path(user_config_dir(APP_NAME)) / f"{APP_NAME}.conf"


def _config_key(name: str) -> str:
    """`jobs in [backup]`: the config key (or keys) and section of the option named `name`."""
    places = [where for where, (option, _) in CONFIG_KEYS.items() if option == name]
    return f"{' or '.join(key for _, key in places)} in [{places[0][0]}]"


def _about(text: str, name: str | None = None, default: str | None = None) -> str:
    """An option's help: what it does, then its default and config key, as README's table gives them."""
    notes = [f"default: {default}"] if default is not None else []
    if name is not None:
        notes.append(f"config: {_config_key(name)}")
    return f"{text} ({'; '.join(notes)})" if notes else text


def _typed(converter: Callable[[str], Any]) -> Callable[[str], Any]:
    """An argparse type from a converter, so a bad value is a usage error naming the option."""
    def convert(text: str) -> Any:
        try:
            return converter(text)
        except ValueError as error:
            raise argparse.ArgumentTypeError(str(error)) from None
    return convert


# Environment variables, between the config file and the command line: a secret given this way shows neither in
# `ps` nor in a config file others may read.
ENVIRONMENT = {"MENDELEY_CLIENT_SECRET": "client_secret"}


def version_text() -> str:
    """What --version prints: the tool's version, the Python's and the mendeley SDK's."""
    try:
        sdk = importlib.metadata.version("mendeley")
    except importlib.metadata.PackageNotFoundError:
        sdk = "not installed"
    return f"mendeley-backup {VERSION} (Python {platform.python_version()}, mendeley SDK {sdk})"


class _Parser(argparse.ArgumentParser):
    """argparse, with a usage error raised as the tool's own one-line error (exit status 2) instead of printed."""

    def error(self, message: str) -> NoReturn:
        raise ConfigError(f"{message} (see --help)")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="mendeley-backup.py", description=DESCRIPTION, epilog=EPILOG,
                     formatter_class=argparse.RawDescriptionHelpFormatter)
    add = parser.add_argument
    yes_no = argparse.BooleanOptionalAction
    add("-c", "--config-file", metavar="FILE", help=_about("the INI config file", default=str(default_config_file())))
    add("-o", "--output-dir", metavar="DIR", help=_about("the backup folder", "output_dir", "backup"))
    add("-p", "--pattern", type=_typed(_pattern),
        help=_about("each document's folder, from the placeholders below; a backup keeps the pattern it was made "
                    "with (a different one is ignored with a warning) unless --relayout is given", "pattern",
                    "%%authors/%%year - %%title"))
    add("-i", "--client-id", type=_typed(_client_id), metavar="ID",
        help=_about("the id of a registered Mendeley app", "client_id", "15049"))
    add("-s", "--client-secret", metavar="SECRET",
        help=_about("the app's secret: log in once and keep the login in the token file, instead of a browser "
                    "login every run (better given in the environment variable MENDELEY_CLIENT_SECRET, which ps "
                    "does not show)", "client_secret", "none"))
    add("-r", "--redirect-uri", metavar="URI",
        help=_about("the app's redirect URI, http:// on localhost",
                    "redirect_uri", "http://localhost:5000/oauth"))
    add("-t", "--token-file", metavar="FILE",
        help=_about("where the login is kept; relative paths are in the user cache folder", "token_file", "token"))
    add("--api-host", type=_typed(_api_host), metavar="URL",
        help=_about("the Mendeley API's address (a proxy, or the bundled emulator)", "api_host",
                    "https://api.mendeley.com"))
    add("--browser", action=yes_no, default=None,
        help=_about("open a browser to log in; --no-browser prints the login URL instead and accepts the "
                    "redirected address pasted on standard input", "browser", "yes"))
    add("--login-timeout", type=_typed(_positive_float), metavar="SECONDS",
        help=_about("how long to wait for the browser login", "login_timeout", "300"))
    add("--groups", type=_typed(_groups), metavar="all|none|ID,NAME,...",
        help=_about("the groups to back up, each under groups/<name>/; naming a group the account does not have "
                    "is a usage error", "groups", "none"))
    add("--keep-trashed", action=yes_no, default=None,
        help=_about("keep documents moved to the Mendeley trash under .trash/ instead of removing them; they move "
                    "back if restored", "keep_trashed", "no"))
    add("--annotated-pdfs", action=yes_no, default=None,
        help=_about("beside each backed-up PDF with highlights or sticky notes, a copy with them drawn in as PDF "
                    "annotations, `<name> (annotated).pdf`, which Zotero, JabRef and any PDF reader show (the "
                    "exports link it first); the original stays as downloaded. --no-annotated-pdfs removes the "
                    "copies a backup holds", "annotated_pdfs", "no"))
    add("-j", "--jobs", type=_typed(_jobs), metavar="auto|N",
        help=_about("parallel downloads: auto adapts them to the link and the server (a few at first, more while "
                    f"that pays, never more than {MAX_JOBS}, fewer when the server pushes back); a number fixes "
                    "them", "jobs", "auto"))
    add("--bwlimit", type=_typed(_rate), metavar="RATE",
        help=_about("the most bytes a second all downloads together may take, such as 500K or 2M (K, M, G: 1024, "
                    "1024², 1024³); none for no limit", "bwlimit", "none"))
    add("--retries", type=_typed(_count), metavar="N",
        help=_about("retries of a failed request (connection errors, timeouts, 429 and 5xx answers, downloads cut "
                    "short or damaged) with exponential backoff", "retries", "5"))
    add("--timeout", type=_typed(_positive_float), metavar="SECONDS",
        help=_about("connect and read timeout of each request", "timeout", "30"))
    add("--full", action=yes_no, default=None,
        help=_about("list the whole library this run, instead of only what changed", default="off"))
    add("--full-every", type=_typed(_positive_float), metavar="DAYS",
        help=_about("list the whole library at least this often, as a safety net", "full_every", "7"))
    add("--verify", action=yes_no, default=None,
        help=_about("re-hash every backed-up file (a plain run compares each file's size and modification time with "
                    "the state), fetch again any that is missing or damaged, and re-check every document against a "
                    "full listing", default="off"))
    add("--max-delete", type=_typed(_percent), metavar="PERCENT",
        help=_about("hold back the removals (the rest of the run goes on, exit status 3) if a run would remove "
                    "more than this share of the backup and more than 5 documents", "max_delete", "50"))
    add("--force", action=yes_no, default=None, help=_about("remove documents even beyond --max-delete", default="off"))
    add("--dry-run", action=yes_no, default=None,
        help=_about("print what would be added, removed, updated and moved, and write nothing", default="off"))
    add("--relayout", action="store_true",
        help=_about("move every document's folder to its place under the new --pattern, without downloading; a "
                    "rerun finishes the moves of one that was stopped; with --dry-run, list the moves", default="off"))
    add("--restore", action="store_true",
        help=_about("put the backup in --output-dir back into the Mendeley account logged in (with --groups, the "
                    "chosen groups into the account's groups of the same name), adding what the account lacks and "
                    "changing nothing else; a rerun finishes one that was stopped; with --dry-run, list what it "
                    "would create", default="off"))
    add("--status", action="store_true",
        help=_about("print what the backup holds and how its last run went, without asking the server",
                    default="off"))
    add("--json", action=yes_no, default=None,
        help=_about("print the summary as one JSON object (counts, bytes, time, failures, exit status) instead of "
                    "lines", default="off"))
    talk = parser.add_mutually_exclusive_group()
    talk.add_argument("-q", "--quiet", action="store_true",
                      help="print nothing when all is well: only warnings and errors, on stderr")
    talk.add_argument("-v", "--verbose", action="count", default=0,
                      help="say what happens, and print the totals line (twice: debugging detail; tokens and "
                           "secrets are never shown)")
    add("--version", action="version", version=version_text(), help="print the versions of the tool, Python and SDK")
    return parser


def read_config_file(path: Path, required: bool) -> dict[str, Any]:
    """Option values from the config file; a missing default file means no values."""
    parser = configparser.ConfigParser(interpolation=None)
    try:
        with open(path, encoding="utf-8") as handle:
            parser.read_file(handle)
    except FileNotFoundError:
        if required:
            raise ConfigFileError(f"The config file {path} does not exist") from None
        return {}
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigFileError(f"Cannot read the config file {path}: {error}") from error
    except configparser.Error as error:
        raise ConfigFileError(f"The config file {path} is not valid: {' '.join(str(error).split())}") from error
    sections = {section for section, _ in CONFIG_KEYS}
    values: dict[str, Any] = {}
    for section in parser.sections():
        if section not in sections:
            log.warning("Ignoring the unknown section [%s] of %s", section, path)
            continue
        for key, text in parser.items(section):
            known = CONFIG_KEYS.get((section, key))
            if known is None:
                log.warning("Ignoring the unknown key %r in [%s] of %s", key, section, path)
                continue
            name, converter = known
            try:
                values[name] = converter(text)
            except ValueError as error:
                raise ConfigError(f"{key} in [{section}] of {path}: {error}") from None
    return values


def load_settings(argv: Sequence[str] | None = None) -> Settings:
    """Parse the command line and merge it over the config file; a value that cannot be used raises ConfigError."""
    arguments = build_parser().parse_args(argv)
    config_path = Path(arguments.config_file).expanduser() if arguments.config_file else default_config_file()
    from_file = read_config_file(config_path, required=bool(arguments.config_file))
    given = {name: value for name, value in vars(arguments).items() if value is not None}
    environment = {name: os.environ[variable] for variable, name in ENVIRONMENT.items() if os.environ.get(variable)}
    merged = {**DEFAULTS, **from_file, **environment, **given}
    if "groups" in from_file and "groups" not in given:
        merged["groups"] = replace(merged["groups"], setting=f"groups in [backup] of {config_path}")
    action = STATUS if arguments.status else RELAYOUT if arguments.relayout else RESTORE if arguments.restore \
        else BACKUP
    if arguments.status and arguments.relayout:
        raise ConfigError("--status and --relayout do not go together: choose one (see --help)")
    clashing = [option for option, value in (("--verify", arguments.verify), ("--full", arguments.full),
                                             ("--status", arguments.status), ("--relayout", arguments.relayout))
                if value]
    if arguments.restore and clashing:
        raise ConfigError(f"--restore cannot be combined with {' or '.join(clashing)}, which are for backing up or "
                          f"for the backup alone; run them on their own (see --help)")
    pattern_given = "pattern" in from_file or "pattern" in given
    if action == RELAYOUT and not pattern_given:
        raise ConfigError("--relayout needs the new layout: give it with --pattern (or pattern in [backup] of the "
                          "config file)")
    token_file = Path(merged["token_file"]).expanduser()
    if not token_file.is_absolute():
        token_file = Path(user_cache_dir(APP_NAME)) / token_file
    login = LoginSettings(
        client_id=merged["client_id"], client_secret=merged["client_secret"] or None,
        redirect_uri=merged["redirect_uri"], token_file=token_file, api_host=merged["api_host"],
        open_browser=merged["browser"], login_timeout_s=merged["login_timeout"])
    verbosity = -1 if arguments.quiet else min(arguments.verbose, 2)
    backup = BackupOptions(
        jobs=merged["jobs"], dry_run=bool(arguments.dry_run), full=bool(arguments.full),
        full_every_days=merged["full_every"], verify=bool(arguments.verify), max_delete_percent=merged["max_delete"],
        force=bool(arguments.force), keep_trashed=bool(merged["keep_trashed"]),
        annotated_pdfs=bool(merged["annotated_pdfs"]), progress=verbosity >= 0 and sys.stderr.isatty())
    return Settings(
        login=login, output_dir=Path(merged["output_dir"]).expanduser().absolute(), pattern=merged["pattern"],
        pattern_given=pattern_given,
        http=HttpPolicy(retries=merged["retries"], timeout_s=merged["timeout"],
                        pool_size=2 * (merged["jobs"] or MAX_JOBS), bwlimit=merged["bwlimit"]),
        backup=backup, groups=merged["groups"], verbosity=verbosity, action=action, json=bool(arguments.json))
