"""Shared fixtures: where Codat's published specs live."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

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
