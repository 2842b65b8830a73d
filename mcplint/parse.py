"""libcst's parser, without re-checking what it built; node classes checked without ABCMeta.

Every libcst node validates its fields when it is constructed (`__post_init__`), so
that trees built by hand are well formed. A tree straight from libcst's own parser is
well formed by construction (libcst's own comment: validation "would allow us to
avoid validating the tree when parsing a file" if moved). So while `parse_module`
runs, each node class has a plainer `__init__`: it sets the fields through their slots
and calls no `__post_init__`. That saves about a fifth of a parse: its native part
calls Python once per node, and a file's tree has tens of thousands of nodes, two in
five of them whitespace. Nodes built at any other time (fixes) are validated as usual.

A class's plain `__init__` is made (compiled from its fields) the first time a parse
builds one of its nodes: a one-file scan compiles the few dozen classes its file uses
(26 for a small server, 131 for all of mcp-real), not all 174 (~25 ms, on the path of
a pre-commit run).

While a file's tree is read (`plain_checks`), the node classes' metaclass is a plain
`type` rather than `ABCMeta`: same answers to `isinstance`, without ABCMeta's Python
code on every miss.
"""

from __future__ import annotations

import dataclasses
from abc import ABCMeta
from contextlib import contextmanager
from functools import lru_cache
from typing import Iterator

import libcst as cst
from libcst._nodes.base import CSTNode

_PLAIN: dict[type, object] = {}  # node class -> its plain `__init__`, once made (or its own, where none can be)


def parse_module(source: bytes | str) -> cst.Module:
    own = _node_classes()
    for kind in own:
        kind.__init__ = _PLAIN.get(kind, _first)
    try:
        return cst.parse_module(source)
    finally:
        for kind, init in own.items():
            kind.__init__ = init


def _first(self, *args, **kwargs) -> None:
    """A class's `__init__` until its plain one is made: makes it, and uses it for the
    rest of the parse."""
    kind = type(self)
    init = _PLAIN.get(kind)
    if init is None:
        init = _PLAIN[kind] = _plain_init(kind) or _node_classes()[kind]
    kind.__init__ = init
    init(self, *args, **kwargs)


@lru_cache(maxsize=1)
def _every_node_class() -> tuple[type, ...]:
    """CSTNode and every class below it, each once (a class with two node bases is met
    twice on the way)."""
    found: dict[type, None] = {}
    stack = [CSTNode]
    while stack:
        kind = stack.pop()
        if kind not in found:
            found[kind] = None
            stack.extend(kind.__subclasses__())
    return tuple(found)


@lru_cache(maxsize=1)
def _node_classes() -> dict[type, object]:
    """Every libcst node class that has an `__init__` of its own (a dataclass), and it."""
    return {kind: vars(kind)["__init__"] for kind in _every_node_class()
            if "__init__" in vars(kind) and dataclasses.is_dataclass(kind)}


def _plain_init(kind: type):
    """An `__init__` for the dataclass `kind` with the same parameters and defaults as
    its own, that stores each field through its slot and validates nothing; None where
    a field has no slot to store it in."""
    fields = [f for f in dataclasses.fields(kind) if f.init]
    if any(getattr(f, "kw_only", False) for f in fields):
        return None  # not a shape libcst's node classes have had
    names = {"MISSING": dataclasses.MISSING}
    params, body = [], []
    for number, item in enumerate(fields):
        slot = next((vars(base)[item.name] for base in kind.__mro__ if item.name in vars(base)), None)
        if not hasattr(slot, "__set__"):
            return None
        names[f"_set{number}"] = slot.__set__
        if item.default is not dataclasses.MISSING:
            names[f"_default{number}"] = item.default
            params.append(f"{item.name}=_default{number}")
        elif item.default_factory is not dataclasses.MISSING:
            names[f"_factory{number}"] = item.default_factory
            params.append(f"{item.name}=MISSING")
            body.append(f" if {item.name} is MISSING: {item.name} = _factory{number}()")
        else:
            params.append(item.name)
        body.append(f" _set{number}(self, {item.name})")
    source = f"def __init__(self, {', '.join(params)}):\n" + "\n".join(body or [" pass"]) + "\n"
    try:
        exec(source, names)  # noqa: S102 - made from the field names of libcst's own classes
    except SyntaxError:  # a field shape this does not know: the class keeps its own
        return None
    init = names["__init__"]
    init.__qualname__ = f"{kind.__qualname__}.__init__"
    return init


class _Plain(type):
    """A metaclass that leaves instance and subclass checks to `type`'s own."""


@contextmanager
def plain_checks() -> Iterator[None]:
    """While it lasts, libcst's node classes have `_Plain` as their metaclass instead of
    `ABCMeta`, whose `isinstance` runs Python code and looks up a cache of weak
    references each time a node is not of the class asked about: the rules ask about
    1.4 million times on mcp-real's 189 fully analysed files, and an analysis costs
    2.5% less this way. The answers are the same: libcst registers no virtual
    subclasses, and a class's abstract methods were fixed when ABCMeta made it. Where
    the metaclass cannot be swapped, nothing changes."""
    kinds = _abc_node_classes()
    if not kinds or type(kinds[0]) is _Plain:  # nothing to swap, or swapped by a caller
        yield
        return
    swapped: list[type] = []
    try:
        for kind in kinds:
            kind.__class__ = _Plain
            swapped.append(kind)
    except TypeError:  # an interpreter that refuses the swap: ABCMeta's checks, as before
        pass
    try:
        yield
    finally:
        for kind in swapped:
            kind.__class__ = ABCMeta


@lru_cache(maxsize=1)
def _abc_node_classes() -> tuple[type, ...]:
    """libcst's node classes (the abstract ones too) whose metaclass is ABCMeta itself
    (asked before any swap: `plain_checks` asks first)."""
    return tuple(kind for kind in _every_node_class() if type(kind) is ABCMeta)
