"""Every rule over every fixture: findings must equal the fixture's marks exactly."""

from __future__ import annotations

import functools
from pathlib import Path

import pytest

from mcplint.config import Config
from mcplint.engine import scan
from tests.conftest import FIXTURES
from tests.fixture_marks import read_marks

def _is_fixture(path: Path) -> bool:
    """Python files, and the files a text rule reads (Dockerfile, .env, mcp.json)."""
    from mcplint.registry import all_rules

    if "__pycache__" in path.parts or not path.is_file() or path.suffix in (".marks", ".fixed"):
        return False
    display = path.relative_to(FIXTURES).as_posix()
    return path.suffix == ".py" or any(r.scope == "text" and r.wants_file(display) for r in all_rules())


FIXTURE_FILES = sorted(p for p in FIXTURES.rglob("*") if _is_fixture(p))
PROJECTS = FIXTURES / "projects"  # each folder is scanned as one project (flows cross files)


def _unit(path: Path) -> Path:
    """What is scanned to check `path`: its project folder, or the file alone."""
    if PROJECTS in path.parents:
        return PROJECTS / path.relative_to(PROJECTS).parts[0]
    return path


@functools.lru_cache(maxsize=None)
def _scan(unit: Path) -> dict[str, set[tuple[int, str]]]:
    result = scan([unit], Config(root=FIXTURES))
    found: dict[str, set[tuple[int, str]]] = {}
    for f in result.active:
        found.setdefault(f.path, set()).add((f.span.line, f.code))
    return found


@pytest.mark.parametrize("path", FIXTURE_FILES, ids=lambda p: p.relative_to(FIXTURES).as_posix())
def test_fixture_marks(path: Path) -> None:
    marks = read_marks(path)
    found = _scan(_unit(path)).get(path.relative_to(FIXTURES).as_posix(), set())
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


def test_validated_parameter_lowers_confidence_across_files() -> None:
    result = scan([PROJECTS / "notes_server"], Config(root=FIXTURES))
    by_handler = {f.handler: f for f in result.active if f.code == "MCP301" and f.path.endswith("admin.py")}
    assert by_handler["tool `purge`"].confidence.value == "high"
    assert by_handler["tool `backup`"].confidence.value == "medium"
    purge = by_handler["tool `purge`"]
    assert "via `self._exec()`" in purge.message
    assert [step.note for step in purge.trace][0] == "parameter `pattern`"
    assert purge.trace[-1].note == "reaches the sink"


def test_cross_module_trace_names_the_other_file() -> None:
    result = scan([PROJECTS / "notes_server"], Config(root=FIXTURES))
    finding = next(f for f in result.active if f.code == "MCP302")
    assert finding.path == "projects/notes_server/notes/storage.py"
    assert finding.handler == "tool `notes_by_tag`"
    assert finding.trace[0].path == "projects/notes_server/notes/server.py"
    assert finding.trace[-1].path == ""  # the finding's own file


def test_a_url_built_by_the_caller_keeps_its_shape_in_the_helper_that_requests_it() -> None:
    """The MCP quickstart's shape: each tool builds `f"{BASE}/path/{x}"` and a helper
    requests it. The helper's summary says its parameter is the whole URL; the call
    site says the tool's parameter sets only the path (medium), or the host (high)."""
    result = scan([FIXTURES / "rules" / "mcp203_tool_ssrf.py"], Config(root=FIXTURES))
    by_handler = {f.handler: f for f in result.active if f.code == "MCP203" and "make_api_request" in f.message}
    alerts, mirror = by_handler["tool `get_alerts`"], by_handler["tool `get_mirror_status`"]
    assert "parameter `state` sets the path of the URL requested by `client.get`" in alerts.message
    assert alerts.confidence.value == "medium"
    assert "parameter `mirror` sets the host of the URL" in mirror.message and mirror.confidence.value == "high"
    # the URL is the last string built: a placeholder filled in before (`f"{{{name}}}"`) is not it
    [endpoint] = [f for f in result.active if f.code == "MCP203" and f.handler == "tool `call_endpoint`"]
    assert "sets the path of" in endpoint.message and endpoint.confidence.value == "medium"
    # a helper that puts what it is given under its own fixed host reads it more narrowly
    [record] = [f for f in result.active if f.code == "MCP203" and f.handler == "tool `mirror_record`"]
    assert "sets the path of" in record.message and record.confidence.value == "medium"
    # the last string built before the request is the URL: a name built further out is a piece of it
    [manual] = [f for f in result.active if f.code == "MCP203" and f.handler == "tool `read_manual_page`"]
    assert "sets the path of" in manual.message and manual.confidence.value == "medium"


@pytest.mark.parametrize(("head", "fixed"), [
    ("https://api.example.com/v1/", True), ("https://api.example.com", False), ("https://", False),
    ("/v2/notes/", True), ("notes/", True), ("https:/", False), ("http:", False), ("notes-", False), ("", False),
    ("//", False), ("//cdn.example/", True),
])
def test_which_url_heads_fix_the_host(head: str, fixed: bool) -> None:
    """The text before the tainted value: a relative path (`notes/` + x) leaves the host to
    the client's base URL; a scheme still open (`https:/` + x), or `//` + x (a host
    still to come), leaves it to the value. MCP401 reads URL heads with it too."""
    from mcplint.rules.mcp203_tool_ssrf import fixes_host

    assert fixes_host(head) is fixed
