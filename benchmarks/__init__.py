"""Benchmarks and studies of uniloss: scripts run as modules (``python -m benchmarks.quality.ablate``).

They import the package; the package never imports them.
"""
