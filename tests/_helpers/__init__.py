"""Shared test helpers; import from the submodules (``from tests._helpers.tolerances import assert_close``)."""
