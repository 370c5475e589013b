"""The real lab: keepalived VRRP pairs, net-snmp snmpd and OpenSSH sshd in network namespaces;
and a second one with FRR's vrrpd (`FrrLab`)."""

from netmon.lab.frr import FrrLab
from netmon.lab.lab import Lab, LabError

__all__ = ["FrrLab", "Lab", "LabError"]
