"""Every environment variable the code reads is in README's configuration table and in
.env.example, and neither documents one that nothing reads.

The code is parsed, not imported: ``os.environ[...]``, ``os.environ.get/setdefault/pop``,
``os.getenv``, the same on a copy called ``env``/``environ``, any call that is handed such a
mapping with a name (``_int(env, "PORT")``), module-level name constants resolved, and the
``${NAME}`` expansions of the Procfile.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SOURCES = (
    "core",
    "ivr",
    "dashboard",
    "callbacks",
    "themes",
    "transcription",
    "workers",
    "simulator",
)
SCRIPTS = ("scripts", "bench")
# The operating system's own variables, not settings of this app.
SYSTEM = {"PATH", "HOME", "XDG_CACHE_HOME", "TZ"}
ENV_NAME = re.compile(r"^[A-Z][A-Z0-9_]*$")
MAPPING_NAMES = {"env", "environ", "environment"}


def is_environment(node: ast.expr) -> bool:
    """``os.environ``, or a local copy of it called env/environ."""
    if isinstance(node, ast.Attribute):
        return node.attr == "environ"
    return isinstance(node, ast.Name) and node.id in MAPPING_NAMES


def names_in(tree: ast.Module) -> Iterator[str]:
    constants = {
        target.id: node.value.value
        for node in tree.body
        if isinstance(node, ast.Assign)
        and isinstance(node.value, ast.Constant)
        and isinstance(node.value.value, str)
        for target in node.targets
        if isinstance(target, ast.Name)
    }

    def text(node: ast.expr) -> str | None:
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            return node.value
        if isinstance(node, ast.Name):
            return constants.get(node.id)
        return None

    for node in ast.walk(tree):
        keys: list[ast.expr] = []
        if isinstance(node, ast.Subscript) and is_environment(node.value):
            keys = [node.slice]
        elif isinstance(node, ast.Call):
            func = node.func
            if isinstance(func, ast.Attribute) and is_environment(func.value):
                keys = node.args[:1]  # env.get(NAME, default)
            elif isinstance(func, ast.Attribute) and func.attr == "getenv":
                keys = node.args[:1]
            elif any(is_environment(arg) for arg in node.args):
                keys = list(node.args)  # a helper handed the mapping and a name
        for key in keys:
            name = text(key)
            if name and ENV_NAME.match(name):
                yield name


def read_by_code() -> set[str]:
    files = [p for package in SOURCES for p in (ROOT / package).rglob("*.py")]
    files += [p for folder in SCRIPTS for p in (ROOT / folder).glob("*.py")]
    found = {name for path in files for name in names_in(ast.parse(path.read_text()))}
    found |= set(re.findall(r"\$\{([A-Z][A-Z0-9_]*)", (ROOT / "Procfile").read_text()))
    return found - SYSTEM


def in_readme_table() -> set[str]:
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## Configuration", 1)[1].split("\n## ", 1)[0]
    rows = [line.split("|")[1] for line in section.splitlines() if line.startswith("| `")]
    return {name for cell in rows for name in re.findall(r"`([A-Z][A-Z0-9_]*)`", cell)}


def in_env_example() -> set[str]:
    example = (ROOT / ".env.example").read_text()
    return set(re.findall(r"^#? ?([A-Z][A-Z0-9_]*)=", example, re.M))


def test_the_parser_finds_every_way_the_code_reads_a_variable() -> None:
    """Literal reads, config helpers, named constants and the Procfile are all seen."""
    found = read_by_code()
    assert {"SESSION_COOKIE_SECURE", "FAKE_TWILIO_PORT", "INSTANCE_PATH"} <= found
    assert {"FAKE_TWILIO_APP_BASE_URL", "VALIDATE_TWILIO_SIGNATURE", "SMTP_PORT"} <= found
    assert {"LOCAL_MODE_ANNOUNCED", "WEB_CONCURRENCY"} <= found
    sample = ast.parse('import os\nX = "NAMED"\nos.environ.get(X)\n_int(env, "HELPED")\n')
    assert set(names_in(sample)) == {"NAMED", "HELPED"}


def test_every_variable_read_is_in_the_readme_table() -> None:
    """README's configuration table lists every variable the code reads."""
    assert sorted(read_by_code() - in_readme_table()) == []


def test_every_variable_read_is_in_env_example() -> None:
    """.env.example has a (commented) line for every variable the code reads."""
    assert sorted(read_by_code() - in_env_example()) == []


def test_nothing_documented_is_unread() -> None:
    """Neither README nor .env.example documents a variable the code no longer reads."""
    read = read_by_code()
    assert sorted(in_readme_table() - read) == []
    assert sorted(in_env_example() - read) == []
