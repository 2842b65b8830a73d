"""Cheap first-pass tests over a file's raw bytes, and regexes compiled on first use.

A rule whose prefilter does not match never sees the file, and a file no rule needs
is never parsed. Python's `re` tries an alternation at every byte, so each test first
looks for literal anchors (memmem speed) and runs its regex only where one is present:
in files that hold one, or, with `starts=True`, only at the anchors themselves.

Regexes are compiled on first use (`lazy_compile`): importing every rule to list or
select them then costs no regex compilation, and a rule that never runs compiles none.
"""

from __future__ import annotations

import re
from typing import Iterator


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

    def __getstate__(self) -> dict:  # the source only: unpickling compiles nothing
        return {"_source": self._source}

    def __repr__(self) -> str:
        return f"lazy_compile({self._source[0]!r}, {self._source[1]!r})"


def lazy_compile(pattern: str | bytes, flags: int = 0) -> LazyPattern:
    return LazyPattern(pattern, flags)


class Literals:
    """Byte strings to look for in a text, the way anchors are looked for.

    Literals that begin with the same byte are found by one regex of their
    alternatives (`re` scans for a literal first byte in C: one pass over the text
    instead of one per literal); the others by `bytes.find`. The answer of `found`
    for the last text is kept: prefilters that share one `Literals` (the token
    prefixes of MCP501 and MCP502) pay for it once per file.
    """

    def __init__(self, *literals: bytes) -> None:
        self.literals = literals
        groups: dict[int, list[bytes]] = {}
        for literal in dict.fromkeys(literals):
            groups.setdefault(literal[0], []).append(literal)
        self._finders = [group[0] if len(group) == 1 else
                         lazy_compile(b"|".join(re.escape(literal) for literal in group)) for group in groups.values()]
        self._last: tuple[bytes | None, bool] = (None, False)

    def __getstate__(self) -> dict:  # not the last text searched
        return {**self.__dict__, "_last": (None, False)}

    def lower(self) -> Literals:
        return Literals(*(literal.lower() for literal in self.literals))

    def found(self, text: bytes) -> bool:
        last, answer = self._last
        if last is not text:
            answer = any(finder in text if isinstance(finder, bytes) else finder.search(text) is not None
                         for finder in self._finders)
            self._last = (text, answer)
        return answer

    def positions(self, text: bytes) -> Iterator[int]:
        """Where each literal begins (overlapping ones too), one literal group after another."""
        for finder in self._finders:
            if isinstance(finder, bytes):
                at = text.find(finder)
                while at >= 0:
                    yield at
                    at = text.find(finder, at + 1)
            else:
                search = finder.search
                found = search(text)
                while found is not None:
                    yield found.start()
                    found = search(text, found.start() + 1)


_LAST: list = [None, b""]  # the last file lowered: several prefilters read the same file in a row


def _lowered(data: bytes) -> bytes:
    if _LAST[0] is not data:
        _LAST[0], _LAST[1] = data, data.lower()
    return _LAST[1]


class Prefilter:
    """Does a file's bytes match `regex` (a compiled or `lazy_compile` pattern, or None:
    the anchors alone)?

    `anchors`: literals the text must hold one of before the regex runs.
    `lowercase`: search the lower-cased bytes (anchors and `requires` are lower-case).
    `starts`: every match of `regex` begins with one of `anchors` (after zero-width
    assertions such as `\\b`): the regex is then tried only where an anchor begins,
    which gives the answer of `regex.search` without scanning the whole file.
    `requires`: literals the text must also hold one of, checked before the regex (a
    condition of the rule that its regex does not show, or one the regex implies that
    another prefilter has already answered for this file).
    """

    def __init__(self, regex, *, anchors: tuple[bytes, ...] | Literals = (), lowercase: bool = False,
                 starts: bool = False, requires: Literals | None = None) -> None:
        self.regex = regex
        literals = anchors if isinstance(anchors, Literals) else Literals(*anchors)
        self.anchors = literals.lower() if lowercase else literals
        self.lowercase = lowercase
        self.starts = starts and bool(self.anchors.literals)
        self.requires = requires

    def search(self, data: bytes) -> bool:
        text = _lowered(data) if self.lowercase else data
        if not self.starts and self.anchors.literals and not self.anchors.found(text):
            return False
        if self.requires is not None and not self.requires.found(text):
            return False
        if self.regex is None:
            return True
        if self.starts:
            match = self.regex.match
            return any(match(text, at) is not None for at in self.anchors.positions(text))
        return self.regex.search(text) is not None


def containing(*literals: bytes, lowercase: bool = False) -> Prefilter:
    """A prefilter that asks only for one of `literals` (no regex)."""
    return Prefilter(None, anchors=literals, lowercase=lowercase)


class AnyOf:
    def __init__(self, *parts: Prefilter) -> None:
        self.parts = parts

    def search(self, data: bytes) -> bool:
        return any(part.search(data) for part in self.parts)
