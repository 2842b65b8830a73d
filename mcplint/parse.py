"""libcst's parser, without re-checking what it built.

Every libcst node validates its fields when it is constructed (`__post_init__`), so
that trees built by hand are well formed. A tree straight from libcst's own parser is
well formed by construction (libcst's own comment: validation "would allow us to
avoid validating the tree when parsing a file" if moved). So while `parse_module`
runs, each node class has a plainer `__init__`: it sets the fields through their slots
and calls no `__post_init__`. That saves about a fifth of a parse: its native part
calls Python once per node, and a file's tree has tens of thousands of nodes, two in
five of them whitespace. Nodes built at any other time (fixes) are validated as usual.
"""

from __future__ import annotations

import dataclasses
from functools import lru_cache

import libcst as cst
from libcst._nodes.base import CSTNode


def prepare() -> None:
    """Make the plain initialisers now (the first parse would)."""
    _initializers()


def parse_module(source: bytes | str) -> cst.Module:
    plain, own = _initializers()
    for kind, init in plain:
        kind.__init__ = init
    try:
        return cst.parse_module(source)
    finally:
        for kind, init in own:
            kind.__init__ = init


@lru_cache(maxsize=1)
def _initializers() -> tuple[tuple[tuple[type, object], ...], tuple[tuple[type, object], ...]]:
    """(node class, plain `__init__`) and (node class, its own `__init__`) of every
    libcst node class whose `__init__` can be made plain."""
    plain, own = [], []
    stack = [CSTNode]
    while stack:
        kind = stack.pop()
        stack.extend(kind.__subclasses__())
        init = kind.__dict__.get("__init__")
        if init is not None and dataclasses.is_dataclass(kind):
            fast = _plain_init(kind)
            if fast is not None:
                plain.append((kind, fast))
                own.append((kind, init))
    return tuple(plain), tuple(own)


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
    exec(source, names)  # noqa: S102 - made from the field names of libcst's own classes
    return names["__init__"]
