"""Pacemaker/Corosync server clusters over SSH: `crm_mon` XML says which node runs the resource
group, and whether each node is online and not in standby.

What a node hears about its peer: the cluster status names the node that runs the group. A
member not running it, whose view shows every resource of the group started on one other node
that is online (and the partition quorate, where crm_mon says), hears that node as active:
evidence the pair serves even when netmon cannot reach that node.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any, ClassVar

from netmon.kinds.base import ParamProblem
from netmon.kinds.evidence import MAX_IDENTITY, bounded
from netmon.model import MemberView, Missing, Probe, Role, Value, ssh_probe

MAX_XML = 4_000_000  # bytes; a cluster status larger than this is not crm_mon's


@dataclass(frozen=True)
class PacemakerParams:
    __pydantic_config__: ClassVar[dict[str, Any]] = {"extra": "forbid"}
    resource: str  # a group id (or a single resource id) that must run on exactly one node
    node: str  # this member's node name in the cluster
    command: str = "crm_mon --one-shot --output-as=xml"


def _true(element: ET.Element, attribute: str) -> bool:
    return element.get(attribute, "false").lower() == "true"


def _runs_on(resource: ET.Element) -> set[str]:
    return {n.get("name", "") for n in resource.iter("node")} - {""}


def _heard(root: ET.Element, node: str, members: list[ET.Element]) -> str | None:
    """The one other node this view shows running the whole group, online; else None."""
    quorum = next(root.iter("current_dc"), None)
    if quorum is not None and (
        quorum.get("present", "true").lower() == "false"
        or quorum.get("with_quorum", "false").lower() != "true"
    ):
        # A partition without quorum, or no DC at all (crm_mon then writes present="false" and
        # no with_quorum): its picture of the other nodes is not news.
        return None
    if not members or not all(_true(r, "active") for r in members):
        return None
    hosts = set.intersection(*(_runs_on(r) for r in members))
    if len(hosts) != 1 or node in hosts:
        return None
    (host,) = hosts
    seen = next((n for n in root.iter("node") if n.get("name") == host and n.get("online")), None)
    if seen is None or not _true(seen, "online") or _true(seen, "unclean"):
        return None
    return f"node {bounded(host)}"


class PacemakerKind:
    name = "pacemaker"
    mib = "SSH: `crm_mon --one-shot --output-as=xml` (nodes, and where the resource group runs)"
    transport = "ssh"
    params_type = PacemakerParams

    def check(self, params: PacemakerParams) -> list[ParamProblem]:
        problems: list[ParamProblem] = []
        if not params.resource.strip():
            problems.append(("resource", "must name the resource group"))
        if not params.node.strip():
            problems.append(("node", "must name this member's cluster node"))
        return problems

    def probes(self, params: PacemakerParams) -> tuple[Probe, ...]:
        return (ssh_probe("crm_mon", params.command),)

    def interpret(self, params: PacemakerParams, values: Mapping[str, Value]) -> MemberView:
        output = values.get("crm_mon")
        if not isinstance(output, str):
            shown = output.value if isinstance(output, Missing) else "no output"
            return MemberView(Role.UNKNOWN, reason=f"crm_mon: {shown}")
        if len(output) > MAX_XML:
            return MemberView(Role.UNKNOWN, reason="crm_mon: output too large")
        start = output.find("<")
        try:
            root = ET.fromstring(output[start:] if start >= 0 else output)  # noqa: S314
        except ET.ParseError:
            return MemberView(Role.UNKNOWN, reason="crm_mon: not XML")
        node = next(
            (
                n
                for n in root.iter("node")
                if n.get("name") == params.node and n.get("online") is not None
            ),
            None,
        )
        if node is None:
            return MemberView(
                Role.UNKNOWN, reason=f"node {params.node!r} not in the cluster status", missing=True
            )
        target = next(
            (
                e
                for e in root.iter()
                if e.tag in ("group", "resource", "clone", "bundle")
                and e.get("id") == params.resource
            ),
            None,
        )
        if target is None:
            # Absent from a status that was read: a node or resource removed from the cluster.
            return MemberView(
                Role.UNKNOWN,
                reason=f"resource {params.resource!r} not in the cluster status",
                missing=True,
            )
        promotable = target.tag == "clone" and _true(target, "multi_state")
        if _true(node, "online") and (target.tag == "bundle" or promotable):
            # A promotable clone runs on both nodes (its Promoted role is the active one) and a
            # bundle's resources run on guest nodes: read as "started here" both would be
            # active on every node, a split brain that is not there. Not guessed: said (an
            # offline node is still a fault, below).
            what = "bundle" if target.tag == "bundle" else "promotable clone"
            return MemberView(
                Role.UNKNOWN,
                reason=f"resource {params.resource!r} is a {what}: name the group or primitive"
                " that moves between the nodes",
            )
        members = [target] if target.tag == "resource" else list(target.iter("resource"))
        here = [
            r
            for r in members
            if _true(r, "active") and any(n.get("name") == params.node for n in r.iter("node"))
        ]
        view = self._view(
            node,
            members,
            here,
            raw=f"{len(here)}/{len(members)} of {params.resource} on {params.node}",
        )
        # The node names the cluster reports: what an operator writes as `node`.
        names = sorted({n.get("name", "") for n in root.iter("node") if n.get("online")} - {""})
        identity = f"{params.resource} on nodes {', '.join(names)}"
        view = replace(view, identity=bounded(identity, MAX_IDENTITY))
        if view.role in (Role.STANDBY, Role.FAULT):
            return replace(view, peer_active=_heard(root, params.node, members))
        return view

    @staticmethod
    def _view(
        node: ET.Element, members: list[ET.Element], here: list[ET.Element], raw: str
    ) -> MemberView:
        failed = [r.get("id", "?") for r in members if _true(r, "failed")]
        if not _true(node, "online"):
            return MemberView(Role.FAULT, reason="node offline", raw=raw)
        if here and len(here) == len(members):
            return MemberView(Role.ACTIVE, raw=raw)
        if here:
            return MemberView(
                Role.ACTIVE,
                reason=f"only {len(here)} of {len(members)} resources started",
                raw=raw,
                ready=False,
            )
        if _true(node, "standby") or _true(node, "maintenance"):
            return MemberView(
                Role.STANDBY,
                reason="node in standby/maintenance: would not take over",
                raw=raw,
                ready=False,
            )
        if failed:
            return MemberView(
                Role.STANDBY, reason=f"failed resources: {', '.join(failed)}", raw=raw, ready=False
            )
        return MemberView(Role.STANDBY, raw=raw)
