from mcplint import docs


def test_rules_page_is_generated_from_the_rules() -> None:
    assert docs.DOCS_PATH.exists(), "run `python -m mcplint.docs`"
    assert docs.DOCS_PATH.read_text(encoding="utf-8") == docs.render(), "docs/rules.md is stale: run `python -m mcplint.docs`"
