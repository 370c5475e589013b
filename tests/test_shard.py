"""netmon.shard: `--shard K/N` parsing, and rendezvous hashing of pairs onto shards."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from netmon.inventory import load_inventory
from netmon.shard import Shard, for_shard, owns, parse_shard, shard_of

from .helpers import REPO


@pytest.mark.parametrize(
    ("text", "expected"),
    [("1/1", Shard(1, 1)), ("2/3", Shard(2, 3)), ("3/3", Shard(3, 3)), (" 7/12 ", Shard(7, 12))],
)
def test_parse_shard_accepts_k_of_n(text: str, expected: Shard) -> None:
    assert parse_shard(text) == expected


def test_a_shard_prints_as_it_is_written() -> None:
    assert str(parse_shard("2/3")) == "2/3"
    assert str(Shard(1, 8)) == "1/8"


@pytest.mark.parametrize(
    "text",
    ["0/3", "4/3", "2/0", "0/0", "", "/", "2/", "/3", "2", "2/3/4", "a/b", "-1/3", "+2/3",
     "2 / 3", "2_0/30", "²/3", "1.5/3"],
)  # fmt: skip
def test_parse_shard_refuses_bad_input_naming_it(text: str) -> None:
    with pytest.raises(ValueError, match="--shard must be K/N with 1 <= K <= N") as caught:
        parse_shard(text)
    assert repr(text) in str(caught.value)


def test_the_message_is_the_documented_one() -> None:
    with pytest.raises(ValueError, match="got") as caught:
        parse_shard("0/3")
    assert str(caught.value) == "--shard must be K/N with 1 <= K <= N, got '0/3'"


def test_a_shard_cannot_be_built_out_of_range() -> None:
    with pytest.raises(ValueError, match="got '4/3'"):
        Shard(4, 3)


def test_shard_of_refuses_no_shards() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        shard_of("core-gw", 0)


@given(st.text())
def test_every_pair_is_in_exactly_one_shard(name: str) -> None:
    assert shard_of(name, 1) == 1
    for count in range(1, 9):
        owners = [k for k in range(1, count + 1) if owns(Shard(k, count), name)]
        assert owners == [shard_of(name, count)]
    assert owns(None, name)


# Computed once with the blake2b weights. If this fails, the hash changed: every sharded fleet
# would reshuffle its pairs on upgrade (and processes of mixed versions would disagree).
EXPECTED = {
    "core-gw": [2, 2, 2, 2],
    "dc-edge": [2, 3, 4, 4],
    "campus-fw": [1, 3, 4, 4],
    "branch-gw": [1, 3, 3, 7],
    "wan-hsrp": [2, 3, 3, 3],
    "isp-uplinks": [1, 3, 3, 8],
}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_shards_are_stable_across_processes_and_versions(name: str) -> None:
    assert [shard_of(name, count) for count in (2, 3, 4, 8)] == EXPECTED[name]


NAMES = [f"site{i // 7}-pair{i}" for i in range(3000)]


def test_pairs_are_balanced_over_shards() -> None:
    counts = dict.fromkeys((1, 2, 3), 0)
    for name in NAMES:
        counts[shard_of(name, 3)] += 1
    assert all(900 <= c <= 1100 for c in counts.values()), counts


@pytest.mark.parametrize("n", range(2, 9))
def test_adding_a_shard_moves_only_what_the_new_shard_takes(n: int) -> None:
    moved = [name for name in NAMES if shard_of(name, n) != shard_of(name, n + 1)]
    assert all(shard_of(name, n + 1) == n + 1 for name in moved)
    fraction = len(moved) / len(NAMES)
    ideal = 1 / (n + 1)
    assert 0.7 * ideal <= fraction <= 1.3 * ideal, (n, fraction, ideal)


@pytest.fixture
def demo_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))  # demo.yaml reads its community from ~
    kept = tmp_path / ".local" / "state" / "netmon" / "demo-community"
    kept.parent.mkdir(parents=True)
    kept.write_text("shard-test\n")


@pytest.mark.usefixtures("demo_home")
def test_for_shard_keeps_its_pairs_and_every_device() -> None:
    inventory = load_inventory(REPO / "inventory" / "demo.yaml")
    assert {p.name for p in inventory.pairs} == set(EXPECTED)
    assert for_shard(inventory, None) is inventory

    seen: list[str] = []
    for index in (1, 2):
        part = for_shard(inventory, Shard(index, 2))
        names = [p.name for p in part.pairs]
        # EXPECTED's first column is the shard of 2: an independent check of the split.
        assert set(names) == {n for n, shards in EXPECTED.items() if shards[0] == index}
        assert names == [p.name for p in inventory.pairs if p.name in names]  # order kept
        assert part.devices == inventory.devices
        # Everything but the pairs is the whole inventory's (whatever fields it grows).
        assert replace(part, pairs=inventory.pairs) == inventory
        # The cached name index is the new inventory's own, not a copy of the whole one's.
        for pair in inventory.pairs:
            assert (part.pair(pair.name) is not None) == (pair.name in names)
        seen += names
    assert sorted(seen) == sorted(p.name for p in inventory.pairs)
