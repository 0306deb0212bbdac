"""One-way imports: queues <- ivr <- channels <- router; vendor SDKs only in channels."""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
RANK = {"queues": 0, "ivr": 1, "channels": 2, "router": 3}
VENDORS = {"twilio", "telegram", "aiosmtpd"}


def imported_modules(path: Path) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.lineno, node.module))
    return found


def upward_imports(root: Path) -> list[str]:
    bad = []
    for package, rank in RANK.items():
        for path in sorted((root / package).rglob("*.py")):
            for lineno, module in imported_modules(path):
                top = module.split(".")[0]
                where = f"{path.relative_to(root)}:{lineno} imports {module}"
                if top in RANK and RANK[top] > rank:
                    bad.append(where)
                if top in VENDORS and package != "channels":
                    bad.append(where + " (vendor SDKs belong in channels/)")
    return bad


def test_no_upward_imports() -> None:
    assert upward_imports(ROOT) == []


def test_checker_catches_an_upward_import(tmp_path: Path) -> None:
    for package in RANK:
        (tmp_path / package).mkdir()
    (tmp_path / "queues" / "bad.py").write_text("from router.app.factory import build\n")
    (tmp_path / "ivr" / "vendor.py").write_text("import twilio.rest\n")
    assert upward_imports(tmp_path) == [
        "queues/bad.py:1 imports router.app.factory",
        "ivr/vendor.py:1 imports twilio.rest (vendor SDKs belong in channels/)",
    ]


@pytest.mark.parametrize("package", sorted(RANK))
def test_public_surface_is_declared(package: str) -> None:
    module = importlib.import_module(package)
    names = module.__all__
    assert len(names) == len(set(names))
    for name in names:
        assert hasattr(module, name), f"{package}.__all__ names {name!r}, which is missing"
