"""A spent daily quota as an Airflow outcome, on each Airflow the provider supports.

Airflow 3.3+ retries the task at Codat's ``retry_at`` through :class:`CodatRetryPolicy`; 3.1 and 3.2
have no retry policies, so there :class:`CodatRetryLater` reschedules the task for ``retry_at``.
``tests/operators/test_quota_wait.py`` runs both for real with ``dag.test()``.
"""

from __future__ import annotations

import pickle
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from airflow.providers.common.compat.sdk import AirflowException, AirflowFailException
from airflow.sdk import BaseOperator

from airflow_provider_codat.airflow_errors import (
    CodatRetryLater,
    CodatRetryPolicy,
    set_default_retry_policy,
    to_airflow,
)
from airflow_provider_codat.exceptions import (
    CodatAuthenticationError,
    CodatForbiddenError,
    CodatRateLimitError,
)
from airflow_provider_codat.version_compat import AirflowRescheduleException
from tests.airflow_versions import before_retry_policies, needs_retry_policies


def spent_quota(hours: float = 5) -> CodatRetryLater:
    """What ``to_airflow`` makes of a 429 whose ``Retry-After`` is ``hours`` away."""
    retry_at = datetime.now(UTC).replace(microsecond=0) + timedelta(hours=hours)
    error = CodatRateLimitError(429, "daily quota", method="GET", path="/companies", retry_at=retry_at)
    mapped = to_airflow(error, max_wait=60)
    assert isinstance(mapped, CodatRetryLater)
    return mapped


def test_a_quota_wait_carries_retry_at_and_a_message() -> None:
    later = spent_quota()
    assert isinstance(later, AirflowException) and "CodatRateLimitError" in str(later)
    assert later.retry_at > datetime.now(UTC) + timedelta(hours=4)
    classpath, args, kwargs = later.serialize()
    assert classpath == "airflow_provider_codat.airflow_errors.CodatRetryLater"
    assert (args, kwargs) == ((str(later), later.retry_at), {})
    copy = pickle.loads(pickle.dumps(later))
    assert (str(copy), copy.retry_at) == (str(later), later.retry_at)


def test_a_short_wait_is_an_ordinary_retryable_failure() -> None:
    soon = CodatRateLimitError(429, "slow down", retry_at=datetime.now(UTC) + timedelta(seconds=30))
    assert type(to_airflow(soon, max_wait=60)) is AirflowException


def test_only_a_401_names_the_connection_to_fix() -> None:
    unauthorized = CodatAuthenticationError(401, "Unauthorized", method="GET", path="/companies")
    mapped = to_airflow(unauthorized, conn_id="codat_prod")
    assert type(mapped) is AirflowFailException
    assert str(mapped) == (
        "CodatAuthenticationError: Codat answered 401 on GET /companies: Unauthorized; "
        "check the API key of the Airflow connection 'codat_prod'"
    )
    assert str(to_airflow(unauthorized)).endswith(": Unauthorized")  # no connection known: none named
    forbidden = CodatForbiddenError(403, "Forbidden", method="GET", path="/companies")
    assert "codat_prod" not in str(to_airflow(forbidden, conn_id="codat_prod"))


@needs_retry_policies
def test_with_retry_policies_a_quota_wait_is_a_task_retry_at_retry_at() -> None:
    later = spent_quota(hours=2)
    assert not isinstance(later, AirflowRescheduleException)  # that would bypass the retry policy
    decision = CodatRetryPolicy().evaluate(later, try_number=1, max_tries=3)
    assert decision.retry_delay is not None
    assert abs(datetime.now(UTC) + decision.retry_delay - later.retry_at) < timedelta(seconds=5)
    assert "Codat asked to retry at" in str(decision.reason)
    other = CodatRetryPolicy().evaluate(AirflowException("boom"), try_number=1, max_tries=3)
    assert other.retry_delay is None
    kwargs: dict[str, Any] = {}
    set_default_retry_policy(kwargs)
    assert isinstance(kwargs["retry_policy"], CodatRetryPolicy)
    assert isinstance(BaseOperator(task_id="t", **kwargs).retry_policy, CodatRetryPolicy)


@before_retry_policies
def test_without_retry_policies_a_quota_wait_reschedules_the_task_until_retry_at() -> None:
    later = spent_quota(hours=2)
    assert isinstance(later, AirflowRescheduleException)
    assert later.reschedule_date == later.retry_at
    kwargs: dict[str, Any] = {}
    set_default_retry_policy(kwargs)
    assert kwargs == {}  # operators of this Airflow take no retry_policy
    BaseOperator(task_id="t", **kwargs)
    with pytest.raises(RuntimeError, match=r"CodatRetryPolicy needs Airflow 3\.3\+"):
        CodatRetryPolicy()
