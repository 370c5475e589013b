"""Collectors: the only modules that talk to devices (SNMP now; SSH arrives with netmiko)."""
