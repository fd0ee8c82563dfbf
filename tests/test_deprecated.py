"""Old import paths of moved objects: they still resolve, to the same object, with a DeprecationWarning."""

import importlib

import pytest

MOVED = [
    ("uniloss.core.engine", "UniLoss", "uniloss.engine.loss"),
    ("uniloss.core.engine", "uniloss", "uniloss.engine.loss"),
    ("uniloss.core.engine", "anchor_values", "uniloss.engine.loss"),
    ("uniloss.core.relax", "Relaxation", "uniloss.relaxations.base"),
    ("uniloss.core.relax", "Sigmoid", "uniloss.relaxations.sigmoid"),
    ("uniloss.core.relax", "HardStep", "uniloss.relaxations.hard_step"),
    ("uniloss.core.reference", "dense_uniloss", "uniloss.engine.reference"),
    ("uniloss.anchors._bits", "AnchorBits", "uniloss.anchors.bits"),
    ("uniloss.anchors._bits", "draw", "uniloss.anchors.bits"),
    ("uniloss.anchors._bits", "random_bytes", "uniloss.anchors.bits"),
]


@pytest.mark.parametrize(("old", "name", "new"), MOVED, ids=[f"{old}.{name}" for old, name, _ in MOVED])
def test_an_old_path_warns_and_gives_the_moved_object(old, name, new):
    module = importlib.import_module(old)
    with pytest.warns(DeprecationWarning, match=rf"`{old}\.{name}` is deprecated: use `{new}\.{name}`") as record:
        moved = getattr(module, name)
    assert moved is getattr(importlib.import_module(new), name)
    assert record[0].filename == __file__  # the warning points at the user's line


@pytest.mark.parametrize("old", sorted({old for old, _, _ in MOVED}))
def test_an_old_path_refuses_a_name_it_never_had(old):
    with pytest.raises(AttributeError, match="has no attribute 'nothing'"):
        importlib.import_module(old).nothing  # noqa: B018


def test_from_import_of_an_old_path_warns():
    with pytest.warns(DeprecationWarning, match="uniloss.core.engine.UniLoss"):
        from uniloss.core.engine import UniLoss  # noqa: F401
