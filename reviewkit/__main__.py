"""Provides `python -m reviewkit`."""

from __future__ import annotations

from reviewkit.cli import main

if __name__ == "__main__":
    main()
