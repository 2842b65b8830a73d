"""A rule's docs are executable: `## Example` must fire, `## Use instead` must not."""

from __future__ import annotations

import pytest

from mcplint.config import Config
from mcplint.engine import analyse_source, select_rules
from mcplint.registry import all_rules
from mcplint.rule import code_blocks, doc_sections

RULES = all_rules()


def _codes(source: str) -> set[str]:
    result = analyse_source("example.py", source.encode("utf-8"), select_rules(Config()))
    return {f.code for f in result.findings if not f.suppressed}


@pytest.mark.parametrize("rule", RULES, ids=lambda r: r.code)
def test_example_fires(rule) -> None:
    blocks = code_blocks(doc_sections(rule.meta.docs)["Example"])
    assert blocks
    for block in blocks:
        assert rule.code in _codes(block), f"{rule.code}: its Example does not fire:\n{block}"


@pytest.mark.parametrize("rule", RULES, ids=lambda r: r.code)
def test_use_instead_is_silent(rule) -> None:
    for block in code_blocks(doc_sections(rule.meta.docs)["Use instead"]):
        assert rule.code not in _codes(block), f"{rule.code}: its Use instead fires:\n{block}"


@pytest.mark.parametrize("rule", RULES, ids=lambda r: r.code)
def test_metadata_is_complete(rule) -> None:
    meta = rule.meta
    assert meta.summary and meta.why and meta.fix
    assert len(meta.summary) <= 1024
    if rule.scope != "engine":
        assert meta.cwe is not None, f"{rule.code} has no CWE"
