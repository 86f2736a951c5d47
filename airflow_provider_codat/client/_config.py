"""Client settings, resolved once from an Airflow Connection (or built directly), and their defaults."""

from __future__ import annotations

import base64
from typing import Annotated, Any
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator

from airflow_provider_codat.arguments import MAX_IN_FLIGHT_PER_COMPANY, MAX_PAGE_SIZE

__all__ = [
    "DEFAULT_BASE_URL",
    "MAX_CONCURRENCY",
    "MAX_PAGE_SIZE",
    "ClientConfig",
    "RetryPolicy",
    "auth_header",
]

DEFAULT_BASE_URL = "https://api.codat.io"
MAX_CONCURRENCY = MAX_IN_FLIGHT_PER_COMPANY
"""Codat's limit of concurrent requests per company."""


class RetryPolicy(BaseModel):
    """Per-call retries of idempotent requests: exponential backoff with jitter, honouring Retry-After.

    The defaults are Codat's own backoff (0.5 s growing by x1.5, at most 60 s a wait) over 16
    attempts: each backoff wait is at least half its ceiling, so one call rides out at least
    150 s (at most about 310 s) of 5xx answers, dropped connections or timeouts before it fails.

    :param max_attempts: Attempts per call, the first included.
    :param initial_wait: Seconds before the first retry; later waits grow by ``multiplier``.
    :param multiplier: Growth of the wait between retries.
    :param max_wait: Longest single wait. A ``Retry-After`` beyond it is not slept: the call raises
        :class:`~airflow_provider_codat.exceptions.CodatRateLimitError` with ``retry_at`` at once.
    :param max_total: Longest total time spent on one call, waits included.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    max_attempts: Annotated[int, Field(ge=1, le=100)] = 16
    initial_wait: Annotated[float, Field(ge=0, le=3600)] = 0.5
    multiplier: Annotated[float, Field(ge=1, le=10)] = 1.5
    max_wait: Annotated[float, Field(ge=0, le=3600)] = 60.0
    max_total: Annotated[float, Field(gt=0, le=86400)] = 600.0


class ClientConfig(BaseModel):
    """Everything a Codat client needs; secrets stay in :class:`~pydantic.SecretStr`.

    :param api_key: The raw API key, or a whole ``Basic ...`` header as the Codat Portal hands out.
    :param base_url: Codat's base URL (the sandbox's, in tests); ``https://`` when it has no scheme.
    :param scheme_assumed: Whether ``https://`` was assumed for ``base_url`` (set when it has no
        scheme); a failed request then says so.
    :param timeout: Seconds to wait on connect, read and write.
    :param page_size: Default ``pageSize`` of list calls (1 to 5000).
    :param max_concurrency: Pages fetched at once (1 to 10, Codat's per-company limit).
    :param retry: The per-call retry policy.
    """

    model_config = ConfigDict(frozen=True, extra="forbid", hide_input_in_errors=True)  # the key is input

    api_key: SecretStr
    base_url: str = DEFAULT_BASE_URL
    scheme_assumed: bool = False
    timeout: Annotated[float, Field(gt=0, le=3600)] = 30.0
    page_size: Annotated[int, Field(ge=1, le=MAX_PAGE_SIZE)] = MAX_PAGE_SIZE
    max_concurrency: Annotated[int, Field(ge=1, le=MAX_CONCURRENCY)] = MAX_CONCURRENCY
    retry: RetryPolicy = RetryPolicy()

    @model_validator(mode="before")
    @classmethod
    def _assume_https(cls, data: Any) -> Any:
        url = data.get("base_url") if isinstance(data, dict) else None
        if isinstance(url, str) and "://" not in url:
            return {**data, "base_url": f"https://{url.strip()}", "scheme_assumed": True}
        return data

    @field_validator("base_url")
    @classmethod
    def _check_base_url(cls, value: str) -> str:
        value = value.strip()
        if not value.startswith(("http://", "https://")):
            raise ValueError("must be an http(s) URL")
        if " " in value or not value.isprintable():
            raise ValueError("must not contain spaces or control characters")
        url = urlsplit(value)
        if not url.hostname:
            raise ValueError("must name a host")
        try:
            _ = url.port  # reading it checks it
        except ValueError:
            raise ValueError("must have a port from 0 to 65535") from None
        return value.rstrip("/")

    @field_validator("api_key")
    @classmethod
    def _check_key(cls, value: SecretStr) -> SecretStr:
        key = value.get_secret_value().strip()
        if not key or key == "Basic":
            raise ValueError("must not be empty")
        header = auth_header(key)
        if not (header.isascii() and header.isprintable()):
            raise ValueError("a 'Basic ...' header must hold only printable ASCII characters")
        return value

    @property
    def authorization(self) -> SecretStr:
        """The ``Authorization`` header value, kept secret."""
        return SecretStr(auth_header(self.api_key.get_secret_value()))


def auth_header(api_key: str) -> str:
    """Return ``Basic base64(api_key)``, or ``api_key`` itself when it is already a Basic header."""
    key = api_key.strip()
    if key.startswith("Basic "):
        return key
    return "Basic " + base64.b64encode(key.encode("utf-8")).decode("ascii")
