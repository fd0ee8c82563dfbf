"""Command-line interface: ``uniloss train | compare | report | diagnose | recipes`` (``python -m uniloss_lab.cli``).

:func:`main` imports the parser on its call, so that a missing lab dependency gets an install hint, not a traceback.
"""

from uniloss_lab.cli.entry import main

__all__ = ["main"]
