"""Error rates of monitored links from IF-MIB counters, and what the probes say. Pure.

A link that is up can still drop most of what crosses it (Korea, November 2023: a router port
lost ~90% of 1,500-byte packets with its link up). Counters give error and discard rates per
packet; probes with small and large don't-fragment packets catch loss that no counter shows.

Counter32 values wrap at 2^32 and restart at 0 when the agent restarts; a rate is only computed
between two readings of the same agent run (sysUpTime did not go back) and a wrap is unwrapped
once. Anything else (a reset, a jump larger than half the counter) yields no rate: no false alarm.
"""

from __future__ import annotations

from dataclasses import replace

from netmon.links import TIME_TICKS, in_range
from netmon.model import InterfaceReading, LinkThresholds, MemberObservation, ProbeResult

WRAP = 2**32


def delta(previous: int | None, current: int | None) -> int | None:
    if previous is None or current is None:
        return None
    if current >= previous:
        return current - previous
    unwrapped = current + WRAP - previous
    return unwrapped if unwrapped < WRAP // 2 else None  # a reset, not a wrap


def _ratio(bad: int | None, packets: int | None, minimum: int) -> float | None:
    if bad is None or packets is None:
        return None
    total = bad + packets
    return bad / total if total >= minimum else None


def with_rates(
    current: MemberObservation, previous: MemberObservation | None, thresholds: LinkThresholds
) -> MemberObservation:
    """The observation with each link's error ratios filled from the previous observation."""
    if current.uptime is not None and in_range(current.uptime, TIME_TICKS) is None:
        # Not a TimeTicks: no rate can be trusted against it, and each link says why.
        problem = "sysUpTime: value out of range"
        return replace(
            current, uptime=None, links=tuple(_with(link, problem) for link in current.links)
        )
    if previous is None or not current.links or not previous.fresh:
        return current
    if current.uptime is None or previous.uptime is None or current.uptime < previous.uptime:
        return current  # agent restarted (or no uptime): counters restarted too
    seconds = current.at - previous.at
    if seconds <= 0:
        return current
    before = {link.if_index: link for link in previous.links}
    links = []
    for link in current.links:
        old = before.get(link.if_index)
        if old is None:
            links.append(link)
            continue
        d = {
            name: delta(getattr(old, name), getattr(link, name))
            for name in (
                "in_errors",
                "out_errors",
                "in_discards",
                "out_discards",
                "in_packets",
                "out_packets",
            )
        }
        in_bad = _sum(d["in_errors"], d["in_discards"])
        out_bad = _sum(d["out_errors"], d["out_discards"])
        errors = _sum(in_bad, out_bad)
        links.append(
            replace(
                link,
                in_error_ratio=_ratio(in_bad, d["in_packets"], thresholds.min_packets),
                out_error_ratio=_ratio(out_bad, d["out_packets"], thresholds.min_packets),
                errors_per_second=None if errors is None else errors / seconds,
            )
        )
    return replace(current, links=tuple(links))


def _with(link: InterfaceReading, problem: str) -> InterfaceReading:
    return replace(link, problems=(*link.problems, problem))


def _sum(a: int | None, b: int | None) -> int | None:
    if a is None and b is None:
        return None
    return (a or 0) + (b or 0)


def link_problems(link: InterfaceReading, thresholds: LinkThresholds) -> list[str]:
    problems: list[str] = []
    if link.problems:  # values refused at read: the link cannot be judged
        problems.extend(f"link {link.name} {problem}" for problem in link.problems)
    for direction, ratio in (("in", link.in_error_ratio), ("out", link.out_error_ratio)):
        if ratio is not None and ratio > thresholds.error_ratio:
            problems.append(
                f"link {link.name} lossy: {ratio:.1%} of packets {direction} are errors or discards "
                f"(threshold {thresholds.error_ratio:.1%})"
            )
    no_ratio = link.in_error_ratio is None and link.out_error_ratio is None
    if (
        no_ratio
        and link.errors_per_second is not None
        and link.errors_per_second > thresholds.errors_per_second
    ):
        problems.append(
            f"link {link.name} lossy: {link.errors_per_second:.1f} errors/s "
            f"(threshold {thresholds.errors_per_second:g}/s)"
        )
    return problems


def probe_problem(results: tuple[ProbeResult, ...], thresholds: LinkThresholds) -> str | None:
    """`large_packet_loss` when small probes pass and large ones are lost, for one target."""
    small = [r for r in results if r.loss is not None]
    if len(small) < 2:
        return None
    by_size = sorted(small, key=lambda r: r.size)
    little, large = by_size[0], by_size[-1]
    if little.loss is None or large.loss is None:
        return None
    if large.loss >= thresholds.large_loss and little.loss < thresholds.large_loss:
        return (
            f"large_packet_loss: {large.loss:.0%} of {large.size}-byte packets to {large.target} lost, "
            f"{little.loss:.0%} of {little.size}-byte"
        )
    return None
