"""Cheap first-pass tests over a file's raw bytes.

A rule whose prefilter does not match never sees the file, and a file no rule needs
is never parsed. Python's `re` tries an alternation at every byte, so each test first
looks for literal anchors with `bytes.__contains__` (memmem speed) and runs its regex
only where one is present.
"""

from __future__ import annotations

import re


_LAST: list = [None, b""]  # the last file lowered: several prefilters read the same file in a row


def _lowered(data: bytes) -> bytes:
    if _LAST[0] is not data:
        _LAST[0], _LAST[1] = data, data.lower()
    return _LAST[1]


class Prefilter:
    def __init__(self, regex: re.Pattern[bytes], *, anchors: tuple[bytes, ...] = (), lowercase: bool = False) -> None:
        self.regex = regex
        self.anchors = tuple(a.lower() for a in anchors) if lowercase else anchors
        self.lowercase = lowercase

    def search(self, data: bytes) -> bool:
        text = _lowered(data) if self.lowercase else data
        if self.anchors and not any(anchor in text for anchor in self.anchors):
            return False
        return self.regex.search(text) is not None


class AnyOf:
    def __init__(self, *parts: Prefilter) -> None:
        self.parts = parts

    def search(self, data: bytes) -> bool:
        return any(part.search(data) for part in self.parts)
