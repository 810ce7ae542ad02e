"""The layout stays readable: layered imports (import-linter) and small product modules."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PRODUCT = (
    "core",
    "ivr",
    "dashboard",
    "callbacks",
    "themes",
    "transcription",
    "replies",
    "texts",
    "workers",
    "simulator",
)
MAX_LINES = 420  # "about 400": a module past this wants splitting by concern


def test_import_contracts_are_kept() -> None:
    """Every import-linter contract in pyproject.toml holds (no package imports upwards)."""
    lint = Path(sys.executable).with_name("lint-imports")
    result = subprocess.run(
        [str(lint), "--no-cache"], cwd=ROOT, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


def test_no_product_module_is_oversized() -> None:
    """No product module grows past about 400 lines."""
    sizes = {
        str(path.relative_to(ROOT)): len(path.read_text().splitlines())
        for package in PRODUCT
        for path in (ROOT / package).rglob("*.py")
    }
    assert sizes, "no product modules found"
    assert {name: n for name, n in sizes.items() if n > MAX_LINES} == {}
