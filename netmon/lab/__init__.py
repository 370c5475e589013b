"""The real lab: keepalived VRRP pairs, net-snmp snmpd and OpenSSH sshd in network namespaces."""

from netmon.lab.lab import Lab, LabError

__all__ = ["Lab", "LabError"]
