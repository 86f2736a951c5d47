"""Shared fixtures: a throwaway Airflow home on SQLite, and where Codat's published specs live."""

from __future__ import annotations

import os
import sys
import tempfile
import types
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

# Airflow reads its home and settings when first imported: point them at a throwaway folder before
# any test module imports it.
os.environ.setdefault("AIRFLOW_HOME", tempfile.mkdtemp(prefix="codat-airflow-home-"))
os.environ.setdefault("AIRFLOW__CORE__LOAD_EXAMPLES", "False")
DAGS_FOLDER = Path(
    os.environ.setdefault("AIRFLOW__CORE__DAGS_FOLDER", tempfile.mkdtemp(prefix="codat-dags-"))
)

import pytest  # noqa: E402

pytest_plugins = ["tests.commerce_fixtures"]

# ``dag.test()`` runs DAGs found in the DAGs folder. A test's DAG is put there as a one-line file that
# hands back the very object the test built, through this module.
_TEST_DAGS = types.ModuleType("codat_test_dags")
_TEST_DAGS.DAGS = {}  # type: ignore[attr-defined]
sys.modules[_TEST_DAGS.__name__] = _TEST_DAGS

SPEC_DIR_ENV = "CODAT_SPEC_DIR"
_DEFAULT_SPEC_DIR = Path(__file__).resolve().parents[1].parent / "shared" / "codat"


def spec_dir() -> Path:
    """Return the folder holding Codat-Commerce.yaml and Codat-Platform.yaml."""
    return Path(os.environ.get(SPEC_DIR_ENV, _DEFAULT_SPEC_DIR))


@pytest.fixture(scope="session")
def commerce_spec() -> dict:
    """Codat's Commerce OpenAPI spec as a dict; skips when the spec cannot be found."""
    return _load_spec("Codat-Commerce.yaml")


@pytest.fixture(scope="session")
def platform_spec() -> dict:
    """Codat's Platform OpenAPI spec as a dict; skips when the spec cannot be found."""
    return _load_spec("Codat-Platform.yaml")


def _load_spec(name: str) -> dict:
    import yaml

    path = spec_dir() / name
    if not path.is_file():
        pytest.skip(f"Codat spec {name} not found at {path}; set {SPEC_DIR_ENV} to the folder holding it")
    with path.open(encoding="utf-8") as fh:
        return yaml.safe_load(fh)


@pytest.fixture(scope="session")
def airflow_db() -> Iterator[None]:
    """Airflow's metadata database (SQLite in the throwaway home), migrated once per session."""
    from airflow.utils.db import initdb

    initdb()
    yield


@pytest.fixture(scope="session")
def dag_test(airflow_db: None) -> Callable[..., Any]:
    """Run a DAG built in a test with ``dag.test(**kwargs)`` on real Airflow; return the DagRun."""

    def run(dag: Any, **kwargs: Any) -> Any:
        _TEST_DAGS.DAGS[dag.dag_id] = dag  # type: ignore[attr-defined]
        source = f"# airflow dag\nimport sys\ndag = sys.modules['codat_test_dags'].DAGS[{dag.dag_id!r}]\n"
        (DAGS_FOLDER / f"{dag.dag_id}.py").write_text(source)
        return dag.test(**kwargs)

    return run
