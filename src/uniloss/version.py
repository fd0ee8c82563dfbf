"""The package version, set here only (hatchling reads it; `uniloss.__version__` re-exports it)."""

__version__ = "0.1.0"
