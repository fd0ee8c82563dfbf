"""The `uniloss` command's entry point: the parser (:mod:`uniloss_lab.cli.app`) imported on the call."""

import sys

_LAB_DEPENDENCIES = {"numpy", "sklearn", "PIL", "tqdm", "matplotlib"}


def main(argv: list[str] | None = None) -> int:
    """Run the ``uniloss`` command; without the lab's dependencies, say how to install them (exit status 2)."""
    try:
        from uniloss_lab.cli.app import main as run
    except ModuleNotFoundError as error:
        if error.name is None or error.name.split(".")[0] not in _LAB_DEPENDENCIES:
            raise
        print(
            f"error: the `uniloss` command is the lab, which needs {error.name}: pip install 'uniloss[lab]'",
            file=sys.stderr,
        )
        return 2
    return run(argv)
