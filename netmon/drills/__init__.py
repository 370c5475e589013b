"""Failover drills: plan (pure pre-checks) -> act (actuator) -> watch -> restore -> journal -> report."""
