"""The engine and the parts it composes: comparisons, relaxations, checks, registry.

Import from :mod:`uniloss` (``uniloss.UniLoss``, ``uniloss.Sigmoid`` ...) rather than from here.
"""
