"""Read the marks that make fixtures the specification.

    # expect: MCP301       must be reported on this line
    # ok: MCP301           a tricky safe case: must not be reported
    # todo: MCP301         a known miss: not reported today
    # todo-ok: MCP301      a known false alarm: reported today

Several codes may follow one mark, separated by commas.
"""

from __future__ import annotations

import re
from pathlib import Path

MARK_RE = re.compile(r"#\s*(expect|ok|todo|todo-ok)\s*:\s*(MCP\d{3}(?:\s*,\s*MCP\d{3})*)")
KINDS = ("expect", "ok", "todo", "todo-ok")


def read_marks(path: Path) -> dict[str, set[tuple[int, str]]]:
    marks: dict[str, set[tuple[int, str]]] = {kind: set() for kind in KINDS}
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        for kind, codes in MARK_RE.findall(line):
            for code in re.split(r"\s*,\s*", codes):
                marks[kind].add((number, code))
    return marks
