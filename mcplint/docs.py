"""Generate docs/rules.md from the rules' own docstrings: `python -m mcplint.docs`."""

from __future__ import annotations

import sys
from pathlib import Path

from mcplint.finding import RuleMeta

DOCS_PATH = Path(__file__).resolve().parent.parent / "docs" / "rules.md"


def rule_markdown(meta: RuleMeta, level: int = 2) -> str:
    """A rule's docs with a metadata table, as `mcplint explain` and SARIF help show them."""
    cwe = f"[CWE-{meta.cwe}](https://cwe.mitre.org/data/definitions/{meta.cwe}.html)" if meta.cwe else "-"
    body = meta.docs.split("\n", 1)[1].strip() if "\n" in meta.docs else ""
    body = body.replace("\n## ", "\n" + "#" * (level + 1) + " ")
    if body.startswith("## "):
        body = "#" * (level + 1) + body[2:]
    return (
        f"{'#' * level} {meta.code} {meta.name}\n\n"
        f"{meta.summary}\n\n"
        f"| severity | confidence | checklist | CWE |\n|---|---|---|---|\n"
        f"| {meta.severity.value} | {meta.confidence.value} | {meta.checklist or '-'} | {cwe} |\n\n"
        f"{body}\n"
    )


def render() -> str:
    from mcplint.registry import all_meta

    metas = all_meta()
    lines = [
        "# mcplint rules",
        "",
        "Generated from the rules' docstrings by `python -m mcplint.docs`; do not edit by hand.",
        "",
        "| code | name | severity | confidence | checklist |",
        "|---|---|---|---|---|",
    ]
    for meta in metas:
        lines.append(
            f"| [{meta.code}](#{meta.code.lower()}-{meta.name}) | {meta.name} | {meta.severity.value} "
            f"| {meta.confidence.value} | {meta.checklist or '-'} |"
        )
    lines.append("")
    return "\n".join(lines) + "\n" + "\n".join(rule_markdown(meta) for meta in metas)


def main() -> int:
    text = render()
    if "--check" in sys.argv:
        current = DOCS_PATH.read_text(encoding="utf-8") if DOCS_PATH.exists() else ""
        if current != text:
            print(f"{DOCS_PATH} is out of date: run `python -m mcplint.docs`", file=sys.stderr)
            return 1
        return 0
    DOCS_PATH.parent.mkdir(parents=True, exist_ok=True)
    DOCS_PATH.write_text(text, encoding="utf-8")
    print(f"wrote {DOCS_PATH}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
