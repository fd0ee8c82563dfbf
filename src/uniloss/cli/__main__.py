"""Entry point of ``uniloss`` and ``python -m uniloss.cli``; the parser lives in :mod:`uniloss.cli.app`."""

import sys

from uniloss.cli.app import build_parser, main

__all__ = ["build_parser", "main"]

if __name__ == "__main__":
    sys.exit(main())
