"""The inventory: the one place pydantic is used, at the edge."""

from netmon.inventory.loader import load_inventory

__all__ = ["load_inventory"]
