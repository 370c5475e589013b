"""What a member says about its peer, turned into evidence of a live active member, or nothing.

A standby that names the active router it hears (HSRP's active router, a VRRP backup's master
address) is evidence that the pair serves even when netmon cannot reach that active member
(`MemberView.peer_active`). Evidence must never be invented: an absent value, a malformed one,
the unspecified address (0.0.0.0: "I hear none") and the member's own address are no evidence.
"""

from __future__ import annotations

import ipaddress

from netmon.model import Value

MAX_TEXT = 60  # a reported name is shown to operators: bounded
MAX_IDENTITY = 160  # a whole identity line (a few names and addresses)


def reported_ipv4(value: Value | None) -> str | None:
    """An IpAddress value (dotted text, as the collectors decode it), or None when it is absent,
    not an IPv4 address, or 0.0.0.0 (which the MIBs use for "none")."""
    if not isinstance(value, str):
        return None
    try:
        address = ipaddress.IPv4Address(value.strip())
    except ValueError:
        return None
    return None if address.is_unspecified else str(address)


def reported_inet(value: Value | None, version: int) -> str | None:
    """An InetAddress (an OCTET STRING of 4 bytes for IPv4, 16 for IPv6) as text, or None.

    The collectors hand an OCTET STRING over as text decoded as UTF-8 with replacement, so an
    address whose bytes are not valid UTF-8 (any byte of 0x80 or more outside a valid sequence)
    arrives with U+FFFD in it: those bytes are lost and the value is no evidence. Bytes a
    reversible decoding kept (surrogate escapes, or Latin-1) are recovered; of the candidate
    encodings at most one has the expected length, so a value is never read two ways.
    """
    if not isinstance(value, str) or "\ufffd" in value:
        return None
    size = 4 if version == 4 else 16
    try:
        raw = value.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:
        return None  # a lone surrogate no decoder produces: garbled
    if len(raw) != size and all(ord(c) < 256 for c in value):
        raw = value.encode("latin-1")
    if len(raw) != size:
        return None
    address = ipaddress.ip_address(raw)
    return None if address.is_unspecified else str(address)


def heard_active(heard: str | None, *own: str | None) -> str | None:
    """`heard` unless it is one of the member's own addresses (a member cannot vouch for itself)."""
    if heard is None or heard in own:
        return None
    return heard


def bounded(text: str, limit: int = MAX_TEXT) -> str:
    """Device-reported text for an identity or a peer: one printable line (NUL, ESC and other
    control characters as spaces: they would reach an operator's terminal), at most `limit`
    characters."""
    flat = " ".join("".join(c if c.isprintable() else " " for c in text).split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def reported_ip(text: str | None) -> str | None:
    """An address as a CLI prints it (IPv4 or IPv6), or None when the field holds a word such as
    "local" or "unknown", is unparsable, or is the unspecified address."""
    if text is None:
        return None
    try:
        address = ipaddress.ip_address(text.strip())
    except ValueError:
        return None
    return None if address.is_unspecified else str(address)


# What a VRRP backup hears when its source names no master (KEEPALIVED-MIB, CLI tables without a
# master column): VRRP keeps a router in backup only while a master's advertisements arrive, and
# makes it master after Master_Down_Interval (about three advertisement intervals) without them.
HEARS_A_VRRP_MASTER = "a VRRP master (its adverts keep this router backup)"
