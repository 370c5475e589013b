"""Any file given as an inventory is either a valid inventory or a ConfigError naming file and
place: never a traceback (hypothesis: random documents built from the inventory's own keys and
values, mutated real inventories, and random bytes)."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ruamel.yaml import YAML

from netmon.errors import ConfigError
from netmon.inventory import load_inventory
from netmon.model import Inventory

from .conftest import REPO
from .helpers import fuzz_examples

KEYS = [
    "version", "defaults", "devices", "pairs", "groups", "traps", "collectors", "drills", "snmp",
    "ssh", "pair", "community", "env", "file", "address", "name", "kind", "members", "params",
    "links", "if_index", "preferred", "virtual_ip", "interval", "timeout", "retries", "port",
    "user", "auth_protocol", "auth_key", "priv_protocol", "priv_key", "drill", "actuator",
    "config", "command", "ignore", "instance", "vrid", "mode", "probes", "enabled", "listen",
    "thresholds", "journal", "device", "group", "labels", "freeze", "stale_after",
]  # fmt: skip
KINDS = ["vrrp", "vrrpv3", "keepalived", "hsrp", "cisco-rf", "custom", "if-link", "linux-vip"]
scalars = st.one_of(
    st.none(), st.booleans(), st.integers(-(2**40), 2**40),
    st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=20),
    st.sampled_from([*KEYS, *KINDS, "10.99.0.1", "2c", "3", "SHA", "AES", "r1", "r2", "~/x", "/"]),
)  # fmt: skip
documents = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(st.sampled_from(KEYS) | st.text(max_size=8), inner, max_size=5),
    ),
    max_leaves=40,
)


def load(tmp_path: Path, text: str | bytes) -> None:
    path = tmp_path / "inventory.yaml"
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text)
    try:
        result = load_inventory(path)
    except ConfigError as exc:
        problems = exc.problems
    else:
        assert isinstance(result, Inventory)
        return
    assert problems
    lines = max(1, path.read_bytes().count(b"\n") + 1)
    for problem in problems:
        # File, line and path for every problem (docs/reliability.md): a line inside the file,
        # so an editor can jump to it; the path "" is the document itself.
        assert problem.file == str(path)
        assert problem.line is not None, problem
        assert 1 <= problem.line <= lines, (problem, lines)
        assert isinstance(problem.path, str)
        assert problem.message


def dump(data: Any) -> str:
    stream = io.StringIO()
    YAML(typ="safe").dump(data, stream)
    return stream.getvalue()


FUZZ = settings(
    max_examples=fuzz_examples(300),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@FUZZ
@given(documents)
def test_any_document_is_an_inventory_or_a_config_error(tmp_path: Path, data: Any) -> None:
    load(tmp_path, dump(data))


@FUZZ
@given(documents)
def test_documents_with_the_top_level_keys(tmp_path: Path, data: Any) -> None:
    top = {"version": 1, "devices": data, "pairs": [data], "defaults": data}
    load(tmp_path, dump(top))


@FUZZ
@given(
    source=st.sampled_from(["example.yaml", "demo.yaml", "lab.yaml"]),
    cut=st.integers(0, 10_000),
    junk=st.text(max_size=12),
)
def test_mutated_real_inventories(tmp_path: Path, source: str, cut: int, junk: str) -> None:
    text = (REPO / "inventory" / source).read_text()
    at = cut % (len(text) + 1)
    load(tmp_path, text[:at] + junk + text[at + len(junk) :])


@FUZZ
@given(st.binary(max_size=300))
def test_random_bytes(tmp_path: Path, data: bytes) -> None:
    load(tmp_path, data)
