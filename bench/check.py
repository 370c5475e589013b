"""A bench run's ratios against the figures documented in docs/performance.md.

    python -m bench.check bench/results-quick.json      # run by `make bench` (`make bench-check`)

The doc's table after the `<!-- bench-check -->` marker is the record: one row per netmon figure
(`peer` as bench.run names it, `pairs`, `netmon / walk`, `netmon / get`, `v3 / v2c`), and the
doc states the tolerance as "tolerance: ±N%". A `v3 / v2c` cell is a dash on a v2c row (there is
no such ratio). Every netmon row of the run must carry its ratios (walk and get; a v3 row also
v2c: its CPU over its v2c twin's), have a documented row with those figures, and be within the
tolerance of each (relative to the documented figure); otherwise this exits 1. Ratios, not CPU
seconds: both peers are measured in the same run on the same machine, so the machine's speed,
which varies, cancels out.
"""

from __future__ import annotations

import argparse
import json
import math
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
DOC = REPO / "docs" / "performance.md"
MARKER = "<!-- bench-check -->"
COLUMNS = {"walk": "netmon / walk", "get": "netmon / get", "v2c": "v3 / v2c"}
# Ratios every netmon row has; a v3 row (`"snmp": "v3"` in the results) also has `v2c`.
ALWAYS = ("walk", "get")
NO_FIGURE = {"", "-", "\u2013", "\u2014"}  # a dash: hyphen, en or em dash
TOLERANCE = re.compile(r"tolerance:\s*\**\s*±\s*(\d+(?:\.\d+)?)\s*%")


class DocError(ValueError):
    """docs/performance.md has no table or tolerance this check can read."""


@dataclass(frozen=True)
class Documented:
    tolerance: float  # relative: 0.3 is ±30% of the documented ratio
    # (peer, pairs) -> {"walk": r, "get": r} and, on a v3 row, "v2c": r
    ratios: dict[tuple[str, int], dict[str, float]]


def _cells(line: str) -> list[str]:
    return [c.strip().strip("*`").strip() for c in line.strip().strip("|").split("|")]


def parse_doc(text: str) -> Documented:
    found = TOLERANCE.search(text)
    if found is None:
        raise DocError("no 'tolerance: ±N%' in the doc")
    if MARKER not in text:
        raise DocError(f"no {MARKER} marker before the table of figures")
    lines = text.split(MARKER, 1)[1].strip().splitlines()
    table = []
    for line in lines:
        if not line.startswith("|"):
            break
        table.append(line)
    if len(table) < 3:
        raise DocError(f"no table with rows after {MARKER}")
    header = _cells(table[0])
    try:
        col = {name: header.index(name) for name in ("peer", "pairs", *COLUMNS.values())}
    except ValueError as e:
        raise DocError(f"table header {header}: {e}") from None
    ratios: dict[tuple[str, int], dict[str, float]] = {}
    for line in table[2:]:
        cells = _cells(line)
        try:
            key = (cells[col["peer"]], int(cells[col["pairs"]].replace(",", "")))
            figures = {m: cells[col[name]] for m, name in COLUMNS.items()}
            ratios[key] = {m: float(v) for m, v in figures.items() if v not in NO_FIGURE}
        except (IndexError, ValueError) as e:
            raise DocError(f"row {line!r}: {e}") from None
        missing = [COLUMNS[m] for m in ALWAYS if m not in ratios[key]]
        if missing:
            raise DocError(f"row {line!r}: no figure under {', '.join(missing)}")
    return Documented(float(found.group(1)) / 100, ratios)


def check(results: list[dict[str, Any]], doc: Documented) -> tuple[list[str], list[str]]:
    """(lines to print, problems): one line per compared ratio; a problem per figure that is
    missing, not a number, undocumented or outside the tolerance."""
    lines, problems = [], []
    rows = [r for r in results if str(r.get("peer", "")).startswith("netmon")]
    if not rows:
        problems.append("no netmon row in the results")
    for row in rows:
        name = f"{row['peer']} at {row['pairs']} pairs"
        documented = doc.ratios.get((row["peer"], row["pairs"]))
        if documented is None:
            problems.append(f"{name}: no documented figure in docs/performance.md")
        wanted = {*ALWAYS, *(documented or {})}
        if row.get("snmp", "v2c") != "v2c":
            wanted.add("v2c")
        for module in (m for m in COLUMNS if m in wanted):
            fresh = row.get(f"ratio_{module}")
            if not isinstance(fresh, int | float) or not math.isfinite(fresh) or fresh <= 0:
                problems.append(f"{name}: ratio vs {module} is {fresh!r}, not a positive number")
                continue
            if documented is None:
                continue
            if module not in documented:
                problems.append(
                    f"{name}: no documented {COLUMNS[module]!r} figure in docs/performance.md"
                )
                continue
            want = documented[module]
            drift = fresh / want - 1
            ok = abs(drift) <= doc.tolerance
            lines.append(
                f"  {name:45} vs {module:4}: {fresh:5.2f}, documented {want:5.2f}"
                f" ({drift:+.0%}){'' if ok else '  <- outside the tolerance'}"
            )
            if not ok:
                problems.append(
                    f"{name}: ratio vs {module} {fresh:.2f} is {drift:+.0%} from the documented"
                    f" {want:.2f} (tolerance ±{doc.tolerance:.0%})"
                )
    return lines, problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.check")
    parser.add_argument("results", type=Path, help="a results file written by bench.run")
    parser.add_argument("--doc", type=Path, default=DOC)
    args = parser.parse_args(argv)
    try:
        doc = parse_doc(args.doc.read_text())
    except DocError as e:
        print(f"bench-check: {args.doc}: {e}", file=sys.stderr)
        return 1
    results = json.loads(args.results.read_text())["results"]
    lines, problems = check(results, doc)
    print(f"bench-check: {args.results} against {args.doc} (tolerance ±{doc.tolerance:.0%})")
    print("\n".join(lines))
    for problem in problems:
        print(f"bench-check: {problem}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
