"""Splitting the pairs of one inventory among several netmon processes (`--shard K/N`).

Pure: no I/O. Each pair belongs to exactly one of N shards, chosen by rendezvous
(highest-random-weight) hashing of its name: every shard scores the name and the highest score
wins. Going from N to N+1 shards then moves only the pairs the new shard wins (about 1/(N+1) of
them) and every other pair stays where it was, so adding a poller does not reshuffle the fleet.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, replace

from netmon.model import Inventory

# ASCII digits only: int() and \d would also accept "+2", " 2", "2_0" and non-ASCII digits.
_SHARD_RE = re.compile(r"([0-9]+)/([0-9]+)")


def _invalid(text: str) -> ValueError:
    return ValueError(f"--shard must be K/N with 1 <= K <= N, got {text!r}")


@dataclass(frozen=True)
class Shard:
    """Shard `index` of `count`, 1-based as an operator writes it: `--shard 2/3` is Shard(2, 3)."""

    index: int
    count: int

    def __post_init__(self) -> None:
        # Checked here too, so a Shard built in code cannot be one that owns nothing.
        if not 1 <= self.index <= self.count:
            raise _invalid(f"{self.index}/{self.count}")

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"


def parse_shard(text: str) -> Shard:
    """`"2/3"` -> Shard(2, 3); raises ValueError naming the bad input."""
    match = _SHARD_RE.fullmatch(text.strip())
    if match is None:
        raise _invalid(text)
    index, count = int(match.group(1)), int(match.group(2))
    if not 1 <= index <= count:
        raise _invalid(text)
    return Shard(index, count)


def _weight(shard: int, pair_name: str) -> int:
    # A stable hash, not hash(): str hashes are salted per process, and every process of a
    # sharded fleet (and every restart) must agree on who owns a pair. "\0" separates the shard
    # number from the name so that (1, "2x") and (12, "x") cannot hash the same bytes.
    # surrogatepass: any str a YAML loader can hand us encodes, never raises.
    data = f"{shard}\0{pair_name}".encode("utf-8", "surrogatepass")
    return int.from_bytes(hashlib.blake2b(data, digest_size=8).digest(), "big")


def shard_of(pair_name: str, count: int) -> int:
    """The 1-based shard (of `count`) that owns the pair named `pair_name`."""
    if count < 1:
        raise ValueError(f"shard count must be at least 1, got {count}")
    # max() keeps the first of equal weights, so a (vanishingly rare) tie goes to the lower
    # shard number the same way in every process.
    return max(range(1, count + 1), key=lambda k: _weight(k, pair_name))


def owns(shard: Shard | None, pair_name: str) -> bool:
    """Whether this process polls the pair; None (not sharded) owns every pair."""
    return shard is None or shard_of(pair_name, shard.count) == shard.index


def for_shard(inventory: Inventory, shard: Shard | None) -> Inventory:
    """The inventory with only this shard's pairs.

    Devices are kept as they are: a device may serve pairs of several shards, and pairs look up
    their members' devices by name. replace() builds a new Inventory, so its cached pair index
    is rebuilt from the kept pairs rather than copied."""
    if shard is None:
        return inventory
    return replace(inventory, pairs=tuple(p for p in inventory.pairs if owns(shard, p.name)))
