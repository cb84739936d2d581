"""Tests the layer rule: pure cores load neither the database nor Textual; services never load Textual."""

from __future__ import annotations

import pkgutil
import subprocess
import sys

import pytest

import reviewkit


def _modules(package: str) -> list[str]:
    pkg = __import__(package, fromlist=["x"])
    found = [m.name for m in pkgutil.walk_packages(pkg.__path__, prefix=f"{package}.")]
    # Alembic's env and revisions run only inside alembic, which provides their context.
    return [package] + [m for m in found if ".migrations" not in m]


def _loaded_after_import(module: str) -> set[str]:
    code = (
        f"import sys, {module}; "
        "print(' '.join(sorted(m.split('.')[0] for m in sys.modules)))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return set(out.stdout.split())


PURE = [m for p in ("reviewkit.domain", "reviewkit.pooling") for m in _modules(p)] + ["reviewkit.protocol", "reviewkit.protocol_errors"]
NOT_UI = [m for p in ("reviewkit.services", "reviewkit.store", "reviewkit.sources") for m in _modules(p)]


@pytest.mark.parametrize("module", PURE)
def test_pure_cores_load_no_database_ui_or_network(module: str) -> None:
    """A pure core imports no sqlmodel/sqlalchemy, textual, requests or Bio."""
    loaded = _loaded_after_import(module)
    assert not loaded & {"sqlmodel", "sqlalchemy", "textual", "requests", "Bio"}, module


@pytest.mark.parametrize("module", NOT_UI)
def test_services_and_below_load_no_textual(module: str) -> None:
    """Services, store and sources never import Textual."""
    assert "textual" not in _loaded_after_import(module), module


def test_cli_without_tui_does_not_load_textual() -> None:
    """The CLI imports the TUI only when it opens it."""
    assert "textual" not in _loaded_after_import("reviewkit.cli")


def test_package_version() -> None:
    """The package exposes its version."""
    assert reviewkit.__version__
