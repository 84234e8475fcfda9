"""Where alerts go: a Telegram chat (Bot API sendMessage) or any JSON webhook.

The bot token and the webhook URL are secrets (EnvVar TICKERLAKE_TELEGRAM_BOT_TOKEN and
TICKERLAKE_ALERT_WEBHOOK_URL): errors name the channel, never the URL that carries them.
"""

import contextlib
import datetime as dt
import logging
from collections.abc import Iterator
from typing import Any, ClassVar, Literal

import httpx
from pydantic import Field

from resources.http import HttpSource, SourceError, join_url, post_json

DEFAULT_TELEGRAM_API_URL = "https://api.telegram.org"


class _Redact(logging.Filter):
    """Blanks a secret out of log records (httpx logs every request URL at INFO)."""

    def __init__(self, secret: str) -> None:
        super().__init__()
        self.secret = secret

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if self.secret in message:
            record.msg, record.args = message.replace(self.secret, "***"), ()
        return True


@contextlib.contextmanager
def _redacted(secret: str | None) -> Iterator[None]:
    if not secret:
        yield
        return
    log, redact = logging.getLogger("httpx"), _Redact(secret)
    log.addFilter(redact)
    try:
        yield
    finally:
        log.removeFilter(redact)


class NotifierError(SourceError):
    """An alert could not be delivered; it stays unsent and is tried again on the next evaluation."""


class Notifier(HttpSource):
    """Sends one message per alert firing."""

    source_name: ClassVar[str] = "alerts"
    channel: Literal["none", "telegram", "webhook"] = Field(
        default="none", description="none: alerts are only stored; telegram or webhook: also sent."
    )
    telegram_api_url: str = DEFAULT_TELEGRAM_API_URL
    telegram_bot_token: str | None = Field(default=None, description="Secret: pass dagster.EnvVar.")
    telegram_chat_id: str | None = None
    webhook_url: str | None = Field(default=None, description="Secret: pass dagster.EnvVar.")
    timeout_seconds: float = 10.0
    retry_attempts: int = 4
    max_retry_wait_seconds: float = 30.0

    def send(self, alert: dict[str, Any], channel: str | None = None) -> None:
        """Deliver one firing on `channel` (a rule's own; by default the configured one); raises
        NotifierError when the channel refuses, stays unreachable or is not configured."""
        channel = channel or self.channel
        secret = self.telegram_bot_token if channel == "telegram" else self.webhook_url
        with _redacted(secret), self.session() as client:
            if channel == "telegram":
                self._telegram(client, alert)
            elif channel == "webhook":
                payload = {
                    key: value.isoformat() if isinstance(value, dt.datetime) else value for key, value in alert.items()
                }
                url = self._required(self.webhook_url, "webhook_url", channel)
                self._post(client, url, payload, "alert webhook")

    def _telegram(self, client: httpx.Client, alert: dict[str, Any]) -> None:
        token = self._required(self.telegram_bot_token, "telegram_bot_token", "telegram")
        chat = self._required(self.telegram_chat_id, "telegram_chat_id", "telegram")
        payload = {"chat_id": chat, "text": alert["message"]}
        url = join_url(self.telegram_api_url, f"/bot{token}/sendMessage")
        answer = self._post(client, url, payload, "Telegram sendMessage")
        if not answer.get("ok"):
            raise NotifierError(f"Telegram sendMessage refused the alert: {answer.get('description', answer)}")

    def _post(self, client: httpx.Client, url: str, payload: dict[str, Any], what: str) -> dict:
        try:
            response = post_json(client, url, payload, what=what, policy=self.retry_policy)
        except SourceError as exc:
            raise NotifierError(str(exc)) from exc
        try:
            return response.json() if response.content else {}
        except ValueError:
            return {}

    def _required(self, value: str | None, name: str, channel: str) -> str:
        if not value:
            raise NotifierError(f"alert channel {channel!r} needs {name}; see README, 'Crypto alerts'")
        return value
