"""Read the marks that make fixtures the specification.

    # expect: MCP301       must be reported on this line
    # ok: MCP301           a tricky safe case: must not be reported
    # todo: MCP301         a known miss: not reported today
    # todo-ok: MCP301      a known false alarm: reported today

Several codes may follow one mark, separated by commas.

A format without comments (JSON), or where a trailing comment would change the
meaning (a Dockerfile instruction), keeps its marks in a sidecar file named
`<file>.marks`, one per line: `12: expect: MCP506`.
"""

from __future__ import annotations

import re
from pathlib import Path

MARK_RE = re.compile(r"#\s*(expect|ok|todo|todo-ok)\s*:\s*(MCP\d{3}(?:\s*,\s*MCP\d{3})*)")
KINDS = ("expect", "ok", "todo", "todo-ok")


SIDECAR_RE = re.compile(r"^\s*(\d+)\s*:\s*(.*)$")


def sidecar(path: Path) -> Path:
    return path.with_name(path.name + ".marks")


def read_marks(path: Path) -> dict[str, set[tuple[int, str]]]:
    marks: dict[str, set[tuple[int, str]]] = {kind: set() for kind in KINDS}

    def add(number: int, line: str) -> None:
        for kind, codes in MARK_RE.findall(line):
            for code in re.split(r"\s*,\s*", codes):
                marks[kind].add((number, code))

    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        add(number, line)
    if sidecar(path).exists():
        for line in sidecar(path).read_text(encoding="utf-8").splitlines():
            match = SIDECAR_RE.match(line)
            if match:
                add(int(match.group(1)), "# " + match.group(2))
    return marks
