"""Read a finished `mutmut run` and hold it to docs/mutation.md (`make mutate` calls this).

Every mutant that survives must be explained in docs/mutation-survivors/*.yaml: the module, the
function and the changed lines, with the reason no test can or should kill it. An unexplained
survivor fails `make mutate`; so does a mutant mutmut could not judge (timeout, no tests,
suspicious). Entries are matched on the change itself, not on mutmut's numbering, which
shifts whenever a function is edited.

    python -m tests.mutation_report            # check, print the score table
    python -m tests.mutation_report --write    # also rewrite the score table in docs/mutation.md
"""

from __future__ import annotations

import argparse
import ast
import difflib
import json
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from ruamel.yaml import YAML

REPO = Path(__file__).resolve().parent.parent
MUTANTS = REPO / "mutants"
SURVIVORS = REPO / "docs" / "mutation-survivors"
DOC = REPO / "docs" / "mutation.md"
BEGIN, END = "<!-- score:begin -->", "<!-- score:end -->"
# The three parts the score is reported for (docs/mutation.md).
PARTS = {
    "netmon/evaluate.py": "netmon/evaluate.py",
    "netmon/kinds/": "netmon/kinds/",
    "netmon/collectors/snmpwire.py": "netmon/collectors/snmpwire.py",
}
# mutmut's exit codes (mutmut/stats.py, 3.8.1): 1 and 3 killed by a test, 37 caught by mypy
# (the mutant does not type-check), 36/24/-24/152 timeout (the mutant hung the tests: detected),
# 0 survived, 5 and 33 no test ran it (it lives like a survivor and is explained like one).
STATUS = {1: "killed", 3: "killed", 37: "mypy", 36: "timeout", 24: "timeout", -24: "timeout",
          152: "timeout", 0: "survived", 5: "survived", 33: "survived"}  # fmt: skip
DETECTED = ("killed", "mypy", "timeout")


@dataclass(frozen=True)
class Mutant:
    module: str  # path of the source file, e.g. netmon/evaluate.py
    key: str  # mutmut's name, e.g. netmon.evaluate.x_stale__mutmut_2
    function: str  # e.g. stale, or Class.method
    removed: tuple[str, ...]
    added: tuple[str, ...]

    def change(self) -> str:
        return "\n".join(
            [*(f"- {line}" for line in self.removed), *(f"+ {line}" for line in self.added)]
        )


def _function_name(mangled: str) -> str:
    """x_stale -> stale; xǁClassǁmethod -> Class.method"""
    if mangled.startswith("x_"):
        return mangled[2:]
    _, cls, method = mangled.split("ǁ")
    return f"{cls}.{method}"


def _defs(tree: ast.Module) -> dict[str, ast.FunctionDef | ast.AsyncFunctionDef]:
    found: dict[str, ast.FunctionDef | ast.AsyncFunctionDef] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            found[node.name] = node
    return found


def _body_lines(source: str, node: ast.FunctionDef | ast.AsyncFunctionDef) -> list[str]:
    # The body only: the def line differs in name between the original and its mutants.
    segment = ast.get_source_segment(source, node) or ""
    return [line.strip() for line in segment.splitlines()[1:] if line.strip()]


def load() -> tuple[list[Mutant], Counter[tuple[str, str]], list[str]]:
    """(survivors, count by (part, status), keys mutmut could not judge)"""
    survivors: list[Mutant] = []
    counts: Counter[tuple[str, str]] = Counter()
    unjudged: list[str] = []
    metas = sorted(MUTANTS.glob("netmon/**/*.py.meta"))
    if not metas:
        sys.exit(f"no mutmut results under {MUTANTS}: run `make mutate`")
    for meta in metas:
        module = str(meta.relative_to(MUTANTS)).removesuffix(".meta")
        part = next((p for p in PARTS if module.startswith(p)), None)
        if part is None:
            continue
        codes: dict[str, int | None] = json.loads(meta.read_text())["exit_code_by_key"]
        source = (MUTANTS / module).read_text()
        defs = _defs(ast.parse(source))
        for key, code in codes.items():
            status = STATUS.get(code) if code is not None else None
            if status is None:  # not checked, interrupted, skipped, suspicious
                counts[(part, "unjudged")] += 1
                unjudged.append(f"{key} (exit {code})")
                continue
            counts[(part, status)] += 1
            if status != "survived":
                continue
            name = key.rpartition(".")[2]
            mangled = name.rpartition("__mutmut_")[0]
            orig, mutant = defs[f"{mangled}__mutmut_orig"], defs[name]
            a, b = _body_lines(source, orig), _body_lines(source, mutant)
            removed, added = [], []
            for op in difflib.ndiff(a, b):
                if op.startswith("- "):
                    removed.append(op[2:])
                elif op.startswith("+ "):
                    added.append(op[2:])
            survivors.append(
                Mutant(module, key, _function_name(mangled), tuple(removed), tuple(added))
            )
    return survivors, counts, unjudged


def explained() -> dict[tuple[str, str, str], str]:
    table: dict[tuple[str, str, str], str] = {}
    for path in sorted(SURVIVORS.glob("*.yaml")):
        for entry in YAML(typ="safe").load(path.read_text()) or []:
            why = str(entry.get("why") or "").strip()
            if not why:
                sys.exit(f"{path}: entry for {entry.get('function')} has no `why`")
            # One `why` may cover several changes of a function (`changes:`, a list).
            changes = entry.get("changes") or [entry.get("change")]
            for change in changes:
                if not change:
                    sys.exit(f"{path}: entry for {entry.get('function')} has no `change`")
                table[(entry["module"], entry["function"], str(change).strip())] = why
    return table


def score_table(counts: Counter[tuple[str, str]]) -> str:
    rows = [
        "| part | mutants | killed by a test | caught by mypy | hung the tests | survived"
        " (each explained) | score |",
        "|---|--:|--:|--:|--:|--:|--:|",
    ]
    for part in PARTS:
        got = {status: counts[(part, status)] for status in (*DETECTED, "survived", "unjudged")}
        total = sum(got.values())
        detected = sum(got[s] for s in DETECTED)
        score = f"{100 * detected / total:.1f} %" if total else "-"
        rows.append(
            f"| `{part}` | {total} | {got['killed']} | {got['mypy']} | {got['timeout']}"
            f" | {got['survived']} | {score} |"
        )
    return "\n".join(rows)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--write", action="store_true", help="rewrite the score in docs/mutation.md"
    )
    parser.add_argument(
        "--list", action="store_true", help="print every unexplained survivor as YAML"
    )
    args = parser.parse_args()

    survivors, counts, unjudged = load()
    known = explained()
    unexplained = [m for m in survivors if (m.module, m.function, m.change()) not in known]
    seen = {(m.module, m.function, m.change()) for m in survivors}
    stale = [k for k in known if k not in seen]

    table = score_table(counts)
    print(table)
    if args.write:
        text = DOC.read_text()
        head, _, rest = text.partition(BEGIN)
        _, _, tail = rest.partition(END)
        DOC.write_text(f"{head}{BEGIN}\n{table}\n{END}{tail}")
    for module, function, change in stale:
        # Not a failure: a test added since killed it. The entry should go.
        print(f"note: explained mutant no longer survives: {module} {function}\n{change}")
    if args.list:
        for m in unexplained:
            block = "\n".join(f"    {line}" for line in m.change().splitlines())
            print(
                f"- module: {m.module}\n  function: {m.function}\n  # {m.key}\n  change: |\n{block}\n  why: "
            )
    failed = False
    if unjudged:
        failed = True
        print(f"{len(unjudged)} mutants mutmut could not judge:", *unjudged, sep="\n  ")
    if unexplained:
        failed = True
        print(
            f"{len(unexplained)} surviving mutants not explained in {SURVIVORS.relative_to(REPO)}/:"
        )
        for m in unexplained:
            print(
                f"  {m.key}  ({m.module} {m.function})\n    " + m.change().replace("\n", "\n    ")
            )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
