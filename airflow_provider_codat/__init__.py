"""Apache Airflow provider for Codat's Commerce API.

Public names resolve lazily, so importing this package (as every DAG file does) loads neither
httpx nor pydantic until a name that needs them is used.
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

_LAZY: dict[str, str] = {
    "CodatCommerceHook": "airflow_provider_codat.hooks.commerce",
}

__all__ = ["CodatCommerceHook", "__version__"]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value
