"""Apache Airflow provider for Codat's Commerce API.

Public names resolve lazily, so importing this package (as every DAG file does) loads neither
httpx nor pydantic until a name that needs them is used.

An Airflow older than :data:`MIN_AIRFLOW_VERSION` is refused with one ``RuntimeError``: here when
Airflow is already loaded (DAG parsing, workers, the providers manager), else when a module that
needs Airflow first imports it (:mod:`airflow_provider_codat.version_compat`). The client, the models
and the sandbox never import Airflow.
"""

from __future__ import annotations

import importlib
import sys
from typing import Any

__version__ = "0.1.0"

MIN_AIRFLOW_VERSION = "3.1.7"
"""The oldest Airflow the provider runs on (keep in step with ``apache-airflow>=`` in pyproject.toml)."""

_LAZY: dict[str, str] = {
    "CodatCommerceHook": "airflow_provider_codat.hooks.commerce",
}

__all__ = ["MIN_AIRFLOW_VERSION", "CodatCommerceHook", "__version__", "check_airflow_version"]


def check_airflow_version(airflow_version: str) -> None:
    """Refuse an Airflow older than :data:`MIN_AIRFLOW_VERSION`.

    :param airflow_version: ``airflow.__version__``.
    :raises RuntimeError: Naming this provider, the minimum and the version found.
    """
    from packaging.version import Version

    if Version(Version(airflow_version).base_version) < Version(MIN_AIRFLOW_VERSION):
        raise RuntimeError(
            f"The package `airflow-provider-codat:{__version__}` needs Apache Airflow "
            f"{MIN_AIRFLOW_VERSION}+, but Airflow {airflow_version} is installed"
        )


_airflow = sys.modules.get("airflow")
if isinstance(getattr(_airflow, "__version__", None), str):
    check_airflow_version(_airflow.__version__)  # type: ignore[union-attr]
del _airflow


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value
