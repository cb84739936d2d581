"""Provides reviewkit, a systematic-review workflow manager (PRISMA 2020 from search to pooling)."""

from __future__ import annotations

__version__ = "0.1.0"
