"""The HTTP client every source inherits: timeout, retries, user agent, URL joining, JSON parse-or-fail.

Public market-data hosts rate-limit (429) and flap (5xx, resets, slow bodies); a daily run must ride
those out without hammering the host, and must fail with a message that names what it was fetching
when they do not clear. 404 is never retried: on a trading day it means the file is missing.
"""

import email.utils
import functools
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import ClassVar, TypeVar

import dagster as dg
import httpx
from pydantic import Field
from tenacity import (
    RetryCallState,
    Retrying,
    retry_if_exception,
    stop_after_attempt,
    wait_exponential_jitter,
)

RETRYABLE_STATUS = frozenset({429, 500, 502, 503, 504})
MISSING = frozenset({404})
T = TypeVar("T")


class SourceError(RuntimeError):
    """A source could not deliver a usable file; the message names source, partition and cause."""


def names_its_errors(
    error: type[SourceError], describe: Callable[..., str]
) -> Callable[[Callable[..., T]], Callable[..., T]]:
    """A parser of untrusted bytes fails with `error`, naming the source and the file, symbol or day
    (`describe` of the parser's arguments), whatever raised inside it: a KeyError on a missing field, a
    division by a zero denominator, a codec's own exception. Never an unnamed exception."""

    def wrap(parse: Callable[..., T]) -> Callable[..., T]:
        @functools.wraps(parse)
        def parse_or_name(*args: object, **kwargs: object) -> T:
            try:
                return parse(*args, **kwargs)
            except SourceError:
                raise
            except Exception as exc:
                raise error(
                    f"{describe(*args, **kwargs)}: not the source's format ({type(exc).__name__}: {str(exc)[:300]})"
                ) from exc

        return parse_or_name

    return wrap


class SourceFileMissing(SourceError):
    """The source answered 404 for a file that should exist."""


class SourceBanned(SourceError):
    """The host banned this client (HTTP 418) for `retry_after` seconds: stop, do not retry."""

    def __init__(self, message: str, retry_after: float | None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class RetryableStatus(Exception):
    """A status worth retrying, carrying the server's Retry-After in seconds when it sent one."""

    def __init__(self, status_code: int, retry_after: float | None) -> None:
        super().__init__(f"HTTP {status_code}")
        self.status_code = status_code
        self.retry_after = retry_after


@dataclass(frozen=True)
class RetryPolicy:
    """How hard to try: attempts in all, backoff bounds, and the longest Retry-After we accept."""

    attempts: int = 5
    initial_wait: float = 0.5
    max_wait: float = 30.0


def parse_retry_after(value: str | None) -> float | None:
    """Retry-After is either delta-seconds or an HTTP date (RFC 9110 10.2.3)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def _is_retryable(exc: BaseException) -> bool:
    return isinstance(exc, RetryableStatus | httpx.TransportError)


class _WaitHonoringRetryAfter:
    """Exponential backoff with jitter, unless the server said how long to wait."""

    def __init__(self, policy: RetryPolicy) -> None:
        self._policy = policy
        self._backoff = wait_exponential_jitter(multiplier=policy.initial_wait, max=policy.max_wait)

    def __call__(self, state: RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        if isinstance(exc, RetryableStatus) and exc.retry_after is not None:
            return min(exc.retry_after, self._policy.max_wait)
        return self._backoff(state)


def get_bytes(client: httpx.Client, url: str, *, what: str, policy: RetryPolicy) -> bytes:
    """GET url and return its body, retrying transient failures; `what` names the file in errors."""
    return get(client, url, what=what, policy=policy).content


def get(
    client: httpx.Client,
    url: str,
    *,
    what: str,
    policy: RetryPolicy,
    params: dict[str, str | int] | None = None,
    missing: frozenset[int] = MISSING,
) -> httpx.Response:
    """GET url (with query `params`) and return the 200 response, retrying transient failures. A status in
    `missing` means the file does not exist (some CDNs answer 403, not 404): never retried."""
    shown = str(httpx.URL(url, params=params)) if params else url
    return _with_retries(lambda: client.get(url, params=params), what=what, shown=shown, policy=policy, missing=missing)


def exists(
    client: httpx.Client, url: str, *, what: str, policy: RetryPolicy, missing: frozenset[int] = MISSING
) -> bool:
    """Whether the host has `url` (HEAD: the body is not sent), retrying transient failures like `get`."""
    try:
        _with_retries(lambda: client.head(url), what=what, shown=url, policy=policy, missing=missing)
    except SourceFileMissing:
        return False
    return True


def post_json(client: httpx.Client, url: str, payload: object, *, what: str, policy: RetryPolicy) -> httpx.Response:
    """POST a JSON body, retrying transient failures. Errors name `what`, never the URL, which may
    carry a secret (Telegram puts the bot token in the path)."""
    return _with_retries(lambda: client.post(url, json=payload), what=what, shown="(URL withheld)", policy=policy)


def _with_retries(
    send: Callable[[], httpx.Response], *, what: str, shown: str, policy: RetryPolicy, missing: frozenset[int] = MISSING
) -> httpx.Response:
    def attempt() -> httpx.Response:
        response = send()
        if response.status_code in RETRYABLE_STATUS:
            raise RetryableStatus(response.status_code, parse_retry_after(response.headers.get("Retry-After")))
        if response.status_code in missing:
            raise SourceFileMissing(f"{what}: file is missing (HTTP {response.status_code} at {shown})")
        if response.status_code == 418:
            retry_after = parse_retry_after(response.headers.get("Retry-After"))
            raise SourceBanned(
                f"{what}: the host banned this client (HTTP 418) for {retry_after or 'unknown'} s at {shown}; "
                "stopped without retrying",
                retry_after,
            )
        if response.status_code != 200:
            raise SourceError(f"{what}: unexpected HTTP {response.status_code} at {shown}")
        return response

    retrying = Retrying(
        stop=stop_after_attempt(policy.attempts),
        wait=_WaitHonoringRetryAfter(policy),
        retry=retry_if_exception(_is_retryable),
        reraise=True,
    )
    try:
        return retrying(attempt)
    except RetryableStatus as exc:
        raise SourceError(f"{what}: gave up after {policy.attempts} attempts, last answer {exc} at {shown}") from exc
    except httpx.TransportError as exc:
        raise SourceError(
            f"{what}: gave up after {policy.attempts} attempts, last error {type(exc).__name__}: {exc} at {shown}"
        ) from exc


def join_url(base: str, path: str) -> str:
    """`path` (starting with /) under `base`, whether or not `base` ends with a slash."""
    return f"{base.rstrip('/')}{path}"


def parse_json(body: bytes, what: str, error: type[SourceError] = SourceError) -> object:
    """A JSON document, or `error` naming `what` and how the body starts (an HTML block page, say)."""
    try:
        return json.loads(body)
    except ValueError as exc:
        raise error(f"{what}: not JSON (starts {body[:60]!r})") from exc


class HttpSource(dg.ConfigurableResource):
    """How every source is reached: one place for timeouts, retries and who we say we are.

    A client subclasses this and adds its hosts (fields ending in `_url`, defaulting to the real
    host) and its own knobs; `session()` and `fetch()` are all it needs to talk to them.
    """

    timeout_seconds: float = Field(default=30.0, description="Seconds to wait for a connection or a body.")
    retry_attempts: int = Field(default=5, description="Tries of one request before the run fails it.")
    max_retry_wait_seconds: float = Field(default=60.0, description="Longest wait between tries.")
    user_agent: str = Field(default="tickerlake", description="Sent as User-Agent.")

    source_name: ClassVar[str] = "source"  # how errors name the source
    missing_statuses: ClassVar[frozenset[int]] = MISSING  # what the host answers for a file it does not have

    @property
    def retry_policy(self) -> RetryPolicy:
        return RetryPolicy(attempts=self.retry_attempts, max_wait=self.max_retry_wait_seconds)

    def session(self, headers: dict[str, str] | None = None) -> httpx.Client:
        """One connection pool for a run's requests, carrying the user agent and any `headers`."""
        return httpx.Client(timeout=self.timeout_seconds, headers={"User-Agent": self.user_agent, **(headers or {})})

    def fetch(
        self, client: httpx.Client, url: str, what: str, params: dict[str, str | int] | None = None
    ) -> httpx.Response:
        """GET with this source's retry policy; `what` names the file or call in errors."""
        return get(client, url, what=what, policy=self.retry_policy, params=params, missing=self.missing_statuses)
