"""Timestamps as the Mendeley API writes them (ISO-8601 UTC, milliseconds, `Z`) and as HTTP dates."""

from datetime import datetime, timezone
from email.utils import parsedate_to_datetime

UTC = timezone.utc  # datetime.UTC arrived in Python 3.11


def parse_time(text: str | None) -> datetime | None:
    """An aware UTC datetime from ISO-8601 text; text without a zone (the original tool wrote such
    `last_backup_time` values from its UTC clock) is taken as UTC. Unreadable text gives None."""
    if not text or not isinstance(text, str):
        return None
    try:
        moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def format_time(moment: datetime) -> str:
    """`2024-05-01T12:00:00.000Z`, the form the API itself uses."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def parse_http_date(text: str | None) -> datetime | None:
    """The moment an HTTP `Date` header names, or None if there is none or it is unreadable."""
    if not text:
        return None
    try:
        return parsedate_to_datetime(text).astimezone(UTC)
    except (TypeError, ValueError):
        return None


def same_time(left: str | None, right: str | None) -> bool:
    """Whether two ISO-8601 texts name the same moment, whatever their spelling."""
    return left == right or (parse_time(left) or left) == (parse_time(right) or right)
