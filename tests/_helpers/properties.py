"""Hypothesis settings shared by the property tests: small budgets, no deadline (CPU timing is noisy)."""

from __future__ import annotations

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

PROPERTY_SETTINGS = settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
"""For cheap properties (exact metrics, refactoring identities)."""

SLOW_PROPERTY_SETTINGS = settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
"""For properties that run the whole loss."""

tied_values = st.integers(-4, 4).map(lambda v: v / 2)
"""Few distinct, exactly representable values: ties are frequent."""

spread_values = st.floats(-100.0, 100.0, allow_nan=False, allow_infinity=False, width=32)
"""Float32 values over a wide range: ties are rare."""
