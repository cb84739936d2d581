"""Tests that the pooling core stays pure: importing it loads no database, UI, network or plotting code."""

from __future__ import annotations

import subprocess
import sys


def test_pooling_imports_only_numpy_and_scipy() -> None:
    """`import reviewkit.pooling` never loads sqlmodel, textual, requests, matplotlib or the store."""
    code = (
        "import sys, reviewkit.pooling\n"
        "bad = [m for m in ('sqlmodel', 'sqlalchemy', 'textual', 'requests', 'matplotlib', 'reviewkit.store')"
        " if m in sys.modules]\n"
        "print(','.join(bad))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
