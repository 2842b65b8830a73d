"""The cheap first pass: regexes compiled on first use."""

from __future__ import annotations

import copy
import pickle
import re
import subprocess
import sys
import textwrap

from mcplint.prefilter import lazy_compile
from tests.conftest import REPO


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
