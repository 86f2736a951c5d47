"""The ``sandbox`` extra: the provider works without it, and the sandbox says how to install it.

Its absence is simulated in a fresh interpreter whose ``sys.modules`` maps the extra's modules to
None, so importing them fails as if they were not installed.
"""

from __future__ import annotations

import ast
import re
import subprocess
import sys
import tomllib
from pathlib import Path

from airflow_provider_codat.sandbox._extra import INSTALL_HINT, SANDBOX_DEPENDENCIES

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "airflow_provider_codat"
BLOCKED = sorted(SANDBOX_DEPENDENCIES)
WITHOUT_THE_EXTRA = f"import sys\nfor name in {BLOCKED!r}:\n    sys.modules[name] = None\n"
MODULE = "|".join(BLOCKED)
MESSAGE = (
    rf"the Codat sandbox needs ({MODULE}), which the 'sandbox' extra installs: {re.escape(INSTALL_HINT)}"
)


def run_without_the_extra(code: str) -> subprocess.CompletedProcess[str]:
    """Run ``code`` in a new interpreter where the sandbox's dependencies cannot be imported."""
    return subprocess.run(
        [sys.executable, "-c", WITHOUT_THE_EXTRA + code],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_the_command_says_which_extra_to_install_in_one_line() -> None:
    result = run_without_the_extra(
        "from importlib.metadata import entry_points\n"
        "main = entry_points(group='console_scripts')['codat-sandbox'].load()\n"
        "sys.exit(main(['--port', '0']))\n"
    )
    assert result.returncode == 1
    assert result.stdout == ""
    assert re.fullmatch(f"codat-sandbox: {MESSAGE}\n", result.stderr), result.stderr


def test_codat_sandbox_raises_an_import_error_naming_the_extra() -> None:
    result = run_without_the_extra(
        "try:\n"
        "    from airflow_provider_codat.sandbox import CodatSandbox\n"
        "except ImportError as exc:\n"
        "    print(type(exc).__name__, exc.name, exc, sep='|')\n"
    )
    assert result.returncode == 0, result.stderr
    assert re.fullmatch(rf"SandboxExtraMissing\|({MODULE})\|{MESSAGE}\n", result.stdout), result.stdout


def test_the_provider_and_the_pytest_plugin_import_without_the_extra() -> None:
    """Every module outside the sandbox, and the sandbox's plugin, config and command, import."""
    result = run_without_the_extra(
        "import importlib, pkgutil, airflow_provider_codat as root\n"
        "entry = {'__init__', 'pytest_plugin', 'config', '__main__', '_extra'}\n"
        "for info in pkgutil.walk_packages(root.__path__, root.__name__ + '.'):\n"
        "    parts = info.name.split('.')\n"
        "    if parts[1] != 'sandbox' or len(parts) == 2 or parts[2] in entry:\n"
        "        importlib.import_module(info.name)\n"
        "print(sorted(name for name in sys.modules if sys.modules[name] is not None\n"
        "             and name.split('.')[0] in ('starlette', 'uvicorn')))\n"
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == "[]\n"


def test_a_project_without_the_extra_runs_pytest_and_is_told_what_to_install(tmp_path: Path) -> None:
    (tmp_path / "test_project.py").write_text(
        "def test_without_the_sandbox():\n"
        "    assert True\n\n\n"
        "def test_with_the_sandbox(codat_sandbox):\n"
        "    pass\n"
    )
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            WITHOUT_THE_EXTRA + "import pytest\nsys.exit(pytest.main(['-q', '-p', 'no:cacheprovider']))\n",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert "1 passed, 1 error" in result.stdout, result.stdout + result.stderr
    assert re.search(f"SandboxExtraMissing: {MESSAGE}", result.stdout), result.stdout


def _third_party_imports(path: Path) -> set[str]:
    """Top-level names of the modules ``path`` imports that are neither stdlib nor the provider."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names - set(sys.stdlib_module_names) - {"airflow_provider_codat"}


def test_the_sandbox_extra_holds_what_only_the_sandbox_imports() -> None:
    sandbox, rest = set(), set()
    for path in PACKAGE.rglob("*.py"):
        in_sandbox = path.relative_to(PACKAGE).parts[0] == "sandbox"
        (sandbox if in_sandbox else rest).update(_third_party_imports(path))
    assert sandbox - rest - {"pytest"} == SANDBOX_DEPENDENCIES  # pytest loads the plugin itself
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    extra = {req.split(">")[0].split("[")[0] for req in project["optional-dependencies"]["sandbox"]}
    assert extra == SANDBOX_DEPENDENCIES
    core = {req.split(">")[0].split("[")[0] for req in project["dependencies"]}
    assert not core & SANDBOX_DEPENDENCIES
    assert "airflow-provider-codat[sandbox]" in project["optional-dependencies"]["dev"]
