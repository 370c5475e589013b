"""`netmon discover`: what devices report about their redundancy, as a starting inventory. Pure.

The CLI walks `COLUMNS` on each device (netmon/collectors/walk.py), reads the interface names of
the groups it found (`name_oids`), and hands the answers here: `read_report` turns one device's
answers into groups (VRRP, VRRPv3, HSRP, keepalived: one device's half of a pair) and clusters
(RF, Junos routing engines, ASA, FortiGate, Palo Alto: one agent reports every unit), and
`build` pairs them and writes the inventory YAML. Nothing here does I/O, so every case is tested
on recorded answers alone.

What discovery cannot know, and says so in the YAML: which routers form a pair when one address
is given (VRRP/HSRP need both), which member an operator prefers where the device reports no
priority, and the names people use for things.
"""

from __future__ import annotations

from netmon.discover.facts import COLUMNS, LOOKED_FOR, Cluster, Group, Report, Unit
from netmon.discover.pairing import Discovery, build, device_names
from netmon.discover.reading import if_indexes, name_oids, read_report

__all__ = [
    "COLUMNS",
    "LOOKED_FOR",
    "Cluster",
    "Discovery",
    "Group",
    "Report",
    "Unit",
    "build",
    "device_names",
    "if_indexes",
    "name_oids",
    "read_report",
]
