"""How the package is layered (issue 11, "tidy edges"), read from the import statements — every
one, those inside functions too:
- the workflow package decides and draws, with no I/O: no web framework, database or HTTP;
- `rectify.cli` is the entry point and nothing imports it (its subcommands' modules once did,
  for `prepare`, which made a cycle; they share `rectify.startup` now)."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import rectify

PACKAGE = Path(rectify.__file__).parent
NO_IO = ("fastapi", "starlette", "sqlalchemy", "sqlmodel", "httpx", "uvicorn", "psycopg")


def imports(path: Path) -> Iterator[str]:
    """Every module a file imports, at any depth of its code."""
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.module
            yield from (f"{node.module}.{alias.name}" for alias in node.names)


def test_the_workflow_package_has_no_io() -> None:
    found = {
        f"{path.relative_to(PACKAGE)} imports {name}"
        for path in (PACKAGE / "workflow").rglob("*.py")
        for name in imports(path)
        if name.split(".")[0] in NO_IO
    }
    assert found == set()


def test_nothing_imports_the_command_line_entry_point() -> None:
    found = {
        f"{path.relative_to(PACKAGE)} imports {name}"
        for path in PACKAGE.rglob("*.py")
        for name in imports(path)
        if name == "rectify.cli" or name.startswith("rectify.cli.")
    }
    assert found == set()
