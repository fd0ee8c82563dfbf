"""``python -m uniloss_lab.cli``: the ``uniloss`` command."""

import sys

from uniloss_lab.cli.entry import main

if __name__ == "__main__":
    sys.exit(main())
