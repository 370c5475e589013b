"""YAML with positions: load a document with ruamel's round-trip loader so every problem found
later can name the line it came from, and hand plain Python values to validation."""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import MarkedYAMLError, YAMLError

from netmon.errors import ConfigError, ConfigProblem

PathPart = str | int


class Document:
    """A parsed YAML file: `data` as plain Python, `line(path)` for any path into it."""

    def __init__(self, file: str, root: Any) -> None:
        self.file = file
        self._root = root
        self.data: Any = plain(root)

    def line(self, path: Sequence[PathPart]) -> int:
        """1-based line of the deepest node on `path` that exists (the key's line for mappings).
        A document with no position of its own (empty, or one bare scalar) is at line 1: every
        problem names a line an editor can jump to."""
        node = self._root
        line = _own_line(node) or 1
        for part in path:
            if isinstance(node, CommentedMap) and part in node:
                # keys added programmatically have no position
                with contextlib.suppress(KeyError, TypeError):
                    line = node.lc.key(part)[0] + 1
                node = node[part]
            elif isinstance(node, CommentedSeq) and isinstance(part, int) and 0 <= part < len(node):
                with contextlib.suppress(KeyError, TypeError):
                    line = node.lc.item(part)[0] + 1
                node = node[part]
            else:
                break
        return line

    def problem(self, path: Sequence[PathPart], message: str) -> ConfigProblem:
        return ConfigProblem(self.file, self.line(path), dotted(path), message)


def _own_line(node: Any) -> int | None:
    lc = getattr(node, "lc", None)
    if lc is None or lc.line is None:
        return None
    return int(lc.line) + 1


def dotted(path: Sequence[PathPart]) -> str:
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + part
    return out


def plain(node: Any) -> Any:
    """ruamel's Commented*/Scalar* types -> dict/list/str/int/float/bool/None."""
    if isinstance(node, dict):
        return {plain(k): plain(v) for k, v in node.items()}
    if isinstance(node, list):
        return [plain(v) for v in node]
    if isinstance(node, bool) or node is None:
        return node
    if isinstance(node, int):
        return int(node)
    if isinstance(node, float):
        return float(node)
    if isinstance(node, str):
        return str(node)
    return str(node)  # dates and other YAML scalars: let validation complain about the type


def load_document(path: Path) -> Document:
    file = str(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise ConfigError([ConfigProblem(file, None, "", "file not found")]) from None
    except OSError as exc:  # no line: the file itself could not be read
        raise ConfigError([ConfigProblem(file, None, "", f"cannot read: {exc}")]) from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise ConfigError(
            [
                ConfigProblem(
                    file, line, "", f"not UTF-8: byte {raw[exc.start]:#04x} at offset {exc.start}"
                )
            ]
        ) from None
    yaml = YAML(typ="rt", pure=True)
    yaml.allow_duplicate_keys = False
    try:
        root = yaml.load(text)
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        at = int(mark.line) + 1 if mark is not None else 1
        what = " ".join(str(p) for p in (exc.context, exc.problem) if p)
        raise ConfigError([ConfigProblem(file, at, "", f"invalid YAML: {what}")]) from None
    except YAMLError as exc:
        # A reader error (a control character, say) carries a character position, not a mark.
        position = getattr(exc, "position", None)
        line = text[:position].count("\n") + 1 if isinstance(position, int) else 1
        raise ConfigError([ConfigProblem(file, line, "", f"invalid YAML: {exc}")]) from None
    if root is None:
        root = CommentedMap()
    return Document(file, root)
