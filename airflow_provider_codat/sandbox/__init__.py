"""A faithful local Codat API for demos, tests and benchmarks.

Run it with ``codat-sandbox`` (or ``python -m airflow_provider_codat.sandbox``), in-process with
:class:`CodatSandbox`, or in pytest through the ``codat_sandbox`` fixture. Serving needs the
``sandbox`` extra; without it, importing :class:`CodatSandbox` raises an ``ImportError`` naming it.
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = [
    "DEFAULT_API_KEY",
    "FAST_RETRIES",
    "CodatSandbox",
    "ConnectionFaults",
    "FaultConfig",
    "FaultRule",
    "SandboxConfig",
]

_LAZY = {
    "CodatSandbox": "airflow_provider_codat.sandbox.server",
    "SandboxConfig": "airflow_provider_codat.sandbox.config",
    "FaultConfig": "airflow_provider_codat.sandbox.config",
    "FaultRule": "airflow_provider_codat.sandbox.config",
    "ConnectionFaults": "airflow_provider_codat.sandbox.config",
    "DEFAULT_API_KEY": "airflow_provider_codat.sandbox.config",
    "FAST_RETRIES": "airflow_provider_codat.sandbox.config",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
