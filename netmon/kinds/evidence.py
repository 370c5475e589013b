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


def _router(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> str | None:
    """The address as text if a router could send from it, else None: the unspecified address
    (the MIBs' "none"), loopback, multicast, broadcast and reserved ones are no router."""
    if (
        address.is_unspecified
        or address.is_loopback
        or address.is_multicast
        or address.is_reserved
        or address == ipaddress.IPv4Address("255.255.255.255")
    ):
        return None
    return str(address)


def reported_ipv4(value: Value | None) -> str | None:
    """An IpAddress value (dotted text, as the collectors decode it), or None when it is absent,
    not an IPv4 address, or not an address a router sends from (0.0.0.0 is the MIBs' "none")."""
    if not isinstance(value, str) or ":" in value:
        return None
    return reported_ip(value)


def wire_bytes(text: str) -> bytes | None:
    """The bytes of an OCTET STRING, back from the collectors' text (`octets_text`): UTF-8 where
    the bytes were valid UTF-8, else Latin-1. Exactly one reading is right: Latin-1 text whose
    bytes would have been valid UTF-8 cannot come from the collector, so it is read as UTF-8."""
    if any("\udc80" <= c <= "\udcff" for c in text):
        try:  # surrogate escapes (Python's reversible decoding): only that reading is right
            return text.encode("utf-8", "surrogateescape")
        except UnicodeEncodeError:
            return None
    try:
        raw = text.encode("latin-1")
    except UnicodeEncodeError:
        raw = None  # characters above U+00FF: the bytes were UTF-8
    if raw is not None:
        try:
            raw.decode("utf-8")
        except UnicodeDecodeError:
            return raw  # not UTF-8: the collector fell back to Latin-1, one char per byte
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:
        return None  # a lone surrogate no decoder of ours produces: garbled


def reported_inet(value: Value | None, version: int) -> str | None:
    """An InetAddress (an OCTET STRING of 4 bytes for IPv4, 16 for IPv6) as text, or None.

    The collectors hand an OCTET STRING over as text: UTF-8 where the bytes are valid UTF-8,
    else Latin-1 (every byte kept). The bytes are recovered exactly that way (never two ways),
    and must be exactly 4 or 16 of them; a value with U+FFFD (bytes an older decoding lost) is
    no evidence."""
    if not isinstance(value, str) or "\ufffd" in value:
        return None
    raw = wire_bytes(value)
    if raw is None or len(raw) != (4 if version == 4 else 16):
        return None
    return _router(ipaddress.ip_address(raw))


def heard_active(heard: str | None, *own: str | None) -> str | None:
    """`heard` unless it is one of the member's own addresses (a member cannot vouch for itself)."""
    if heard is None or heard in own:
        return None
    return heard


def bounded(text: str, limit: int = MAX_TEXT) -> str:
    """Device-reported text for an identity or a peer: one printable line (NUL, ESC and other
    control characters as spaces: they would reach an operator's terminal), at most `limit`
    characters."""
    flat = one_line(text)
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def one_line(text: str) -> str:
    """Device-reported text as one printable line: every character that is not printable (NUL,
    ESC, newlines, other control characters) read as a space, runs of whitespace as one, the
    ends trimmed. The one form kinds match and show, and `netmon discover` writes."""
    return " ".join("".join(c if c.isprintable() else " " for c in text).split())


def reported_ip(text: str | None) -> str | None:
    """An address as a CLI prints it (IPv4 or IPv6), or None when the field holds a word such as
    "local" or "unknown", is unparsable, or is the unspecified address."""
    if text is None:
        return None
    try:
        address = ipaddress.ip_address(text.strip())
    except ValueError:
        return None
    return _router(address)


# What a VRRP backup hears when its source names no master (KEEPALIVED-MIB, CLI tables without a
# master column): VRRP keeps a router in backup only while a master's advertisements arrive, and
# makes it master after Master_Down_Interval (about three advertisement intervals) without them.
HEARS_A_VRRP_MASTER = "a VRRP master (its adverts keep this router backup)"
