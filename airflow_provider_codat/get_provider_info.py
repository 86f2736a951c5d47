"""Provider metadata for Airflow's ProvidersManager (entry point ``apache_airflow_provider``).

The ``codat`` connection type declares its form with ``conn-fields`` and ``ui-field-behaviour``,
which the Airflow 3 UI reads to draw the connection form.
"""

from __future__ import annotations

from typing import Any

from airflow_provider_codat import __version__

__all__ = ["get_provider_info"]

_INTEGRATION = "Codat"
_FIELDS = {
    "timeout": ("Request timeout (s)", "Seconds to wait for Codat on each request"),
    "max_attempts": ("Max attempts", "Attempts per call, the first included"),
    "initial_wait": ("Initial retry wait (s)", "First backoff wait, growing by x1.5"),
    "max_wait": (
        "Max single wait (s)",
        "Longest wait slept in the worker (a longer Retry-After, a daily quota, fails or defers the task)",
    ),
    "max_total": ("Max total retry time (s)", "Time budget of one call, retries included"),
    "page_size": ("Default page size", "Records per page"),
    "max_concurrency": ("Max concurrent requests", "Pages fetched at once; Codat allows 10 per company"),
}
"""The connection's extras as the form shows them: label and description; the rest is the config's."""


def _number(spec: dict[str, Any], label: str, description: str) -> dict[str, Any]:
    """A form field from the JSON schema of its config field: the same type, bounds and default."""
    schema = {"type": [spec["type"], "null"]}
    schema |= {k: spec[k] for k in ("minimum", "exclusiveMinimum", "maximum") if k in spec}
    if "minimum" in spec:
        bounds = f"{spec['minimum']:g} to {spec['maximum']:g}"
    else:
        bounds = f"more than {spec['exclusiveMinimum']:g}, at most {spec['maximum']:g}"
    return {
        "label": label,
        "description": f"{description}: {bounds}; default {spec['default']:g}.",
        "schema": schema,
    }


def _conn_fields() -> dict[str, Any]:
    """The form's extras; their schemas come from the pydantic models that check the connection,
    so the form refuses what the hook refuses (``2.5`` for a whole number, a value out of range).
    """
    from airflow_provider_codat.client import ClientConfig, RetryPolicy

    specs = {
        **RetryPolicy.model_json_schema()["properties"],
        **ClientConfig.model_json_schema()["properties"],
    }
    return {name: _number(specs[name], *text) for name, text in _FIELDS.items()}


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
                "conn-fields": _conn_fields(),
            }
        ],
    }
