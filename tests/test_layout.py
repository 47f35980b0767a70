"""Production code stands on its own: development and test tools live in ``devtools/``.

``webapp/`` (and what production runs next to it: ``wsgi.py``, ``gunicorn.conf.py``,
``migrations/``) never imports ``devtools`` or ``tests``, holds no fake or
development server, and the installed distribution does not include ``devtools``.
"""

from __future__ import annotations

import ast
import fnmatch
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PRODUCTION = [ROOT / "webapp", ROOT / "migrations", ROOT / "wsgi.py", ROOT / "gunicorn.conf.py"]
NOT_FOR_PRODUCTION = ("devtools", "tests")
#: How development servers and fakes are named: the local PARS service and the
#: development sign-in provider and runner (once in webapp/, now in devtools/), fakes, mocks.
SERVER_LIKE = ("dev", "local", "fake", "mock")


def production_modules() -> list[Path]:
    found = []
    for place in PRODUCTION:
        found += sorted(place.rglob("*.py")) if place.is_dir() else [place]
    return found


def imported_modules(tree: ast.AST) -> list[tuple[int, str]]:
    """Every absolute module an import statement or an ``import_module("...")`` names."""
    names = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.append((node.lineno, node.module))
        elif isinstance(node, ast.Call) and node.args:
            func = node.func
            called = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            first = node.args[0]
            if (called in {"import_module", "__import__"} and isinstance(first, ast.Constant)
                    and isinstance(first.value, str)):
                names.append((node.lineno, first.value))
    return names


def test_production_modules_are_found():
    modules = {p.relative_to(ROOT).as_posix() for p in production_modules()}
    assert {"webapp/__init__.py", "webapp/pars/client.py", "wsgi.py"} <= modules


@pytest.mark.parametrize("path", production_modules(), ids=lambda p: p.relative_to(ROOT).as_posix())
def test_production_code_never_imports_devtools_or_tests(path: Path):
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    offending = [f"line {line}: {name}" for line, name in imported_modules(tree)
                 if name.split(".")[0] in NOT_FOR_PRODUCTION]
    assert not offending, f"{path.relative_to(ROOT)} imports {offending}"


def test_no_fake_or_development_server_in_webapp():
    offending = [p.relative_to(ROOT).as_posix() for p in (ROOT / "webapp").rglob("*.py")
                 if p.stem.startswith(SERVER_LIKE)]
    assert not offending, f"development tools belong in devtools/: {offending}"


def test_the_devtools_servers_would_be_caught_in_webapp():
    for stem in ("devserver", "localpars"):
        assert (ROOT / "devtools" / f"{stem}.py").exists()
        assert stem.startswith(SERVER_LIKE)


def test_the_checker_sees_what_it_looks_for():
    tree = ast.parse("import devtools.oidc\nfrom tests.conftest import make_app\n"
                     "from . import views\nimportlib.import_module('devtools.localpars')\n")
    assert [name for _, name in imported_modules(tree)] == [
        "devtools.oidc", "tests.conftest", "devtools.localpars"]


def test_devtools_is_not_packaged():
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    find = config["tool"]["setuptools"]["packages"]["find"]
    included = find.get("include", ["*"])
    for package in ("devtools", "devtools.localpars", "tests", "benchmarks"):
        assert not any(fnmatch.fnmatchcase(package, pattern) for pattern in included), package
