"""How a Codat error becomes an Airflow outcome: fail now, retry the task (when), skip, or defer.

==============================================  ============================================
Codat error                                     Airflow outcome
==============================================  ============================================
bad argument (:class:`CodatConfigError`)         ``AirflowFailException``: no task retries
400, 401, 402, 403, 404                          ``AirflowFailException``: no task retries (a
                                                 401 names the connection whose key to fix)
409 not synced yet                               ``on_not_synced``: ``retry`` (default) a task
                                                 retry; ``fail``; ``skip`` (``AirflowSkipException``)
429 whose ``Retry-After`` is beyond the          :class:`CodatRetryLater`: on Airflow 3.3+ a task
per-call cap (daily quota)                       retry no earlier than ``retry_at``
                                                 (:class:`CodatRetryPolicy`); on 3.1 and 3.2 the
                                                 task is rescheduled for ``retry_at``; with
                                                 ``deferrable=True`` a deferral until then
retryable errors still failing after the         ``AirflowException``: the task's own retries
per-call retries (408, 429, 5xx, transport,      apply
malformed body, data changing while paged)
==============================================  ============================================
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, Literal

from airflow.providers.common.compat.sdk import AirflowException, AirflowFailException, AirflowSkipException

from airflow_provider_codat.exceptions import (
    CodatAuthenticationError,
    CodatError,
    CodatNotSyncedError,
    CodatRateLimitError,
)
from airflow_provider_codat.version_compat import AIRFLOW_V_3_3_PLUS, AIRFLOW_VERSION

if TYPE_CHECKING:
    from airflow.sdk import Context

    from airflow_provider_codat.refresh import Verdict

if TYPE_CHECKING or AIRFLOW_V_3_3_PLUS:
    from airflow.providers.common.compat.sdk import RetryDecision, RetryPolicy

# What a CodatRetryLater is to the task runner: on Airflow 3.3+ a failure that CodatRetryPolicy times;
# before retry policies, a reschedule until ``retry_at``, which no failure can carry.
if TYPE_CHECKING:
    from airflow.providers.common.compat.sdk import AirflowException as _RetryLaterBase
elif AIRFLOW_V_3_3_PLUS:
    _RetryLaterBase = AirflowException
else:
    from airflow_provider_codat.version_compat import AirflowRescheduleException as _RetryLaterBase

__all__ = [
    "NOT_SYNCED_ACTIONS",
    "CodatRetryLater",
    "CodatRetryPolicy",
    "NotSyncedAction",
    "check_not_synced_action",
    "raise_for_verdict",
    "set_default_retry_policy",
    "to_airflow",
]

NotSyncedAction = Literal["retry", "fail", "skip"]
NOT_SYNCED_ACTIONS: tuple[NotSyncedAction, ...] = ("retry", "fail", "skip")


class CodatRetryLater(_RetryLaterBase):
    """Codat said to come back at :attr:`retry_at`; the task waits for it without a worker slot.

    On Airflow 3.3+ this is a task failure that :class:`CodatRetryPolicy` retries at ``retry_at``.
    Airflow 3.1 and 3.2 have no retry policies, and their scheduler times a retry by the task's
    ``retry_delay`` alone, so there it is also an ``AirflowRescheduleException``: the task is
    rescheduled for ``retry_at`` (``up_for_reschedule``), without using up a retry.
    """

    def __init__(self, message: str, retry_at: datetime) -> None:
        Exception.__init__(self, message)
        self.retry_at = retry_at
        self.reschedule_date = retry_at  # what Airflow 3.1 and 3.2 reschedule the task for

    def serialize(self) -> tuple[str, tuple[Any, ...], dict[str, Any]]:
        """The classpath and the arguments that rebuild this exception."""
        cls = type(self)
        return f"{cls.__module__}.{cls.__name__}", (str(self), self.retry_at), {}

    def __reduce__(self) -> tuple[type[CodatRetryLater], tuple[str, datetime]]:
        return type(self), (str(self), self.retry_at)


if TYPE_CHECKING or AIRFLOW_V_3_3_PLUS:

    class CodatRetryPolicy(RetryPolicy):
        """Retry a :class:`CodatRetryLater` no earlier than its ``retry_at``; else the task's own rules.

        The default ``retry_policy`` of the provider's operators and sensors on Airflow 3.3+.
        """

        def evaluate(
            self, exception: BaseException, try_number: int, max_tries: int, context: Context | None = None
        ) -> RetryDecision:
            """Decide the retry of a failed try."""
            if isinstance(exception, CodatRetryLater):
                delay = max(timedelta(seconds=1), exception.retry_at - datetime.now(UTC))
                return RetryDecision.retry(
                    delay=delay, reason=f"Codat asked to retry at {exception.retry_at:%Y-%m-%dT%H:%M:%SZ}"
                )
            return RetryDecision.default()

        def serialize(self) -> dict[str, Any]:
            """This policy has no settings."""
            return {}

        @classmethod
        def deserialize(cls, data: dict[str, Any]) -> CodatRetryPolicy:
            """Rebuild the policy."""
            return cls()

else:

    class CodatRetryPolicy:
        """Airflow before 3.3 has no retry policies: a :class:`CodatRetryLater` reschedules the task."""

        def __init__(self) -> None:
            raise RuntimeError(
                f"CodatRetryPolicy needs Airflow 3.3+ (retry policies); this is Airflow {AIRFLOW_VERSION}, "
                "where a CodatRetryLater reschedules the task for its retry_at without one"
            )


def set_default_retry_policy(kwargs: dict[str, Any]) -> None:
    """Give an operator's ``kwargs`` :class:`CodatRetryPolicy` as ``retry_policy``, unless one is set.

    Only on Airflow 3.3+: older operators take no ``retry_policy``, and need none.
    """
    if AIRFLOW_V_3_3_PLUS:
        kwargs.setdefault("retry_policy", CodatRetryPolicy())


def check_not_synced_action(value: str) -> NotSyncedAction:
    """Return ``value`` if it is a valid ``on_not_synced``.

    :raises ValueError: Naming the parameter and the valid values.
    """
    if value not in NOT_SYNCED_ACTIONS:
        raise ValueError(f"on_not_synced: expected one of {', '.join(NOT_SYNCED_ACTIONS)}, got {value!r}")
    return value


def raise_for_verdict(verdict: Verdict) -> list[str]:
    """Raise what a refresh verdict calls for; for ``ok``, return the data types Codat does not support.

    :raises AirflowFailException: On ``fail``: retrying cannot help.
    :raises AirflowException: On ``retry``: the task's own retries apply.
    :raises AirflowSkipException: On ``skip``: no data type is supported.
    """
    if verdict.kind == "fail":
        raise AirflowFailException(verdict.message)
    if verdict.kind == "retry":
        raise AirflowException(verdict.message)
    if verdict.kind == "skip":
        raise AirflowSkipException(verdict.message)
    return verdict.unsupported


def to_airflow(
    error: CodatError,
    *,
    on_not_synced: NotSyncedAction = "retry",
    max_wait: float = 60.0,
    conn_id: str | None = None,
) -> Exception:
    """Return the Airflow exception that makes the task do the right thing about ``error``.

    :param error: What the hook raised.
    :param on_not_synced: What a 409 means for this task.
    :param max_wait: A ``retry_at`` further away than this many seconds becomes :class:`CodatRetryLater`.
    :param conn_id: The task's ``codat`` connection, named in a 401's message as the one to fix.
    """
    message = f"{type(error).__name__}: {error}"
    if isinstance(error, CodatAuthenticationError) and conn_id is not None:
        message += f"; check the API key of the Airflow connection {conn_id!r}"
    if isinstance(error, CodatNotSyncedError):
        if on_not_synced == "skip":
            return AirflowSkipException(f"{message} (on_not_synced='skip')")
        if on_not_synced == "fail":
            return AirflowFailException(f"{message} (on_not_synced='fail')")
        return AirflowException(f"{message}; retrying once Codat has synced it (on_not_synced='retry')")
    if (
        isinstance(error, CodatRateLimitError)
        and error.retry_at is not None
        and (error.retry_at - datetime.now(UTC)).total_seconds() > max_wait
    ):
        retry_at = error.retry_at
        return CodatRetryLater(f"{message}; Codat asks to retry at {retry_at:%Y-%m-%dT%H:%M:%SZ}", retry_at)
    if not error.retryable:
        return AirflowFailException(message)
    return AirflowException(message)
