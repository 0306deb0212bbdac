"""The architecture, checked: one-way imports (queues <- ivr <- channels <- router), vendor
SDKs only in channels, and each package's public surface.

A module may import anything inside its own package. From another package it imports only
what that package's ``__init__`` names in ``__all__``: ``from router.identity import Agent``,
not ``from router.identity.agents import Agent``.
"""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
RANK = {"queues": 0, "ivr": 1, "channels": 2, "router": 3}
VENDORS = {"twilio", "telegram", "aiosmtpd"}


def imports(path: Path) -> list[tuple[int, str, list[str]]]:
    """(line, module, names) of each absolute import; ``import a.b`` has no names."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found: list[tuple[int, str, list[str]]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name, []) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.lineno, node.module, [alias.name for alias in node.names]))
    return found


def modules(root: Path) -> list[tuple[Path, str]]:
    """Every source module under the layers, with the package it belongs to."""
    found = []
    for package in RANK:
        for path in sorted((root / package).rglob("*.py")):
            parts = path.relative_to(root).with_suffix("").parts
            found.append((path, ".".join(parts[:-1])))
    return found


def upward_imports(root: Path) -> list[str]:
    bad = []
    for path, package in modules(root):
        rank = RANK[package.split(".")[0]]
        for lineno, module, _ in imports(path):
            top = module.split(".")[0]
            where = f"{path.relative_to(root)}:{lineno} imports {module}"
            if top in RANK and RANK[top] > rank:
                bad.append(where)
            if top in VENDORS and package.split(".")[0] != "channels":
                bad.append(where + " (vendor SDKs belong in channels/)")
    return bad


def declared(root: Path, package: str) -> set[str] | None:
    """The names a package's ``__init__`` lists in ``__all__`` (None: it has no list)."""
    init = root.joinpath(*package.split("."), "__init__.py")
    for node in ast.parse(init.read_text(encoding="utf-8")).body:
        if isinstance(node, ast.Assign):
            target, value = node.targets[0], node.value
        elif isinstance(node, ast.AnnAssign) and node.value is not None:
            target, value = node.target, node.value
        else:
            continue
        if isinstance(target, ast.Name) and target.id == "__all__":
            assert isinstance(value, ast.List | ast.Tuple), f"{init}: __all__ is not a list"
            return {ast.literal_eval(e) for e in value.elts}
    return None


def reaching_in(root: Path) -> list[str]:
    """Imports from another package that bypass its ``__init__`` or take unlisted names."""
    bad = []
    for path, importer in modules(root):
        for lineno, module, names in imports(path):
            if module.split(".")[0] not in RANK:
                continue
            where = f"{path.relative_to(root)}:{lineno}"
            is_package = root.joinpath(*module.split("."), "__init__.py").exists()
            package = module if is_package else module.rpartition(".")[0]
            if importer == package or importer.startswith(package + "."):
                continue
            if not is_package:
                bad.append(f"{where} imports {module}; import from {package} instead")
                continue
            public = declared(root, package) or set()
            bad += [f"{where} imports {name} from {package}, which does not offer it"
                    for name in names if name not in public]  # fmt: skip
    return bad


def packages() -> list[str]:
    found = []
    for top in RANK:
        for init in sorted((ROOT / top).rglob("__init__.py")):
            found.append(".".join(init.parent.relative_to(ROOT).parts))
    return found


def test_no_upward_imports() -> None:
    assert upward_imports(ROOT) == []


def test_packages_import_each_other_through_their_public_names() -> None:
    assert reaching_in(ROOT) == []


def test_checkers_catch_an_upward_import_and_a_reach_inside(tmp_path: Path) -> None:
    for package in RANK:
        (tmp_path / package).mkdir()
        (tmp_path / package / "__init__.py").write_text('__all__ = ["Store"]\n')
    (tmp_path / "queues" / "base.py").write_text("Store = 1\n")
    (tmp_path / "queues" / "bad.py").write_text("from router.app.factory import build\n")
    (tmp_path / "ivr" / "vendor.py").write_text("import twilio.rest\n")
    (tmp_path / "ivr" / "deep.py").write_text("from queues.base import Store\n")
    (tmp_path / "ivr" / "hidden.py").write_text("from queues import Store, Secret\n")
    (tmp_path / "ivr" / "mine.py").write_text("from ivr.deep import Store\n")
    assert upward_imports(tmp_path) == [
        "queues/bad.py:1 imports router.app.factory",
        "ivr/vendor.py:1 imports twilio.rest (vendor SDKs belong in channels/)",
    ]
    assert reaching_in(tmp_path) == [
        "queues/bad.py:1 imports router.app.factory; import from router.app instead",
        "ivr/deep.py:1 imports queues.base; import from queues instead",
        "ivr/hidden.py:1 imports Secret from queues, which does not offer it",
    ]


@pytest.mark.parametrize("package", packages())
def test_each_package_says_what_it_offers(package: str) -> None:
    module = importlib.import_module(package)
    assert module.__doc__ and module.__doc__.strip(), f"{package} has no docstring"
    names = declared(ROOT, package)
    assert names is not None, f"{package}/__init__.py has no __all__"
    missing = sorted(n for n in names if not hasattr(module, n))
    assert missing == [], f"{package}.__all__ names what it does not have: {missing}"
