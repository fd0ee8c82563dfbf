"""Shared test helpers; import from the submodules (``from _helpers.tolerances import assert_close``)."""
