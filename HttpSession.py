"""The one HTTP session every request of a run goes through: pooled keep-alive connections, a connect and
read timeout on every request, and retries with exponential backoff and jitter that honour `Retry-After`.
"""

from dataclasses import dataclass

import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

USER_AGENT = "mendeley-backup"

# Transient answers worth another try: rate limiting and server-side trouble.
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})


@dataclass(frozen=True)
class HttpPolicy:
    """How patient a run is with the network."""

    retries: int = 5
    timeout_s: float = 30.0
    backoff_s: float = 0.5
    backoff_max_s: float = 30.0
    pool_size: int = 8


class CappedRetry(Retry):
    """A `Retry` whose wait for `Retry-After` never exceeds the backoff cap, so a run stays bounded."""

    def parse_retry_after(self, retry_after: str) -> float:
        return min(super().parse_retry_after(retry_after), self.backoff_max)


class TimeoutAdapter(HTTPAdapter):
    """An adapter that applies the policy's timeout to every request that does not set its own."""

    def __init__(self, timeout_s: float, **kwargs) -> None:
        self._timeout_s = timeout_s
        super().__init__(**kwargs)

    def send(self, request, **kwargs):  # type: ignore[override]
        if kwargs.get("timeout") is None:
            kwargs["timeout"] = self._timeout_s
        return super().send(request, **kwargs)


def make_retry(policy: HttpPolicy) -> Retry:
    """Retry connection errors, read errors and transient statuses, for every method.

    POSTs are retried too: the only ones the tool sends are token requests, which fail cleanly
    (`invalid_grant`) rather than do harm when a lost answer makes them run twice.
    """
    return CappedRetry(
        total=policy.retries,
        connect=policy.retries,
        read=policy.retries,
        status=policy.retries,
        other=policy.retries,
        allowed_methods=None,
        status_forcelist=RETRY_STATUSES,
        backoff_factor=policy.backoff_s,
        backoff_max=policy.backoff_max_s,
        backoff_jitter=policy.backoff_s,
        respect_retry_after_header=True,
        raise_on_status=False,
        raise_on_redirect=False,
    )


def make_session(policy: HttpPolicy) -> requests.Session:
    """A session with the policy's retries and timeouts mounted for http and https."""
    session = requests.Session()
    adapter = TimeoutAdapter(
        policy.timeout_s,
        max_retries=make_retry(policy),
        pool_connections=policy.pool_size,
        pool_maxsize=policy.pool_size,
    )
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    session.headers["User-Agent"] = USER_AGENT
    return session
