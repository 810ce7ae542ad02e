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


def test_the_web_app_does_not_load_torch(tmp_path: Path) -> None:
    """torch (~180 MB) is for the workers' Whisper and comment reader: a web worker that
    builds the app never imports it."""
    probe = (
        "import sys; from ivr import create_app; create_app(); "
        "print(sorted(m for m in sys.modules if m == 'torch' or m.startswith('torch.')))"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe],
        cwd=ROOT,
        env={"PATH": "/usr/bin:/bin", "INSTANCE_PATH": str(tmp_path)},
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"
