"""The Airflow versions the provider runs on: one declared minimum, one clear error below it."""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

import airflow_provider_codat
from airflow_provider_codat import MIN_AIRFLOW_VERSION, check_airflow_version

ROOT = Path(__file__).resolve().parents[1]


def test_the_minimum_is_the_one_pyproject_declares() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    pins = [d for d in project["dependencies"] if re.match(r"apache-airflow\s*>=", d)]
    assert pins == [f"apache-airflow>={MIN_AIRFLOW_VERSION}"]


@pytest.mark.parametrize(
    "version", [MIN_AIRFLOW_VERSION, "3.1.8", "3.2.0", "3.3.2", "3.1.7rc1", "4.0.0.dev0"]
)
def test_supported_versions_pass(version: str) -> None:
    check_airflow_version(version)


@pytest.mark.parametrize("version", ["3.1.6", "3.1.0", "3.0.6", "2.11.0"])
def test_older_versions_are_refused_naming_the_provider_and_the_minimum(version: str) -> None:
    with pytest.raises(RuntimeError) as caught:
        check_airflow_version(version)
    message = str(caught.value)
    assert "airflow-provider-codat" in message and f"{MIN_AIRFLOW_VERSION}+" in message and version in message


def _import_with_airflow(version: str, module: str) -> subprocess.CompletedProcess[str]:
    """Import ``module`` in a fresh interpreter where a stub ``airflow`` of ``version`` is loaded first."""
    code = (
        "import sys, types\n"
        f"sys.modules['airflow'] = types.SimpleNamespace(__version__={version!r})\n"
        f"import {module}\n"
        "print('imported')\n"
    )
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
    )


def test_importing_the_package_under_an_old_airflow_fails_with_one_clear_error() -> None:
    result = _import_with_airflow("3.0.6", "airflow_provider_codat")
    assert result.returncode != 0 and "imported" not in result.stdout
    last = result.stderr.strip().splitlines()[-1]
    assert last == (
        f"RuntimeError: The package `airflow-provider-codat:{airflow_provider_codat.__version__}` needs "
        f"Apache Airflow {MIN_AIRFLOW_VERSION}+, but Airflow 3.0.6 is installed"
    )
    assert _import_with_airflow(MIN_AIRFLOW_VERSION, "airflow_provider_codat").stdout.strip() == "imported"


def test_the_guard_imports_nothing_heavy() -> None:
    code = (
        "import sys, airflow_provider_codat\n"
        "heavy = ('airflow', 'packaging', 'httpx', 'pydantic')\n"
        "print(','.join(m for m in heavy if m in sys.modules))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert result.stdout.strip() == ""


def test_version_flags_match_the_installed_airflow() -> None:
    import airflow

    from airflow_provider_codat import version_compat

    major, minor, _ = version_compat.get_base_airflow_version_tuple()
    assert airflow.__version__ == version_compat.AIRFLOW_VERSION
    assert ((major, minor) >= (3, 2)) is version_compat.AIRFLOW_V_3_2_PLUS
    assert ((major, minor) >= (3, 3)) is version_compat.AIRFLOW_V_3_3_PLUS


def test_the_readme_asks_for_the_python_and_airflow_that_pyproject_requires() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    python = project["requires-python"].removeprefix(">=")
    readme = (ROOT / "README.md").read_text()
    assert f"`python3` ({python}+)" in readme and f"Python {python}+" in readme
    assert f"Apache Airflow {MIN_AIRFLOW_VERSION}+" in readme
    minors = [c.rsplit(" ", 1)[-1] for c in project["classifiers"] if re.fullmatch(r".*Python :: 3\.\d+", c)]
    assert minors[0] == python and minors == ["3.11", "3.12", "3.13"]
