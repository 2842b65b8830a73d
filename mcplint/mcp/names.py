"""Cheap name resolution: an import-alias table instead of libcst's scope analysis.

`QualifiedNameProvider` costs about four times a plain parse (performance notes); a
table of what every imported name stands for finds the same call targets in practice.
Local rebinding of an imported name is not tracked: the cost of that blind spot is a
rare miss, while the full scope analysis would slow every scan.
"""

from __future__ import annotations

import libcst as cst


def dotted(node: cst.CSTNode) -> str | None:
    """`a.b.c` for a Name/Attribute chain, else None."""
    # exact type tests: isinstance against libcst's classes goes through ABCMeta, and
    # this runs for most expressions of a file
    kind = type(node)
    if kind is cst.Name:
        return node.value
    parts: list[str] = []
    while kind is cst.Attribute:
        parts.append(node.attr.value)
        node = node.value
        kind = type(node)
    if kind is cst.Name:
        parts.append(node.value)
        return ".".join(reversed(parts))
    return None


def _module_name(node: cst.BaseExpression | None) -> str:
    return dotted(node) or "" if node is not None else ""


class ImportTable:
    """Maps local names to the qualified names they were imported as."""

    def __init__(self) -> None:
        self.aliases: dict[str, str] = {}

    def add(self, node: cst.Import | cst.ImportFrom) -> None:
        if isinstance(node, cst.Import):
            for alias in node.names:
                full = _module_name(alias.name)
                if alias.asname is not None:
                    local = dotted(alias.asname.name)
                    if local:
                        self.aliases[local] = full
                else:
                    # `import a.b` binds `a`; `a.b.c` then resolves through it.
                    head = full.split(".", 1)[0]
                    self.aliases.setdefault(head, head)
            return
        if isinstance(node.names, cst.ImportStar):
            return
        module = "." * len(node.relative) + _module_name(node.module)
        for alias in node.names:
            name = dotted(alias.name) or ""
            local = dotted(alias.asname.name) if alias.asname is not None else name
            if local:
                joiner = "" if module.endswith(".") or not module else "."
                self.aliases[local] = f"{module}{joiner}{name}"

    def qualify_dotted(self, name: str) -> str:
        head, _, rest = name.partition(".")
        target = self.aliases.get(head)
        if target is None:
            return name
        return f"{target}.{rest}" if rest else target

    def qualify(self, node: cst.CSTNode) -> str | None:
        """The qualified name of an expression, resolved through imports."""
        name = dotted(node)
        return self.qualify_dotted(name) if name is not None else None

    def imports_package(self, packages) -> bool:
        """Does the file import anything from one of these top-level packages?"""
        return any(target.split(".", 1)[0] in packages for target in self.aliases.values())

    def is_imported(self, name: str) -> bool:
        return name.split(".", 1)[0] in self.aliases
