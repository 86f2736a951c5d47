"""Typed errors of the Codat provider.

::

    CodatError
    ├── CodatConfigError (also ValueError)    bad input or settings; names the parameter
    │   └── CodatConnectionError              a codat connection that cannot be used
    ├── CodatTransportError                   no usable response: connect/read failure, dropped body
    │   └── CodatDecodeError                  a 2xx whose body is not the JSON Codat promises
    ├── CodatDataChangedError                 the result set kept changing while it was paged
    └── CodatApiError                         Codat answered with an error status
        ├── CodatBadRequestError         400  malformed query or parameters
        │   └── CodatDatasetInProgressError   a refresh of that data type is already running
        ├── CodatAuthenticationError     401
        ├── CodatPaymentRequiredError    402  account limit
        ├── CodatForbiddenError          403
        ├── CodatNotFoundError           404  unknown company, connection or record
        ├── CodatRequestTimeoutError     408
        ├── CodatNotSyncedError          409  data type not synced yet
        ├── CodatRateLimitError          429  carries ``retry_at``
        └── CodatServerError             5xx

Whether an error is worth retrying is the class attribute :attr:`CodatError.retryable`: the
per-call retry policy reads only that, and nothing parses exception text. Messages carry the
status, Codat's error text, the correlation id and the request's method and path (for a failed
exchange, the base URL tried); never a secret and never a query string (queries can hold customer
data).
"""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar

__all__ = [
    "CodatApiError",
    "CodatAuthenticationError",
    "CodatBadRequestError",
    "CodatConfigError",
    "CodatConnectionError",
    "CodatDataChangedError",
    "CodatDatasetInProgressError",
    "CodatDecodeError",
    "CodatError",
    "CodatForbiddenError",
    "CodatNotFoundError",
    "CodatNotSyncedError",
    "CodatPaymentRequiredError",
    "CodatRateLimitError",
    "CodatRequestTimeoutError",
    "CodatServerError",
    "CodatTransportError",
]


class CodatError(Exception):
    """Base class of every error the provider raises."""

    retryable: ClassVar[bool] = False


class CodatConfigError(CodatError, ValueError):
    """Bad input or settings, found before any request was sent."""


class CodatConnectionError(CodatConfigError):
    """A ``codat`` connection that cannot be used; names the connection and the field, never the key.

    :param conn_id: The Airflow connection's id.
    :param problem: What is wrong, starting with the field's name.
    """

    def __init__(self, conn_id: str, problem: str) -> None:
        super().__init__(f"codat connection {conn_id!r}: {problem}")
        self.conn_id = conn_id
        self.problem = problem


class CodatTransportError(CodatError):
    """The request got no usable response (connection, timeout or protocol failure)."""

    retryable = True

    def __init__(self, message: str, *, method: str = "", path: str = "") -> None:
        super().__init__(f"{message} ({method} {path})" if method else message)
        self.method = method
        self.path = path


class CodatDecodeError(CodatTransportError):
    """A successful status whose body is not the JSON Codat promises."""


class CodatDataChangedError(CodatError):
    """The result set kept changing (``totalResults`` moved) while it was being paged."""

    retryable = True


class CodatApiError(CodatError):
    """Codat answered with an error status.

    :param status: The HTTP status code.
    :param error: Codat's error text from the ErrorMessage body.
    :param correlation_id: Codat's correlationId, for support requests.
    :param method: The request method.
    :param path: The request path, without query string.
    :param retry_at: When Codat said to retry (from ``Retry-After``), if it did.
    """

    def __init__(
        self,
        status: int,
        error: str,
        *,
        correlation_id: str | None = None,
        method: str = "",
        path: str = "",
        retry_at: datetime | None = None,
    ) -> None:
        self.status = status
        self.error = error
        self.correlation_id = correlation_id
        self.method = method
        self.path = path
        self.retry_at = retry_at
        where = f" on {method} {path}" if method else ""
        cid = f" (correlationId {correlation_id})" if correlation_id else ""
        super().__init__(f"Codat answered {status}{where}: {error}{cid}")


class CodatBadRequestError(CodatApiError):
    """400: the request or its query was malformed."""


class CodatDatasetInProgressError(CodatBadRequestError):
    """400: a refresh of this data type is already running (DatasetAlreadyInProgressException)."""


class CodatAuthenticationError(CodatApiError):
    """401: the API key is missing or wrong."""


class CodatPaymentRequiredError(CodatApiError):
    """402: an account limit was reached."""


class CodatForbiddenError(CodatApiError):
    """403: the key may not access this resource."""


class CodatNotFoundError(CodatApiError):
    """404: unknown company, connection or record, or no data."""


class CodatRequestTimeoutError(CodatApiError):
    """408: Codat timed out waiting for the request."""

    retryable = True


class CodatNotSyncedError(CodatApiError):
    """409: the data type has not been synced yet (or is still syncing)."""


class CodatRateLimitError(CodatApiError):
    """429: a rate limit or the daily quota was hit; :attr:`retry_at` says when to come back."""

    retryable = True


class CodatServerError(CodatApiError):
    """5xx: Codat failed or is unavailable."""

    retryable = True
