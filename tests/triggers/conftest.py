"""A sandbox for trigger tests, a fresh commerce connection per test, and ``codat_default`` pointing at it."""

from __future__ import annotations

import os
import tempfile

# Airflow writes into $AIRFLOW_HOME on import: keep it in a throwaway folder.
os.environ.setdefault("AIRFLOW_HOME", tempfile.mkdtemp(prefix="codat-airflow-home-"))


from tests.commerce_fixtures import API_KEY, FAST, connection_json, this_second

__all__ = ["API_KEY", "FAST", "connection_json", "this_second"]
