"""The cheap first pass: lazily compiled regexes, literal search, and prefilters that
answer as their plain regex would and never turn away a file their rule reports in."""

from __future__ import annotations

import copy
import pickle
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mcplint.engine import analyse_source
from mcplint.prefilter import AnyOf, LazyPattern, Literals, Prefilter, lazy_compile
from mcplint.registry import all_rules
from mcplint.rule import code_blocks, doc_sections
from tests.conftest import FIXTURES, REPO

PYTHON_RULES = [r for r in all_rules() if r.scope == "python"]


def _parts(prefilter) -> list[Prefilter]:
    return list(prefilter.parts) if isinstance(prefilter, AnyOf) else [prefilter]


PARTS = [(rule.code, index, part) for rule in PYTHON_RULES for index, part in enumerate(_parts(rule.prefilter))]


# -- lazy_compile ------------------------------------------------------------------------


def test_a_lazy_pattern_compiles_on_first_use_and_then_is_a_pattern() -> None:
    pattern = lazy_compile(r"(?P<word>a+)b", re.IGNORECASE)
    assert "_compiled" not in vars(pattern)
    assert copy.deepcopy(pattern) is not None and pickle.loads(pickle.dumps(pattern)) is not None
    assert "_compiled" not in vars(pattern)  # copying and pickling are not uses
    assert pattern.search("xAAb").group("word") == "AA"
    assert pattern.pattern == "(?P<word>a+)b" and pattern.flags & re.IGNORECASE
    assert pattern.sub("-", "ab ab") == "- -" and pattern.findall("aab") == ["aa"]
    assert vars(pattern)["search"] == pattern.compiled().search  # kept: later uses cost nothing extra


def test_importing_the_rules_compiles_none_of_their_regexes() -> None:
    probe = textwrap.dedent(
        """\
        import sys
        from mcplint.prefilter import LazyPattern
        from mcplint.registry import all_rules
        all_rules()
        seen, compiled = 0, []

        def visit(name, value, depth=0):
            global seen
            if isinstance(value, LazyPattern):
                seen += 1
                if "_compiled" in vars(value):
                    compiled.append(name)
            elif depth > 3:
                return
            elif isinstance(value, (tuple, list)):
                for item in value:
                    visit(name, item, depth + 1)
            elif type(value).__module__ == "mcplint.prefilter" or hasattr(value, "regex"):  # prefilters, MCP402's patterns
                for item in vars(value).values():
                    visit(name, item, depth + 1)

        for module_name, module in list(sys.modules.items()):
            if module_name.startswith("mcplint.rules."):
                for name, value in vars(module).items():
                    visit(f"{module_name}.{name}", value)
        print(seen, compiled)
        """
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, cwd=REPO)
    seen, compiled = done.stdout.split(" ", 1)
    assert int(seen) > 120, done.stdout + done.stderr
    assert compiled.strip() == "[]"


# -- Literals ----------------------------------------------------------------------------


def test_literals_are_found_with_shared_first_bytes_and_overlaps() -> None:
    literals = Literals(b"ab", b"abc", b"aba", b"x-", b"bab")
    assert len(literals._finders) == 3  # a*, x-, bab
    text = b"zababc x- babab"
    assert literals.found(text) and not literals.found(b"zzz")
    expected = sorted({m.start() for lit in literals.literals for m in re.finditer(b"(?=" + re.escape(lit) + b")", text)})
    assert sorted(literals.positions(text)) == expected


def test_literals_keep_the_answer_for_the_last_text() -> None:
    literals = Literals(b"needle")
    text = b"hay needle hay"
    assert literals.found(text)
    literals._finders = []  # would answer False if asked again
    assert literals.found(text) and not literals.found(b"other")



def test_the_rules_table_pickles_without_compiled_regexes_or_searched_text() -> None:
    """The result cache keeps every rule's `RuleInfo` (prefilters included): unpickling it
    must compile nothing and carry no file's bytes, and it answers as the rules do."""
    from mcplint.registry import known_rules

    table = known_rules()
    last = b"token = 'a-text-searched-last-7f3e'  # https://user:pw@example.com ssl verify=False"
    for sample in [*SAMPLES, last]:  # compiles the prefilters' regexes, and leaves a text in each `Literals`
        for rule in table:
            if rule.prefilter is not None:
                rule.prefilter.search(sample)
    data = pickle.dumps(table)
    assert b"a-text-searched-last" not in data and b"_compiled" not in data
    copies = pickle.loads(data)
    assert [(r.code, r.name, r.scope, r.meta, r.files) for r in copies] == \
        [(r.code, r.name, r.scope, r.meta, r.files) for r in all_rules()]
    for copied, rule in zip(copies, all_rules()):
        if rule.prefilter is not None:
            assert [copied.prefilter.search(sample) for sample in SAMPLES] == \
                [rule.prefilter.search(sample) for sample in SAMPLES], rule.code


# -- prefilters answer as their regex would --------------------------------------------------


def _plain(part: Prefilter, data: bytes) -> bool:
    """What `part` answers, computed the slow and obvious way."""
    text = data.lower() if part.lowercase else data
    if part.anchors.literals and not any(a in text for a in part.anchors.literals):
        return False
    if part.requires is not None and not any(a in text for a in part.requires.literals):
        return False
    return re.compile(part.regex.pattern, part.regex.flags).search(text) is not None


def _samples() -> list[bytes]:
    """Source text with the words the prefilters look for: fixtures and rule docs."""
    out = [p.read_bytes() for p in sorted(FIXTURES.rglob("*.py"))]
    for rule in all_rules():
        for section in doc_sections(rule.meta.docs).values():
            out += [block.encode() for block in code_blocks(section, any_language=True)]
    return out


SAMPLES = _samples()


@pytest.mark.parametrize("code,index,part", PARTS, ids=[f"{c}[{i}]" for c, i, _ in PARTS])
def test_prefilter_answers_as_its_regex_on_real_code(code: str, index: int, part: Prefilter) -> None:
    for data in SAMPLES:
        assert part.search(data) == _plain(part, data), (code, index, data[:200])


# Pieces of code the prefilters look for, to be put together into matches and near misses.
PIECES = [
    b" ", b"  ", b"\n", b"=", b" = ", b"==", b": str", b"'", b'"', b"(", b")", b", ", b") or ", b"r", b"x", b"_",
    b"false", b"False", b"0", b"true", b"abcdefgh", b"A" * 16, b"x" * 40, b"://", b"user:pw", b"@", b"host",
    b"password", b"api_key", b"Secret", b"token", b"auth", b"getenv(", b"os.environ.get(", b"config(", b'"API_KEY"',
    b"--api-key", b"'--token'", b"default=", b"class S(", b"BaseSettings", b"):", b"verify=", b"VERIFY_SSL", b"ssl",
    b"AKIA", b"ghp_", b"sk-", b"sk_live_", b"eyJ", b"http://",
]


def _fragments(part: Prefilter) -> list[bytes]:
    """PIECES, the prefilter's anchors, and the literal words of its regex."""
    words = re.findall(rb"[A-Za-z_][A-Za-z0-9_]{2,}|[-'\"():=.,/@]", part.regex.pattern)
    return [*PIECES, *part.anchors.literals, *(part.requires.literals if part.requires else ()), *words]


@pytest.mark.parametrize("code,index,part", PARTS, ids=[f"{c}[{i}]" for c, i, _ in PARTS])
@settings(max_examples=300, deadline=None)
@given(data=st.data())
def test_prefilter_answers_as_its_regex_on_generated_text(code: str, index: int, part: Prefilter, data) -> None:
    """Text with a match of the regex somewhere, or pieces put together; then perhaps
    one byte less (a near miss), and upper-cased where the prefilter lower-cases."""
    pattern = re.compile(part.regex.pattern, part.regex.flags)
    pieces = st.lists(st.sampled_from(_fragments(part)), max_size=12).map(b"".join)
    text = data.draw(st.one_of(st.from_regex(pattern), pieces))
    if text and data.draw(st.booleans()):
        cut = data.draw(st.integers(0, len(text) - 1))
        text = text[:cut] + text[cut + 1:]
    if part.lowercase and data.draw(st.booleans()):
        text = text.upper()
    assert part.search(text) == _plain(part, text), text


# -- prefilters never turn away a file their rule reports in ------------------------------


class _Everything:
    def search(self, data: bytes) -> bool:
        return True


def _reported(rule, path: str, data: bytes, monkeypatch: pytest.MonkeyPatch) -> bool:
    with monkeypatch.context() as patch:
        patch.setattr(rule, "prefilter", _Everything())
        return any(f.code == rule.code for f in analyse_source(path, data, [rule]).findings)


@pytest.mark.parametrize("rule", PYTHON_RULES, ids=lambda r: r.code)
def test_prefilter_passes_every_sample_its_rule_reports_in(rule, monkeypatch: pytest.MonkeyPatch) -> None:
    reported = 0
    for number, data in enumerate(SAMPLES):
        if _reported(rule, f"sample{number}.py", data, monkeypatch):
            reported += 1
            assert rule.prefilter.search(data), data[:300]
    assert reported >= 1  # the samples do exercise the rule


# MCP703 needs credentials besides the `http://` URL: every way it finds them.
CREDENTIALED = [
    'requests.get("http://api.example.com/v1", auth=("u", p))',
    'requests.get("http://api.example.com/v1", headers={"Authorization": t})',
    'requests.get("http://api.example.com/v1", headers={"X-Api-Key": t})',
    'requests.get("http://api.example.com/v1", headers={"Cookie": c})',
    'requests.get("http://api.example.com/v1", headers={"X-Service-Token": t})',
    'requests.get("http://api.example.com/v1", headers=dict(Authorization=t))',
    'requests.post("http://api.example.com/v1", json={"password": p})',
    'requests.post("http://api.example.com/v1", data={"client_secret": s})',
    'requests.get("http://api.example.com/v1", params={"apikey": k})',
    'requests.get("http://api.example.com/v1?api_key=" + k)',
    'requests.get("http://user:pw@api.example.com/v1")',
    'urllib.request.Request("http://api.example.com/v1", None, {"Authorization": t})',
]


@pytest.mark.parametrize("call", CREDENTIALED)
def test_plaintext_http_prefilter_passes_each_kind_of_credential(call: str, monkeypatch: pytest.MonkeyPatch) -> None:
    rule = next(r for r in PYTHON_RULES if r.code == "MCP703")
    data = f"import requests\nimport urllib.request\n\n\ndef f(p, t, c, s, k):\n    return {call}\n".encode()
    assert _reported(rule, "client.py", data, monkeypatch), call
    assert rule.prefilter.search(data)


def test_plaintext_http_prefilter_skips_urls_without_credentials() -> None:
    rule = next(r for r in PYTHON_RULES if r.code == "MCP703")
    namespace = b'XMLNS = "http://www.w3.org/XML/1998/namespace"\n\n\ndef f(node):\n    return node.get(XMLNS)\n'
    assert not rule.prefilter.search(namespace)
    assert rule.prefilter.search(namespace + b"TOKEN = 1\n")
