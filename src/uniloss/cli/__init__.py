"""Command-line interface: ``uniloss train | bench | report | presets`` (also ``python -m uniloss.cli``)."""

from uniloss.cli.app import build_parser, main

__all__ = ["build_parser", "main"]
