"""libcst's parser, without re-checking what it built.

Every libcst node validates its fields when it is constructed (`__post_init__`), so
that trees built by hand are well formed. A tree straight from libcst's own parser is
well formed by construction (libcst's own comment: validation "would allow us to
avoid validating the tree when parsing a file" if moved); skipping it saves about a
fifth of the parse. Nodes built afterwards (fixes) are validated as usual.
"""

from __future__ import annotations

import libcst as cst
from libcst._nodes.base import CSTNode


def _trusted(self) -> None:
    pass


def parse_module(source: bytes | str) -> cst.Module:
    validate = CSTNode.__post_init__
    CSTNode.__post_init__ = _trusted
    try:
        return cst.parse_module(source)
    finally:
        CSTNode.__post_init__ = validate
