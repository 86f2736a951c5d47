"""The import graph points only down, as docs/architecture.md draws it.

Every ``import`` of the package's own modules is read from the source (function-level and
``TYPE_CHECKING`` imports included), so a layer cannot reach up even lazily.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "airflow_provider_codat"
NAME = "airflow_provider_codat"

LAYERS = ["client", "hooks", "triggers", "tasks", "operators", "sensors"]
"""Bottom to top; a module may import its own layer and those below, never one above."""

TASK_LAYERS = {"operators", "sensors"}
"""The top: side by side, neither imports the other."""


def _layer(module: str) -> str:
    """``client``, ``hooks``, ... for a module name inside the package; its first part otherwise."""
    part = module.removeprefix(f"{NAME}.").split(".")[0]
    return part.removesuffix(".py")


def _imports() -> list[tuple[str, str]]:
    """``(importing module, imported module)`` for every import of the package's own modules."""
    found: list[tuple[str, str]] = []
    for path in sorted(PACKAGE.rglob("*.py")):
        module = ".".join((NAME, *path.relative_to(PACKAGE).with_suffix("").parts)).removesuffix(".__init__")
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith(NAME):
                found.extend((module, f"{node.module}.{alias.name}") for alias in node.names)
            elif isinstance(node, ast.Import):
                found.extend((module, alias.name) for alias in node.names if alias.name.startswith(NAME))
    return found


IMPORTS = _imports()


def test_the_graph_is_read() -> None:
    assert len(IMPORTS) > 200
    assert (
        "airflow_provider_codat.sensors.base",
        "airflow_provider_codat.triggers.base.CodatPollTrigger",
    ) in IMPORTS


@pytest.mark.parametrize("layer", LAYERS)
def test_no_layer_imports_one_above_it(layer: str) -> None:
    above = set(LAYERS[LAYERS.index(layer) + 1 :])
    if layer in TASK_LAYERS:
        above -= TASK_LAYERS  # side by side: the next test
    upward = [(a, b) for a, b in IMPORTS if _layer(a) == layer and _layer(b) in above]
    assert upward == [], f"{layer} reaches up"


def test_operators_and_sensors_do_not_import_each_other() -> None:
    across = [(a, b) for a, b in IMPORTS if {_layer(a), _layer(b)} == TASK_LAYERS]
    assert across == []


def test_only_the_sandbox_imports_the_sandbox_and_it_reads_only_the_registry_and_the_rules() -> None:
    into = [(a, b) for a, b in IMPORTS if _layer(b) == "sandbox" and _layer(a) != "sandbox"]
    assert into == []
    out_of = {_layer(b) for a, b in IMPORTS if _layer(a) == "sandbox" and _layer(b) != "sandbox"}
    assert out_of <= {"resources", "refresh", "exceptions"}, out_of


def test_the_layers_above_the_client_import_only_its_public_names() -> None:
    private = [
        (a, b)
        for a, b in IMPORTS
        if _layer(a) in {"hooks", "triggers", "tasks", "operators", "sensors"}
        and _layer(b) == "client"
        and any(part.startswith("_") for part in b.split(".")[2:])
    ]
    assert private == []
