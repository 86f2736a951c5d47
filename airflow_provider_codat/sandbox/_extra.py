"""The sandbox's own dependencies, installed by the provider's ``sandbox`` extra.

The provider works without them; only serving the sandbox needs them. Importing
:class:`~airflow_provider_codat.sandbox.CodatSandbox` without them raises
:class:`SandboxExtraMissing`, which says what to install.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["INSTALL_HINT", "SANDBOX_DEPENDENCIES", "SandboxExtraMissing", "sandbox_extra"]

SANDBOX_DEPENDENCIES = frozenset({"starlette", "uvicorn"})
"""The top-level modules the ``sandbox`` extra installs (and only the sandbox imports)."""
INSTALL_HINT = "pip install 'airflow-provider-codat[sandbox]'"


class SandboxExtraMissing(ImportError):
    """A dependency of the sandbox is not installed: the ``sandbox`` extra is missing."""


@contextmanager
def sandbox_extra() -> Iterator[None]:
    """Turn a missing sandbox dependency, imported in the block, into :class:`SandboxExtraMissing`.

    :raises SandboxExtraMissing: Naming the missing module and the extra that installs it.
    """
    try:
        yield
    except ModuleNotFoundError as exc:
        module = (exc.name or "").partition(".")[0]
        if module not in SANDBOX_DEPENDENCIES:
            raise
        raise SandboxExtraMissing(
            f"the Codat sandbox needs {module}, which the 'sandbox' extra installs: {INSTALL_HINT}",
            name=module,
        ) from exc
