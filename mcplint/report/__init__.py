"""Reporters: one module per output format, each `render(result, *, root) -> str`."""

from __future__ import annotations

from mcplint.report import github, json_report, sarif

FORMATS = {
    "json": json_report.render,
    "sarif": sarif.render,
    "github": github.render,
}

__all__ = ["FORMATS", "github", "json_report", "sarif"]
