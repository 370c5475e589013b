"""One device's answers -> its report: the groups and clusters it runs, and notes."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from netmon.discover.facts import (
    HSRP_GRP,
    IF_DESCR,
    IF_NAME,
    SYS_NAME,
    VRRP_OPER,
    VRRPV3_OPER,
    Cluster,
    Report,
    as_text,
    rows,
)
from netmon.discover.groups import hsrp, keepalived, vrrp, vrrpv3
from netmon.discover.units import asa, fortigate, junos, paloalto, rf
from netmon.model import Oid, Value


def if_indexes(values: Mapping[Oid, Value]) -> set[int]:
    """The interfaces the groups run on: their names make the inventory readable."""
    found: set[int] = set()
    for column in ((*VRRP_OPER, 3), (*VRRPV3_OPER, 6), (*HSRP_GRP, 15)):
        found.update(index[0] for index in rows(values, column) if index)
    return found


def name_oids(indexes: Iterable[int]) -> list[Oid]:
    return [(*column, i) for i in sorted(indexes) for column in (IF_NAME, IF_DESCR)]


def _if_names(names: Mapping[Oid, Value]) -> dict[int, str]:
    out: dict[int, str] = {}
    for column in (IF_DESCR, IF_NAME):  # ifName wins: it is the short name operators type
        for index, value in rows(names, column).items():
            text = as_text(value)
            if text and len(index) == 1:
                out[index[0]] = text
    return out


def read_report(
    address: str,
    port: int,
    values: Mapping[Oid, Value],
    names: Mapping[Oid, Value],
    problems: Sequence[str] = (),
) -> Report:
    """One device's answers -> what it runs, in netmon's terms."""
    ifs = _if_names(names)
    groups = [*vrrp(values, ifs), *vrrpv3(values, ifs), *hsrp(values, ifs), *keepalived(values)]
    clusters: list[Cluster] = []
    notes: list[str] = []
    for reader in (rf, junos, asa, fortigate, paloalto):
        cluster, note = reader(values)
        if cluster is not None:
            clusters.append(cluster)
        if note:
            notes.append(note)
    sys_name = as_text(rows(values, SYS_NAME).get((0,)))
    return Report(
        address, port, sys_name, tuple(groups), tuple(clusters), tuple(notes), tuple(problems)
    )
