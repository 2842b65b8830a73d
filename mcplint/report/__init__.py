"""Reporters: one module per output format, each `render(result, *, root) -> str`.

Imported on demand: the SARIF object model alone costs a pre-commit run 70 ms.
"""

from __future__ import annotations

import importlib
import re
from typing import Callable

_SURROGATE = re.compile("[\ud800-\udfff]")
# Diagnostics saying a file was not analysed at all: notifications or scan messages in
# the formats that have them, not results.
NOT_ANALYSED = frozenset({"MCP001", "MCP002"})


def clean(text: str) -> str:
    """Replace lone surrogates (undecodable file-name bytes) so the text encodes as UTF-8."""
    return _SURROGATE.sub("\ufffd", text)


_MODULES = {
    "json": "json_report",
    "sarif": "sarif",
    "github": "github",
    "gitlab-sast": "gitlab",
    "markdown": "markdown",
}


class _Formats(dict):
    def __missing__(self, name: str) -> Callable:
        module = importlib.import_module(f"mcplint.report.{_MODULES[name]}")
        self[name] = module.render
        return module.render

    def __contains__(self, name: object) -> bool:
        return name in _MODULES

    def __iter__(self):
        return iter(_MODULES)

    def __len__(self) -> int:
        return len(_MODULES)


FORMATS: dict[str, Callable] = _Formats()

__all__ = ["FORMATS", "NOT_ANALYSED", "clean"]
