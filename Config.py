"""Settings of a run: built-in defaults, overridden by the config file, overridden by the command line.

The config file is the original tool's INI file (sections `[login-method]` and `[backup]`, every key
optional), read without interpolation so that patterns keep their `%` signs.
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
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from appdirs import user_cache_dir, user_config_dir

from Errors import ConfigError
from Naming import parse_pattern

log = logging.getLogger(__name__)

APP_NAME = "mendeley-backup"
VERSION = "2.0.0"
DESCRIPTION = "Create a local backup of your Mendeley library."


@dataclass(frozen=True)
class GroupSelection:
    """Which groups to back up: `none`, `all`, or some given by id or name."""

    everything: bool = False
    chosen: tuple[str, ...] = ()

    @property
    def any(self) -> bool:
        return self.everything or bool(self.chosen)

    def wants(self, group: Mapping[str, Any]) -> bool:
        return self.everything or str(group.get("id")) in self.chosen or \
            str(group.get("name") or "").casefold() in {name.casefold() for name in self.chosen}


@dataclass(frozen=True)
class HttpPolicy:
    """How patient a run is with the network."""

    retries: int = 5
    timeout_s: float = 30.0
    backoff_s: float = 0.5
    backoff_max_s: float = 30.0
    pool_size: int = 8


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

    jobs: int = 4
    dry_run: bool = False
    full: bool = False
    full_every_days: float = 7.0
    verify: bool = False
    max_delete_percent: float = 50.0
    force: bool = False
    keep_trashed: bool = False
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


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise ValueError("must be at least 1")
    return value


def _count(text: str) -> int:
    value = int(text)
    if value < 0:
        raise ValueError("must not be negative")
    return value


def _positive_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value) or value <= 0:
        raise ValueError("must be a positive number")
    return value


def _percent(text: str) -> float:
    value = float(text.strip().rstrip("%"))
    if not 0 <= value <= 100:
        raise ValueError("must be a percentage between 0 and 100")
    return value


def _boolean(text: str) -> bool:
    states = configparser.ConfigParser.BOOLEAN_STATES
    if text.strip().lower() not in states:
        raise ValueError("must be yes or no")
    return states[text.strip().lower()]


def _client_id(text: str) -> str:
    if not text.strip().isdigit():
        raise ValueError("must be the numeric id of a registered Mendeley app")
    return text.strip()


def _api_host(text: str) -> str:
    if not text.startswith(("http://", "https://")):
        raise ValueError("must be an http:// or https:// URL")
    return text.rstrip("/")


def _pattern(text: str) -> str:
    parse_pattern(text)
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
    ("backup", "output-dir"): ("output_dir", str),
    ("backup", "pattern"): ("pattern", _pattern),
    ("backup", "jobs"): ("jobs", _positive_int),
    ("backup", "retries"): ("retries", _count),
    ("backup", "timeout"): ("timeout", _positive_float),
    ("backup", "max-delete"): ("max_delete", _percent),
    ("backup", "full-every"): ("full_every", _positive_float),
    ("backup", "groups"): ("groups", _groups),
    ("backup", "keep-trashed"): ("keep_trashed", _boolean),
}

DEFAULTS: dict[str, Any] = {
    "client_id": "15049",  # the original tool's registered app
    "client_secret": None,
    "redirect_uri": "http://localhost:5000/oauth",
    "token_file": "token",
    "api_host": "https://api.mendeley.com",
    "login_timeout": 300.0,
    "output_dir": "backup",
    "pattern": "%authors/%year - %title",
    "jobs": 4,
    "retries": 5,
    "timeout": 30.0,
    "max_delete": 50.0,
    "full_every": 7.0,
    "groups": GroupSelection(),
    "keep_trashed": False,
}


def default_config_file() -> Path:
    return Path(user_config_dir(APP_NAME)) / f"{APP_NAME}.conf"


def _typed(converter: Callable[[str], Any], name: str) -> Callable[[str], Any]:
    """An argparse type from a converter, so a bad value is a usage error naming the option."""
    def convert(text: str) -> Any:
        try:
            return converter(text)
        except (ValueError, ConfigError) as error:
            raise argparse.ArgumentTypeError(f"{name}: {error}") from None
    convert.__name__ = name
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


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="mendeley-backup.py", description=DESCRIPTION)
    add = parser.add_argument
    add("-c", "--config-file", metavar="FILE", help=f"INI config file (default: {default_config_file()})")
    add("-o", "--output-dir", metavar="DIR", help="backup location (default: backup)")
    add("-p", "--pattern", type=_typed(_pattern, "pattern"),
        help="folder of each document, from placeholders %%authors %%title %%year %%first_author %%type "
             "%%source %%month %%id %%folder (default: %%authors/%%year - %%title); a backup keeps the pattern "
             "it was made with")
    add("-i", "--client-id", type=_typed(_client_id, "client id"), metavar="ID",
        help="id of a registered Mendeley app (default: 15049)")
    add("-s", "--client-secret", metavar="SECRET",
        help="the app's secret: log in once and keep a token file, instead of a browser login every run "
             "(better in the environment variable MENDELEY_CLIENT_SECRET, which ps does not show)")
    add("-r", "--redirect-uri", metavar="URI",
        help="OAuth redirect URI registered for the app, http:// on localhost (default: http://localhost:5000/oauth)")
    add("-t", "--token-file", metavar="FILE",
        help="where the login is kept; relative paths are in the user cache folder (default: token)")
    add("--api-host", type=_typed(_api_host, "API host"), metavar="URL",
        help="Mendeley API address (default: https://api.mendeley.com)")
    add("--no-browser", action="store_true",
        help="print the login URL instead of opening a browser; the redirected URL may be pasted back")
    add("--login-timeout", type=_typed(_positive_float, "login timeout"), metavar="SECONDS",
        help="how long to wait for a browser login (default: 300)")
    add("--groups", type=_typed(_groups, "groups"), metavar="all|none|ID,NAME,...",
        help="groups to back up under groups/<name>/ (default: none)")
    add("--keep-trashed", action="store_true", default=None,
        help="keep documents moved to the Mendeley trash under .trash/ instead of removing them")
    add("-j", "--jobs", type=_typed(_positive_int, "jobs"), metavar="N", help="parallel downloads (default: 4)")
    add("--retries", type=_typed(_count, "retries"), metavar="N",
        help="retries of a failed request before giving up (default: 5)")
    add("--timeout", type=_typed(_positive_float, "timeout"), metavar="SECONDS",
        help="connect and read timeout of each request (default: 30)")
    add("--full", action="store_true", help="list the whole library now instead of only what changed")
    add("--full-every", type=_typed(_positive_float, "full every"), metavar="DAYS",
        help="list the whole library at least this often, as a safety net (default: 7)")
    add("--verify", action="store_true",
        help="re-hash every backed-up file and re-check every document against a full listing")
    add("--max-delete", type=_typed(_percent, "max delete"), metavar="PERCENT",
        help="stop, removing nothing, if a run would remove more than this share of the backup (default: 50)")
    add("--force", action="store_true", help="remove documents even beyond --max-delete")
    add("--dry-run", action="store_true", help="print what would be added, removed, updated and moved; write nothing")
    add("-q", "--quiet", action="store_true", help="print only the summary and errors")
    add("-v", "--verbose", action="count", default=0, help="say more (twice for debugging output)")
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
            raise ConfigError(f"The config file {path} does not exist") from None
        return {}
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigError(f"Cannot read the config file {path}: {error}") from error
    except configparser.Error as error:
        raise ConfigError(f"The config file {path} is not valid: {' '.join(str(error).split())}") from error
    values: dict[str, Any] = {}
    for section in parser.sections():
        for key, text in parser.items(section):
            known = CONFIG_KEYS.get((section, key))
            if known is None:
                log.warning("Ignoring unknown key %r in section [%s] of %s", key, section, path)
                continue
            name, converter = known
            try:
                values[name] = converter(text)
            except (ValueError, ConfigError) as error:
                raise ConfigError(f"The config file {path}: [{section}] {key}: {error}") from error
    return values


def load_settings(argv: Sequence[str] | None = None) -> Settings:
    """Parse the command line (usage errors exit with status 2) and merge it over the config file."""
    arguments = build_parser().parse_args(argv)
    config_path = Path(arguments.config_file).expanduser() if arguments.config_file else default_config_file()
    from_file = read_config_file(config_path, required=bool(arguments.config_file))
    given = {name: value for name, value in vars(arguments).items() if value is not None}
    environment = {name: os.environ[variable] for variable, name in ENVIRONMENT.items() if os.environ.get(variable)}
    merged = {**DEFAULTS, **from_file, **environment, **given}
    token_file = Path(merged["token_file"]).expanduser()
    if not token_file.is_absolute():
        token_file = Path(user_cache_dir(APP_NAME)) / token_file
    login = LoginSettings(
        client_id=merged["client_id"], client_secret=merged["client_secret"] or None,
        redirect_uri=merged["redirect_uri"], token_file=token_file, api_host=merged["api_host"],
        open_browser=not arguments.no_browser, login_timeout_s=merged["login_timeout"])
    verbosity = -1 if arguments.quiet else min(arguments.verbose, 2)
    backup = BackupOptions(
        jobs=merged["jobs"], dry_run=arguments.dry_run, full=arguments.full, full_every_days=merged["full_every"],
        verify=arguments.verify, max_delete_percent=merged["max_delete"], force=arguments.force,
        keep_trashed=bool(merged["keep_trashed"]), progress=verbosity >= 0 and sys.stderr.isatty())
    return Settings(
        login=login, output_dir=Path(merged["output_dir"]).expanduser().absolute(), pattern=merged["pattern"],
        pattern_given="pattern" in from_file or "pattern" in given,
        http=HttpPolicy(retries=merged["retries"], timeout_s=merged["timeout"], pool_size=max(8, merged["jobs"] * 2)),
        backup=backup, groups=merged["groups"], verbosity=verbosity)
