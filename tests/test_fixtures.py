"""Every rule over every fixture: findings must equal the fixture's marks exactly."""

from __future__ import annotations

from pathlib import Path

import pytest

from mcplint.config import Config
from mcplint.engine import scan
from tests.conftest import FIXTURES
from tests.fixture_marks import read_marks

FIXTURE_FILES = sorted(p for p in FIXTURES.rglob("*.py") if "__pycache__" not in p.parts)


def _scan_file(path: Path) -> set[tuple[int, str]]:
    result = scan([path], Config(root=FIXTURES))
    return {(f.span.line, f.code) for f in result.active}


@pytest.mark.parametrize("path", FIXTURE_FILES, ids=lambda p: p.relative_to(FIXTURES).as_posix())
def test_fixture_marks(path: Path) -> None:
    marks = read_marks(path)
    found = _scan_file(path)
    expected = marks["expect"] | marks["todo-ok"]
    missing = sorted(expected - found)
    unexpected = sorted(found - expected)
    assert not missing and not unexpected, (
        f"{path.name}: missing (line, code) {missing}; unexpected {unexpected}"
    )
    # ok/todo marks must not be reported (implied above, but say it plainly)
    assert not (marks["ok"] | marks["todo"]) & found


def test_every_rule_has_a_fixture_with_bad_and_good_cases() -> None:
    from mcplint.registry import all_rules

    seen: dict[str, dict[str, int]] = {}
    for path in FIXTURE_FILES:
        for kind, items in read_marks(path).items():
            for _, code in items:
                seen.setdefault(code, {}).setdefault(kind, 0)
                seen[code][kind] += 1
    for rule in all_rules():
        if rule.scope == "engine":
            continue
        counts = seen.get(rule.code, {})
        assert counts.get("expect", 0) >= 3, f"{rule.code} needs >= 3 `# expect:` cases"
        assert counts.get("ok", 0) >= 3, f"{rule.code} needs >= 3 `# ok:` cases"


def test_marks_parser_reads_every_kind(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text("a = 1  # expect: MCP301, MCP302\nb = 2  # ok: MCP301\nc  # todo: MCP501\nd  # todo-ok: MCP601\n")
    marks = read_marks(sample)
    assert marks["expect"] == {(1, "MCP301"), (1, "MCP302")}
    assert marks["ok"] == {(2, "MCP301")}
    assert marks["todo"] == {(3, "MCP501")}
    assert marks["todo-ok"] == {(4, "MCP601")}
