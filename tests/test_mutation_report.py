"""The mutation report decides whether `make mutate` passes: held here on a small mutmut tree of
its own (the layout mutmut 3.8.1 writes), so a survivor cannot slip through unexplained."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from tests import mutation_report

# What mutmut writes for a module: the original under `x_<name>__mutmut_orig`, each mutant
# beside it, and a .meta file with each mutant's exit code.
SOURCE = """
def x_stale__mutmut_orig(age: float, limit: float) -> bool:
    return age > limit


def x_stale__mutmut_1(age: float, limit: float) -> bool:
    return age >= limit


def x_stale__mutmut_2(age: float, limit: float) -> bool:
    return age < limit


def x_stale__mutmut_3(age: float, limit: float) -> bool:
    return None


def x_stale__mutmut_4(age: float, limit: float) -> bool:
    while True:
        pass
"""
EXPLAINED = """
- module: netmon/evaluate.py
  function: stale
  changes:
    - |
      - return age > limit
      + return age >= limit
  why: equivalent for the ages netmon compares (whole seconds past the limit)
"""


@pytest.fixture
def tree(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    mutants = tmp_path / "mutants"
    (mutants / "netmon").mkdir(parents=True)
    (mutants / "netmon" / "evaluate.py").write_text(SOURCE)
    codes = {
        "netmon.evaluate.x_stale__mutmut_1": 0,  # survived: explained below
        "netmon.evaluate.x_stale__mutmut_2": 1,  # killed
        "netmon.evaluate.x_stale__mutmut_3": 37,  # caught by mypy
        "netmon.evaluate.x_stale__mutmut_4": 36,  # hung the tests
    }
    (mutants / "netmon" / "evaluate.py.meta").write_text(json.dumps({"exit_code_by_key": codes}))
    survivors = tmp_path / "survivors"
    survivors.mkdir()
    (survivors / "evaluate.yaml").write_text(EXPLAINED)
    doc = tmp_path / "mutation.md"
    doc.write_text("# Mutation\n\n<!-- score:begin -->\nold\n<!-- score:end -->\n\nafter\n")
    monkeypatch.setattr(mutation_report, "MUTANTS", mutants)
    monkeypatch.setattr(mutation_report, "SURVIVORS", survivors)
    monkeypatch.setattr(mutation_report, "DOC", doc)
    monkeypatch.setattr(mutation_report, "REPO", tmp_path)
    return tmp_path


def run(*args: str, monkeypatch: pytest.MonkeyPatch) -> int:
    monkeypatch.setattr(sys, "argv", ["mutation_report", *args])
    return mutation_report.main()


def set_code(tree: Path, key: str, code: int | None) -> None:
    meta = tree / "mutants" / "netmon" / "evaluate.py.meta"
    data = json.loads(meta.read_text())
    data["exit_code_by_key"][key] = code
    meta.write_text(json.dumps(data))


def test_every_survivor_explained_passes_and_the_score_is_written(
    tree: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run("--write", monkeypatch=monkeypatch) == 0
    # 4 mutants: killed, mypy, timeout detected (3 of 4), one survivor explained.
    row = "| `netmon/evaluate.py` | 4 | 1 | 1 | 1 | 1 | 75.0 % |"
    assert row in capsys.readouterr().out
    doc = (tree / "mutation.md").read_text()
    assert row in doc and "old" not in doc and doc.endswith("after\n")


def test_an_unexplained_survivor_fails_and_is_named(
    tree: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    set_code(tree, "netmon.evaluate.x_stale__mutmut_2", 0)  # age < limit now lives
    assert run(monkeypatch=monkeypatch) == 1
    out = capsys.readouterr().out
    assert "1 surviving mutants not explained" in out
    assert "netmon.evaluate.x_stale__mutmut_2" in out
    assert "- return age > limit\n    + return age < limit" in out


@pytest.mark.parametrize("code", [5, 33])
def test_a_mutant_no_test_ran_counts_as_a_survivor(
    tree: Path, monkeypatch: pytest.MonkeyPatch, code: int
) -> None:
    set_code(tree, "netmon.evaluate.x_stale__mutmut_3", code)  # return None, never tested
    assert run(monkeypatch=monkeypatch) == 1


@pytest.mark.parametrize("code", [None, 2, 34, 35, 99])
def test_a_mutant_mutmut_could_not_judge_fails(
    tree: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
    code: int | None,
) -> None:  # fmt: skip
    set_code(tree, "netmon.evaluate.x_stale__mutmut_2", code)
    assert run(monkeypatch=monkeypatch) == 1
    assert "mutants mutmut could not judge" in capsys.readouterr().out


def test_an_explanation_of_another_change_does_not_cover_a_survivor(
    tree: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tree / "survivors" / "evaluate.yaml").write_text(EXPLAINED.replace(">= limit", "!= limit"))
    assert run(monkeypatch=monkeypatch) == 1


def test_an_explanation_without_a_reason_is_refused(
    tree: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tree / "survivors" / "evaluate.yaml").write_text(EXPLAINED.split("  why:", maxsplit=1)[0])
    with pytest.raises(SystemExit, match="has no `why`"):
        run(monkeypatch=monkeypatch)


def test_no_mutmut_run_is_an_error(tree: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for meta in (tree / "mutants").rglob("*.meta"):
        meta.unlink()
    with pytest.raises(SystemExit, match="no mutmut results"):
        run(monkeypatch=monkeypatch)
