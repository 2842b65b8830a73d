"""Cheap first-pass tests over a file's raw bytes, and regexes compiled on first use.

A rule whose prefilter does not match never sees the file, and a file no rule needs
is never parsed. Python's `re` tries an alternation at every byte, so each test first
looks for literal anchors with `bytes.__contains__` (memmem speed) and runs its regex
only where one is present.

Regexes are compiled on first use (`lazy_compile`): importing every rule to list or
select them then costs no regex compilation, and a rule that never runs compiles none.
"""

from __future__ import annotations

import re


class LazyPattern:
    """`re.compile(pattern, flags)`, done the first time the pattern is used.

    Each attribute (`search`, `match`, `pattern`, ...) is fetched from the compiled
    pattern once and then kept on this object, so later uses cost what they cost on
    a compiled pattern.
    """

    def __init__(self, pattern: str | bytes, flags: int = 0) -> None:
        self._source = (pattern, flags)

    def compiled(self) -> re.Pattern:
        pattern = self.__dict__.get("_compiled")
        if pattern is None:
            pattern = self._compiled = re.compile(*self._source)
        return pattern

    def __getattr__(self, name: str):
        if name.startswith("__"):  # copy and pickle probe for special methods: not a use
            raise AttributeError(name)
        value = getattr(self.compiled(), name)
        setattr(self, name, value)
        return value

    def __repr__(self) -> str:
        return f"lazy_compile({self._source[0]!r}, {self._source[1]!r})"


def lazy_compile(pattern: str | bytes, flags: int = 0) -> LazyPattern:
    return LazyPattern(pattern, flags)


_LAST: list = [None, b""]  # the last file lowered: several prefilters read the same file in a row


def _lowered(data: bytes) -> bytes:
    if _LAST[0] is not data:
        _LAST[0], _LAST[1] = data, data.lower()
    return _LAST[1]


class Prefilter:
    def __init__(self, regex, *, anchors: tuple[bytes, ...] = (), lowercase: bool = False) -> None:
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
