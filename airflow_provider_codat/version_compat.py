"""The Airflow this provider runs on, and the names that differ between the versions it supports.

Imported by every module that needs a version-dependent name, it refuses an Airflow older than
:data:`~airflow_provider_codat.MIN_AIRFLOW_VERSION` first. Everything else comes from ``airflow.sdk``
or ``airflow.providers.common.compat.sdk``, which resolve the names that moved (``conf``, the
exceptions) on each version.

====================================  ==============================  ============================
what                                  Airflow 3.1                     Airflow 3.2, 3.3
====================================  ==============================  ============================
``AirflowRescheduleException``        ``airflow.exceptions``          ``airflow.sdk.exceptions``
retry policies (``RetryPolicy``)      none: a daily-quota wait        3.3: ``common.compat.sdk``
                                      reschedules the task
====================================  ==============================  ============================
"""

from __future__ import annotations

from airflow import __version__ as AIRFLOW_VERSION

from airflow_provider_codat import check_airflow_version

__all__ = [
    "AIRFLOW_VERSION",
    "AIRFLOW_V_3_2_PLUS",
    "AIRFLOW_V_3_3_PLUS",
    "AirflowRescheduleException",
    "get_base_airflow_version_tuple",
]

check_airflow_version(AIRFLOW_VERSION)


def get_base_airflow_version_tuple() -> tuple[int, int, int]:
    """``(major, minor, micro)`` of the installed Airflow, pre-release and local tags dropped."""
    from packaging.version import Version

    version = Version(AIRFLOW_VERSION)
    return version.major, version.minor, version.micro


AIRFLOW_V_3_2_PLUS: bool = get_base_airflow_version_tuple() >= (3, 2, 0)
AIRFLOW_V_3_3_PLUS: bool = get_base_airflow_version_tuple() >= (3, 3, 0)

if AIRFLOW_V_3_2_PLUS:
    from airflow.sdk.exceptions import AirflowRescheduleException
else:
    from airflow.exceptions import AirflowRescheduleException
