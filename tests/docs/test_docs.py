"""The docs site stays true to the package: its example test passes and it names every operator."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"


def test_every_public_operator_is_named_in_the_docs() -> None:
    from airflow_provider_codat.operators import commerce

    text = (DOCS / "operators.md").read_text()
    missing = [name for name in commerce.__all__ if f"`{name}`" not in text]
    assert not missing


def test_the_sandbox_guide_example_test_passes(tmp_path: Path) -> None:
    text = (DOCS / "sandbox.md").read_text()
    block = re.search(
        r"<!-- example-test: start -->\n```python\n(.*?)```\n<!-- example-test: end -->", text, re.S
    )
    assert block, "docs/sandbox.md lost its example test"
    (tmp_path / "test_example.py").write_text(block.group(1))
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(tmp_path / "test_example.py")],
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": ""},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "3 passed" in result.stdout


def test_the_sdist_ships_the_changelog(tmp_path: Path) -> None:
    uv = shutil.which("uv", path=str(Path(sys.executable).parent)) or shutil.which("uv")
    if uv is None:
        pytest.skip("uv (which make venv installs) is needed to build the sdist")
    subprocess.run(
        [uv, "build", "--sdist", "--out-dir", str(tmp_path), str(ROOT)],
        check=True,
        capture_output=True,
        timeout=300,
    )
    (sdist,) = tmp_path.glob("*.tar.gz")
    with tarfile.open(sdist) as archive:
        member = next(m for m in archive.getmembers() if m.name.partition("/")[2] == "CHANGELOG.md")
        shipped = archive.extractfile(member)
        assert shipped is not None
        text = shipped.read().decode()
    assert text == (ROOT / "CHANGELOG.md").read_text()
    assert "\n## [Unreleased]\n" in text
