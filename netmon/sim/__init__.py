"""The simulated network behind `netmon demo` (device side: agents, not the monitor)."""
