"""Finds every rule: each module of `mcplint.rules` may define `Rule` subclasses."""

from __future__ import annotations

import importlib
import pkgutil
from functools import lru_cache

from mcplint.finding import RuleMeta
from mcplint.rule import Rule


@lru_cache(maxsize=1)
def all_rules() -> tuple[type[Rule], ...]:
    import mcplint.rules as package

    found: dict[str, type[Rule]] = {}
    for info in sorted(pkgutil.iter_modules(package.__path__), key=lambda m: m.name):
        module = importlib.import_module(f"{package.__name__}.{info.name}")
        for value in vars(module).values():
            if isinstance(value, type) and issubclass(value, Rule) and value is not Rule and value.__module__ == module.__name__:
                for other in found.values():
                    if other.code == value.code or other.name == value.name:
                        raise TypeError(f"rules {other.__name__} and {value.__name__} share a code or name")
                found[value.code] = value
    return tuple(sorted(found.values(), key=lambda r: r.code))


def rule_by_code() -> dict[str, type[Rule]]:
    return {rule.code: rule for rule in all_rules()}


def find_rule(key: str) -> type[Rule] | None:
    key = key.strip()
    for rule in all_rules():
        if rule.code == key.upper() or rule.name == key.lower():
            return rule
    return None


def all_meta() -> list[RuleMeta]:
    return [rule.meta for rule in all_rules()]
