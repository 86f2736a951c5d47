"""Provider metadata for Airflow's ProvidersManager (entry point ``apache_airflow_provider``).

The ``codat`` connection type declares its form with ``conn-fields`` and ``ui-field-behaviour``,
which the Airflow 3 UI reads to draw the connection form.
"""

from __future__ import annotations

from typing import Any

from airflow_provider_codat import __version__

__all__ = ["get_provider_info"]

_INTEGRATION = "Codat"


def _number(
    label: str, description: str, *, minimum: float, maximum: float, integer: bool = False
) -> dict[str, Any]:
    kind = "integer" if integer else "number"
    return {
        "label": label,
        "description": description,
        "schema": {"type": [kind, "null"], "minimum": minimum, "maximum": maximum},
    }


def get_provider_info() -> dict[str, Any]:
    """Return the provider's metadata."""
    return {
        "package-name": "airflow-provider-codat",
        "name": "Codat",
        "description": "Move Codat Commerce data (orders, payments, payouts, ...) with Apache Airflow.",
        "versions": [__version__],
        "integrations": [
            {
                "integration-name": _INTEGRATION,
                "external-doc-url": "https://docs.codat.io/commerce-api/overview",
                "tags": ["service"],
            }
        ],
        "hooks": [
            {"integration-name": _INTEGRATION, "python-modules": ["airflow_provider_codat.hooks.commerce"]}
        ],
        "operators": [
            {
                "integration-name": _INTEGRATION,
                "python-modules": [
                    "airflow_provider_codat.operators.commerce",
                    "airflow_provider_codat.operators.platform",
                ],
            }
        ],
        "sensors": [
            {
                "integration-name": _INTEGRATION,
                "python-modules": [
                    "airflow_provider_codat.sensors.commerce",
                    "airflow_provider_codat.sensors.platform",
                ],
            }
        ],
        "triggers": [
            {
                "integration-name": _INTEGRATION,
                "python-modules": [
                    "airflow_provider_codat.triggers.commerce",
                    "airflow_provider_codat.triggers.platform",
                ],
            }
        ],
        "connection-types": [
            {
                "hook-class-name": "airflow_provider_codat.hooks.commerce.CodatCommerceHook",
                "hook-name": "Codat",
                "connection-type": "codat",
                "ui-field-behaviour": {
                    "hidden-fields": ["login", "schema", "port", "extra"],
                    "relabeling": {"host": "Base URL", "password": "API key"},
                    "placeholders": {
                        "host": "https://api.codat.io",
                        "password": "your API key, or the whole 'Basic ...' header from the Codat Portal",
                    },
                },
                "conn-fields": {
                    "timeout": _number(
                        "Request timeout (s)",
                        "Seconds to wait for Codat on each request (default 30).",
                        minimum=1,
                        maximum=3600,
                    ),
                    "max_attempts": _number(
                        "Max attempts",
                        "Attempts per call, the first included (default 6).",
                        minimum=1,
                        maximum=100,
                        integer=True,
                    ),
                    "initial_wait": _number(
                        "Initial retry wait (s)",
                        "First backoff wait; grows by x1.5 (default 0.5).",
                        minimum=0,
                        maximum=3600,
                    ),
                    "max_wait": _number(
                        "Max single wait (s)",
                        "Longest wait slept in the worker; a longer Retry-After (a daily quota) "
                        "fails or defers the task instead (default 60).",
                        minimum=0,
                        maximum=3600,
                    ),
                    "max_total": _number(
                        "Max total retry time (s)",
                        "Time budget of one call (default 600).",
                        minimum=1,
                        maximum=86400,
                    ),
                    "page_size": _number(
                        "Default page size",
                        "Records per page, 1 to 5000 (default 5000).",
                        minimum=1,
                        maximum=5000,
                        integer=True,
                    ),
                    "max_concurrency": _number(
                        "Max concurrent requests",
                        "Pages fetched at once, at most 10: Codat's per-company limit (default 10).",
                        minimum=1,
                        maximum=10,
                        integer=True,
                    ),
                },
            }
        ],
    }
