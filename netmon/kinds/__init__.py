"""Pair kinds: the one explicit table. Add a kind by importing it here and registering it."""

from __future__ import annotations

from netmon.kinds.base import KindRegistry, PairKind, UnknownKind
from netmon.kinds.chassis import AristaRedundancyKind, EntityStandbyKind
from netmon.kinds.cisco_asa import CiscoAsaKind
from netmon.kinds.cisco_rf import CiscoRfKind
from netmon.kinds.cli import vendor_kinds
from netmon.kinds.command import CommandKind
from netmon.kinds.custom import CustomKind
from netmon.kinds.fortigate import FortigateHaKind
from netmon.kinds.frr import FrrVrrpKind
from netmon.kinds.hsrp import HsrpKind
from netmon.kinds.iflink import IfLinkKind
from netmon.kinds.junos_re import JunosReKind
from netmon.kinds.keepalived import KeepalivedKind
from netmon.kinds.linux import KeepalivedSshKind, LinuxVipKind
from netmon.kinds.pacemaker import PacemakerKind
from netmon.kinds.paloalto import PaloAltoHaKind
from netmon.kinds.vrrp import VrrpKind
from netmon.kinds.vrrpv3 import Vrrpv3Kind

KINDS = KindRegistry()
_ALL: list[PairKind] = [
    VrrpKind(),
    Vrrpv3Kind(),
    KeepalivedKind(),
    HsrpKind(),
    CiscoRfKind(),
    CiscoAsaKind(),
    JunosReKind(),
    EntityStandbyKind(),
    AristaRedundancyKind(),
    CustomKind(),
    CommandKind(),
    IfLinkKind(),
    KeepalivedSshKind(),
    FrrVrrpKind(),
    LinuxVipKind(),
    PacemakerKind(),
    PaloAltoHaKind(),
    FortigateHaKind(),
    *vendor_kinds(),
]
for _kind in _ALL:
    KINDS.register(_kind)

__all__ = ["KINDS", "KindRegistry", "PairKind", "UnknownKind"]
