"""Markers for tests of behaviour that differs between the Airflow versions the provider supports."""

from __future__ import annotations

import pytest

from airflow_provider_codat.version_compat import AIRFLOW_V_3_2_PLUS, AIRFLOW_V_3_3_PLUS, AIRFLOW_VERSION

__all__ = ["AIRFLOW_V_3_2_PLUS", "AIRFLOW_V_3_3_PLUS", "before_retry_policies", "needs_retry_policies"]

needs_retry_policies = pytest.mark.skipif(
    not AIRFLOW_V_3_3_PLUS,
    reason=f"retry policies arrived in Airflow 3.3; on {AIRFLOW_VERSION} a CodatRetryLater reschedules",
)
"""Tests of :class:`CodatRetryPolicy`, the default ``retry_policy`` on Airflow 3.3+."""

before_retry_policies = pytest.mark.skipif(
    AIRFLOW_V_3_3_PLUS,
    reason=f"Airflow {AIRFLOW_VERSION} retries a CodatRetryLater through CodatRetryPolicy, not a reschedule",
)
"""Tests of the Airflow 3.1 and 3.2 path, where a :class:`CodatRetryLater` reschedules the task."""
