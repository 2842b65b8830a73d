"""Finds every rule: each module of `mcplint.rules` may define `Rule` subclasses.

Importing the rules imports libcst (about 0.2 s, most of a one-file run). What the
engine needs of a rule before it parses anything (its code, scope, prefilter, text
file patterns, metadata) is also kept as a `RuleInfo`, which the result cache stores
(`Cache.rules`): a scan that finds nothing to parse then never imports a rule module.
"""

from __future__ import annotations

import importlib
import pkgutil
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Iterable, Sequence

from mcplint.files import matches
from mcplint.finding import Confidence, RuleMeta, Severity
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


@dataclass(frozen=True)
class RuleInfo:
    """A rule as far as selecting it, testing its prefilter, making its diagnostics and
    reporting go: the attributes of its class of the same names, without importing it."""

    code: str
    name: str
    scope: str
    checklist: str | None
    severity: Severity
    confidence: Confidence
    message: str
    meta: RuleMeta
    prefilter: Any  # Rule.prefilter
    files: tuple[str, ...]
    escape_sanitizes: bool  # for the project phase (`summary.follow`)
    allow_list_sanitizes: bool  # likewise
    origin: str  # "module:ClassName" of the rule's class

    @classmethod
    def of(cls, rule: type[Rule]) -> RuleInfo:
        return cls(rule.code, rule.name, rule.scope, rule.checklist, rule.severity, rule.confidence, rule.message,
                   rule.meta, rule.prefilter, rule.files, rule.escape_sanitizes, rule.allow_list_sanitizes,
                   f"{rule.__module__}:{rule.__qualname__}")

    def wants_file(self, path: str) -> bool:
        return matches(self.files, path)

    def load(self) -> type[Rule]:
        """The rule's class (importing its module: the text rules' need no libcst)."""
        module, name = self.origin.split(":")
        return getattr(importlib.import_module(module), name)


_known: tuple[RuleInfo, ...] | None = None


def known_rules() -> tuple[RuleInfo, ...]:
    """Every rule's `RuleInfo`: the table given to `remember`, else made by importing the rules."""
    global _known
    if _known is None:
        _known = tuple(RuleInfo.of(rule) for rule in all_rules())
    return _known


def remember(infos: Sequence[RuleInfo]) -> None:
    """Use `infos` (`known_rules()` of a process that ran the same mcplint code, as the
    result cache keeps it) instead of importing the rules to make them."""
    global _known
    _known = tuple(infos)


def classes(rules: Iterable[type[Rule] | RuleInfo]) -> list[type[Rule]]:
    """The rule classes of `rules`, which may be `RuleInfo`s."""
    return [rule if isinstance(rule, type) else rule.load() for rule in rules]


def rule_by_code() -> dict[str, type[Rule]]:
    return {rule.code: rule for rule in all_rules()}


def find_rule(key: str) -> RuleInfo | None:
    """The rule whose code or name is `key`."""
    key = key.strip()
    for rule in known_rules():
        if rule.code == key.upper() or rule.name == key.lower():
            return rule
    return None


def all_meta() -> list[RuleMeta]:
    return [rule.meta for rule in all_rules()]
