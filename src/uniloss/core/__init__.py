"""The leaf layer: argument and tensor checks, the comparisons layout, the metric registry.

Nothing here imports the rest of uniloss. ``uniloss.core.engine``, ``uniloss.core.relax`` and
``uniloss.core.reference`` are deprecated aliases of :mod:`uniloss.engine` and :mod:`uniloss.relaxations`.
"""
