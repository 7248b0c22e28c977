"""Counts in what the ops commands print: "1 row", "2 rows", "0 rows"."""

from __future__ import annotations


def counted(count: int, noun: str, plural: str = "") -> str:
    """The count followed by its noun, singular for exactly one."""
    return f"{count} {noun if count == 1 else plural or f'{noun}s'}"
