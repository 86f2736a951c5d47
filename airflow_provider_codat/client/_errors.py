"""Turning an error response into the typed exception that says what it means."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime

import httpx

from airflow_provider_codat.exceptions import (
    CodatApiError,
    CodatAuthenticationError,
    CodatBadRequestError,
    CodatDatasetInProgressError,
    CodatForbiddenError,
    CodatNotFoundError,
    CodatNotSyncedError,
    CodatPaymentRequiredError,
    CodatRateLimitError,
    CodatRequestTimeoutError,
    CodatServerError,
)

__all__ = ["error_for", "parse_retry_after"]

_BY_STATUS: dict[int, type[CodatApiError]] = {
    400: CodatBadRequestError,
    401: CodatAuthenticationError,
    402: CodatPaymentRequiredError,
    403: CodatForbiddenError,
    404: CodatNotFoundError,
    408: CodatRequestTimeoutError,
    409: CodatNotSyncedError,
    429: CodatRateLimitError,
}
_MAX_ERROR_TEXT = 500
_IN_PROGRESS = "DatasetAlreadyInProgressException"


def parse_retry_after(value: str | None, now: datetime) -> datetime | None:
    """Return the moment a ``Retry-After`` header (seconds or HTTP date) points at, or None."""
    if not value:
        return None
    value = value.strip()
    try:
        return now + timedelta(seconds=max(0.0, float(value)))
    except ValueError:
        pass
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def error_for(response: httpx.Response, now: datetime | None = None) -> CodatApiError:
    """Build the typed error for an error ``response``; the message names method and path only."""
    status = response.status_code
    text, correlation_id = _error_text(response)
    cls = _BY_STATUS.get(status) or (CodatServerError if status >= 500 else CodatApiError)
    if cls is CodatBadRequestError and text.startswith(_IN_PROGRESS):
        cls = CodatDatasetInProgressError
    retry_at = parse_retry_after(response.headers.get("Retry-After"), now or datetime.now(UTC))
    return cls(
        status,
        text,
        correlation_id=correlation_id,
        method=response.request.method,
        path=response.request.url.path,
        retry_at=retry_at,
    )


def _error_text(response: httpx.Response) -> tuple[str, str | None]:
    try:
        body = json.loads(response.content)
    except (ValueError, UnicodeDecodeError):
        body = None
    if isinstance(body, dict) and isinstance(body.get("error"), str):
        cid = body.get("correlationId")
        return body["error"][:_MAX_ERROR_TEXT], cid if isinstance(cid, str) else None
    return (response.reason_phrase or "error")[:_MAX_ERROR_TEXT], None
