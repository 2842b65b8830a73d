"""A rule's docs are executable: `## Example` must fire, `## Use instead` must not."""

from __future__ import annotations

import pytest

from mcplint.config import Config
from mcplint.engine import analyse_source, select_rules
from mcplint.registry import all_rules
from mcplint.rule import code_blocks, doc_sections

RULES = all_rules()


def _codes(rule, source: str) -> set[str]:
    """Findings for a docs block: Python, or a file named as a text rule says."""
    name = rule.example_name if rule.scope == "text" else "example.py"
    result = analyse_source(name, source.encode("utf-8"), select_rules(Config()))
    return {f.code for f in result.findings if not f.suppressed}


def _blocks(rule, heading: str) -> list[str]:
    return code_blocks(doc_sections(rule.meta.docs)[heading], any_language=rule.scope == "text")


@pytest.mark.parametrize("rule", RULES, ids=lambda r: r.code)
def test_example_fires(rule) -> None:
    blocks = _blocks(rule, "Example")
    assert blocks
    for block in blocks:
        assert rule.code in _codes(rule, block), f"{rule.code}: its Example does not fire:\n{block}"


@pytest.mark.parametrize("rule", RULES, ids=lambda r: r.code)
def test_use_instead_is_silent(rule) -> None:
    for block in _blocks(rule, "Use instead"):
        assert rule.code not in _codes(rule, block), f"{rule.code}: its Use instead fires:\n{block}"


@pytest.mark.parametrize("rule", RULES, ids=lambda r: r.code)
def test_metadata_is_complete(rule) -> None:
    meta = rule.meta
    assert meta.summary and meta.why and meta.fix
    assert len(meta.summary) <= 1024
    if rule.scope != "engine":
        assert meta.cwe is not None, f"{rule.code} has no CWE"
