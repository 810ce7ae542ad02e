"""The layout stays readable: layered imports (import-linter) and small product modules."""

from __future__ import annotations

import ast
import importlib.metadata
import re
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


def third_party_imports(path: Path) -> set[str]:
    """Top-level names of the modules ``path`` imports from outside the stdlib and us."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.add(node.module.split(".")[0])
    return names - set(sys.stdlib_module_names) - set(PRODUCT)


def test_the_product_imports_only_what_requirements_txt_installs() -> None:
    """A deploy installs requirements.txt alone: every package the product imports is there
    (not only in requirements-dev.txt)."""
    pinned = {
        re.split(r"[=<>\[ ;]", line, maxsplit=1)[0].lower().replace("_", "-")
        for line in (ROOT / "requirements.txt").read_text().splitlines()
        if line.strip() and not line.startswith(("#", "-"))
    }
    distributions = importlib.metadata.packages_distributions()
    missing = {
        f"{path.relative_to(ROOT)}: {name}"
        for package in PRODUCT
        for path in (ROOT / package).rglob("*.py")
        for name in third_party_imports(path)
        if not {d.lower().replace("_", "-") for d in distributions.get(name, [name])} & pinned
    }
    assert missing == set()
