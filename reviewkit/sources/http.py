"""Provides the retry, backoff and rate-limit helpers shared by the PubMed and ClinicalTrials.gov clients."""

from __future__ import annotations

import email.utils
import http.client
import random
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TypeVar
from urllib.error import HTTPError
from urllib.request import Request

from reviewkit.errors import NetworkError

__all__ = [
    "ProgressCallback",
    "RateLimiter",
    "RetryPolicy",
    "TimedRequest",
    "TransientError",
    "error_excerpt",
    "parse_retry_after",
    "redact",
    "with_retries",
]

T = TypeVar("T")

#: Called as progress(done, total) after each stored unit of work; total may be None if unknown.
ProgressCallback = Callable[[int, "int | None"], None]


class TransientError(Exception):
    """A failure worth retrying (429, 5xx, dropped connection, truncated or error body).

    `retry_after` is the server's requested pause in seconds (Retry-After), when it sent one.
    """

    def __init__(self, message: str, *, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.retry_after = retry_after


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how patiently to retry a transient failure.

    Delays grow as base_delay * 2**attempt with full jitter, capped at max_delay; a server's
    Retry-After wins over the computed delay (capped at max_retry_after so a hostile header
    cannot park a worker for hours). `sleep` is injectable so tests never wait.
    """

    max_attempts: int = 5
    base_delay: float = 1.0
    max_delay: float = 60.0
    max_retry_after: float = 300.0
    sleep: Callable[[float], None] = time.sleep
    jitter: Callable[[], float] = field(default=random.random)

    def delay(self, attempt: int, retry_after: float | None) -> float:
        """Seconds to wait before retry number `attempt` (0-based)."""
        if retry_after is not None:
            return min(max(retry_after, 0.0), self.max_retry_after)
        ceiling = min(self.max_delay, self.base_delay * (2.0**attempt))
        # Half fixed, half random: spreads clients apart without ever retrying at once.
        return ceiling / 2 + (ceiling / 2) * self.jitter()


def with_retries(
    call: Callable[[], T],
    policy: RetryPolicy,
    *,
    what: str,
    on_retry: Callable[[int, TransientError, float], None] | None = None,
    tell: Callable[[str], None] | None = None,
) -> T:
    """Run call(), retrying TransientError per policy; raise NetworkError naming `what` when spent.

    Anything that is not a TransientError (a 400, a bug) propagates at once. `tell` hears each retry
    in words before its wait: a Retry-After can park a search for minutes, which a user must not
    mistake for a hang.
    """
    last: TransientError | None = None
    for attempt in range(max(policy.max_attempts, 1)):
        try:
            return call()
        except TransientError as exc:
            last = exc
            if attempt + 1 >= policy.max_attempts:
                break
            wait = policy.delay(attempt, exc.retry_after)
            if on_retry is not None:
                on_retry(attempt + 1, exc, wait)
            if tell is not None:
                tell(f"{what}: {exc.message.removeprefix(f'{what}: ')}; attempt {attempt + 1} of "
                     f"{policy.max_attempts} failed, trying again in "
                     + (f"{wait:.0f} s" if wait >= 1 else "under a second"))
            policy.sleep(wait)
    assert last is not None
    # The failure usually names `what` itself already: said once.
    detail = last.message.removeprefix(f"{what}: ")
    raise NetworkError(
        f"{what} failed after {policy.max_attempts} attempts: {detail}",
        hint="check the connection and try again later",
    ) from last


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """Seconds from a Retry-After header (delta-seconds or an HTTP date); None if absent or bad."""
    if not value:
        return None
    text = value.strip()
    try:
        return max(float(text), 0.0)
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    current = now or datetime.now(UTC)
    return max((when - current).total_seconds(), 0.0)


class RateLimiter:
    """Spaces calls at least `min_interval` seconds apart, across threads of one process."""

    def __init__(
        self,
        min_interval: float,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.min_interval = min_interval
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._next_allowed: float | None = None

    def wait(self) -> None:
        """Block until the next call is allowed, then reserve the slot after it."""
        with self._lock:
            now = self._clock()
            if self._next_allowed is not None and now < self._next_allowed:
                self._sleep(self._next_allowed - now)
                now = self._next_allowed
            self._next_allowed = now + self.min_interval


class TimedRequest(Request):
    """A urllib Request that keeps its own timeout.

    urlopen() overwrites `request.timeout` with the global default (none), and Bio.Entrez
    offers no way to pass one, so without this a stalled connection hangs a worker forever.
    """

    def __init__(self, built: Request, timeout: float) -> None:
        super().__init__(built.full_url, data=built.data, method=built.get_method())
        self._fixed_timeout = timeout

    @property
    def timeout(self) -> float:
        return self._fixed_timeout

    @timeout.setter
    def timeout(self, value: object) -> None:
        pass  # urlopen's default would mean "wait forever"


def error_excerpt(exc: HTTPError, secret: str | None = None) -> str:
    """": " + the start of an HTTP error body (a JSON rate-limit message, an HTML title), or "".

    `secret` (an API key) is blanked out of it: see `redact`.
    """
    try:
        text = exc.read(500).decode("utf-8", "replace")
    except (OSError, http.client.HTTPException, AttributeError):
        return ""
    text = redact(re.sub(r"\s+", " ", text).strip(), secret)
    return f": {text[:200]}" if text else ""


_KEY_FIELD_RE = re.compile(r'("api[-_]key"\s*:\s*")[^"]*(")', re.IGNORECASE)


def redact(text: str, secret: str | None = None) -> str:
    """`text` without an API key: error messages are printed, and stored with a failed run.

    NCBI's rate-limit answer echoes the caller's key (or IP) in its "api-key" field, and an
    error page may quote the request URL, key and all.
    """
    text = _KEY_FIELD_RE.sub(r"\1[redacted]\2", text)
    return text.replace(secret, "[api key]") if secret else text
