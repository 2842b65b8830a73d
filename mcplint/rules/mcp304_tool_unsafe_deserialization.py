import re

import libcst as cst

from mcplint.mcp import walk
from mcplint.finding import Confidence, Severity
from mcplint.fix import NodeFix, remove_argument
from mcplint.mcp.builder import argument
from mcplint.mcp.names import dotted
from mcplint.mcp.taint import source_label
from mcplint.rule import Rule

# Loaders that build arbitrary objects (and so run code) from their input.
PICKLE_LIKE = frozenset(
    {
        "pickle.loads", "pickle.load", "pickle.Unpickler", "_pickle.loads", "_pickle.load", "_pickle.Unpickler",
        "cPickle.loads", "cPickle.load", "dill.loads", "dill.load", "dill.Unpickler",
        "cloudpickle.loads", "cloudpickle.load", "marshal.loads", "marshal.load",
        "jsonpickle.decode", "jsonpickle.loads", "jsonpickle.unpickler.decode",
        "yaml.unsafe_load", "yaml.unsafe_load_all",
    }
)
# Pickle underneath, and usually given a path.
PICKLE_FILES = frozenset({"pandas.read_pickle", "joblib.load", "sklearn.externals.joblib.load", "shelve.open"})
YAML_LOAD = frozenset({"yaml.load", "yaml.load_all"})
YAML_FULL = frozenset({"yaml.full_load", "yaml.full_load_all"})
SAFE_YAML_LOADERS = frozenset({"SafeLoader", "CSafeLoader", "BaseLoader", "CBaseLoader"})
FULL_YAML_LOADERS = frozenset({"FullLoader", "CFullLoader"})
UNSAFE_YAML_LOADERS = frozenset({"Loader", "UnsafeLoader", "CLoader", "CUnsafeLoader"})
DATA_KEYWORDS = ("data", "s", "file", "f", "stream", "fp", "filepath_or_buffer", "filename", "path", "obj", "string")

# Calls that keep the input's bytes: the agent still writes the payload.
PRESERVING_CALLS = frozenset(
    {
        "base64.b64decode", "base64.urlsafe_b64decode", "base64.standard_b64decode", "base64.b32decode",
        "base64.b85decode", "base64.a85decode", "binascii.a2b_base64", "binascii.unhexlify", "bytes.fromhex",
        "codecs.decode", "zlib.decompress", "gzip.decompress", "bz2.decompress", "lzma.decompress",
        "io.BytesIO", "io.StringIO", "bytes", "bytearray", "str", "json.loads",
    }
)
# Fetching a URL the input names: the agent (or a page it read) hosts the payload.
FETCH_PREFIXES = ("requests.", "httpx.", "urllib.request.urlopen", "urllib3.")
PRESERVING_METHODS = frozenset({"encode", "decode", "read", "content", "json", "fromhex"})


def _is_true(expr: cst.BaseExpression | None) -> bool:
    return isinstance(expr, cst.Name) and expr.value == "True"


def _is_false(expr: cst.BaseExpression | None) -> bool:
    return isinstance(expr, cst.Name) and expr.value == "False"


class ToolUnsafeDeserialization(Rule):
    """A tool parameter is deserialized with a loader that can run code.

    ## What it does
    Reports `pickle`/`_pickle`/`cPickle`/`dill`/`cloudpickle` `load`/`loads`/`Unpickler`,
    `marshal.load(s)`, `jsonpickle.decode`, `yaml.unsafe_load`, `yaml.load` without a
    safe `Loader` (`SafeLoader`, `CSafeLoader`, `BaseLoader`, or a class of the file
    deriving from one), `pandas.read_pickle`, `joblib.load`, `shelve.open`,
    `numpy.load(..., allow_pickle=True)` and `torch.load` without `weights_only=True`,
    when the data derives from an untrusted handler parameter.

    Data the agent writes (the parameter, base64- or hex-decoded, or fetched from a URL
    it names) is reported at high confidence. Data the input only selects (a file
    opened from a path it gives, an entry looked up by its key) is reported at medium
    confidence: the attack then needs a file it could plant. Medium too where the
    library version decides: `yaml.full_load`/`FullLoader` (safe from PyYAML 5.4),
    `yaml.load` with no `Loader` (unsafe before 5.1, an error since 6.0) or with a
    loader mcplint cannot identify, and `torch.load` with no `weights_only` (unsafe
    before PyTorch 2.6). Flows into functions outside the handler are not followed yet.
    Silent when the value is checked against an allow-list first (`if name not in
    ALLOWED: raise`, or the call inside `if name in ALLOWED:`).

    ## Why is this bad?
    Unpickling calls whatever `__reduce__` the payload names, so `pickle.loads` of
    attacker bytes is remote code execution; YAML's `!!python/object` tags and
    `marshal`'d code objects do the same. MCP clients pass binary data as base64
    strings, which is how `pickle.loads(base64.b64decode(data))` ends up in tools.

    ## Example
    ```python
    import base64
    import pickle
    from mcp.server.fastmcp import FastMCP

    mcp = FastMCP("models")

    @mcp.tool()
    def load_state(state: str) -> str:
        model = pickle.loads(base64.b64decode(state))
        return repr(model)
    ```

    ## Use instead
    Exchange data as JSON (or another data-only format) and validate it; for YAML use
    `yaml.safe_load`; for model weights use `safetensors` or
    `torch.load(..., weights_only=True)`.
    ```python
    import json
    from mcp.server.fastmcp import FastMCP

    mcp = FastMCP("models")

    @mcp.tool()
    def load_state(state: str) -> str:
        model = json.loads(state)
        return repr(model)
    ```

    ## References
    - [CWE-502: Deserialization of Untrusted Data](https://cwe.mitre.org/data/definitions/502.html)
    - [Python docs: the warning on `pickle`](https://docs.python.org/3/library/pickle.html)
    - [PyYAML: `yaml.load` and loaders](https://github.com/yaml/pyyaml/wiki/PyYAML-yaml.load(input)-Deprecation)
    - [PyTorch: `torch.load` and `weights_only`](https://pytorch.org/docs/stable/generated/torch.load.html)
    """

    code = "MCP304"
    name = "tool-unsafe-deserialization"
    severity = Severity.CRITICAL
    confidence = Confidence.HIGH
    cwe = 502
    checklist = "MCP-C04"
    allow_list_sanitizes = True
    in_imported_modules = False  # each report carries tool input
    message = "{handler} parameter `{param}` {how} `{sink}`{note}"

    def visit_Call(self, node: cst.Call) -> None:
        if self.ctx.handler is None:
            return
        qualified = self.ctx.qualify(node.func) or ""
        verdict = self._unsafe(node, qualified)
        if verdict is None:
            return
        cap, note = verdict
        data = next((v for kw in DATA_KEYWORDS if (v := argument(node, None, kw)) is not None), None)
        if data is None:
            data = argument(node, 0, "")
        taint = self.ctx.taint(data) if data is not None else None
        if taint is None:
            return
        chosen = self._only_chosen(qualified, data, taint)
        confidence = min(cap, Confidence.MEDIUM) if chosen else cap
        how = "chooses the data deserialized by" if chosen else "is deserialized by"
        param = source_label(taint, [data, *(s.node for s in taint.steps)])
        self.report(node, taint=taint, confidence=confidence, param=param, how=how, sink=qualified, note=note,
                    fix=safe_load_fix(node, qualified, self.ctx.qualify))

    def _unsafe(self, node: cst.Call, qualified: str) -> tuple[Confidence, str] | None:
        """(highest confidence, note) if this call deserializes unsafely, else None."""
        if qualified in PICKLE_LIKE or qualified in PICKLE_FILES:
            return Confidence.HIGH, ""
        if qualified in YAML_FULL:
            return Confidence.MEDIUM, " (FullLoader: safe only on PyYAML >= 5.4)"
        if qualified in YAML_LOAD:
            loader = argument(node, 1, "Loader")
            if loader is None:
                return Confidence.MEDIUM, " with no `Loader` (unsafe before PyYAML 5.1)"
            return self._yaml_loader(loader)
        if qualified == "torch.load":
            weights_only = argument(node, None, "weights_only")
            if _is_true(weights_only):
                return None
            if weights_only is None:
                return Confidence.MEDIUM, " with no `weights_only=True` (unsafe before PyTorch 2.6)"
            if _is_false(weights_only):
                return Confidence.HIGH, " with `weights_only=False`"
            return Confidence.MEDIUM, ""
        if qualified == "numpy.load":
            if _is_true(argument(node, None, "allow_pickle")):
                return Confidence.HIGH, " with `allow_pickle=True`"
            return None
        return None

    def _yaml_loader(self, loader: cst.BaseExpression) -> tuple[Confidence, str] | None:
        qualified = self.ctx.qualify(loader)
        if qualified is not None:  # `Loader=yaml.Loader`, or an alias `from yaml import FullLoader as Loader`
            names = {qualified.rsplit(".", 1)[-1]}
        else:  # `getattr(yaml, "CSafeLoader", yaml.SafeLoader)`, `A if c else B`
            names = set(re.findall(r"\w+", self.ctx.code_for(loader)))
        shown = self.ctx.code_for(loader)
        if names & UNSAFE_YAML_LOADERS:
            return Confidence.HIGH, f" with `Loader={shown}`"
        if names & FULL_YAML_LOADERS:
            return Confidence.MEDIUM, f" with `Loader={shown}` (safe only on PyYAML >= 5.4)"
        if names & SAFE_YAML_LOADERS or any(self._derives_from_safe_loader(n) for n in names):
            return None
        return Confidence.MEDIUM, f" with a custom `Loader={shown}`"

    def _derives_from_safe_loader(self, name: str) -> bool:
        """`class StrictLoader(yaml.SafeLoader)` defined in this file."""
        for sub in walk.iter_nodes(self.ctx.module):
            if isinstance(sub, cst.ClassDef) and sub.name.value == name:
                bases = {(dotted(b.value) or "").rsplit(".", 1)[-1] for b in sub.bases}
                return bool(bases & SAFE_YAML_LOADERS)
        return False

    def _only_chosen(self, qualified: str, data: cst.BaseExpression, taint) -> bool:
        """Does the input only select the data (a path, a key) instead of writing it?"""
        calls = [n for n in (data, *(s.node for s in taint.steps)) if isinstance(n, cst.Call)]
        for call in calls:
            name = self.ctx.qualify(call.func) or ""
            method = call.func.attr.value if isinstance(call.func, cst.Attribute) else ""
            if name in PRESERVING_CALLS or name.startswith(FETCH_PREFIXES) or method in PRESERVING_METHODS:
                continue
            if _reads(call, taint.param):
                continue
            return True  # open(path), cache.get(key), a helper we cannot see
        # Path-taking loaders given the parameter itself, not bytes built from it.
        if qualified in PICKLE_FILES or qualified in ("torch.load", "numpy.load"):
            return not any((self.ctx.qualify(c.func) or "") in PRESERVING_CALLS for c in calls)
        return False


def safe_load_fix(call: cst.Call, qualified: str, qualify) -> "NodeFix | None":
    """`yaml.load(x)` / `yaml.load(x, Loader=yaml.Loader)` -> `yaml.safe_load(x)`: only
    when the loader is none or one of PyYAML's own object-building loaders."""
    if qualified not in YAML_LOAD or not isinstance(call.func, cst.Attribute):
        return None
    loader = next((a for a in call.args if a.keyword is not None and a.keyword.value == "Loader"), None)
    if loader is None:
        positional = [a for a in call.args if a.keyword is None]
        loader = positional[1] if len(positional) > 1 and not positional[1].star else None
    safe = "safe_" + call.func.attr.value
    changes = [(call.func.attr, cst.Name(safe))]
    if loader is not None:
        if (qualify(loader.value) or "") not in ("yaml.Loader", "yaml.FullLoader", "yaml.UnsafeLoader"):
            return None
        changes.append((call, remove_argument(call, loader)))
    return NodeFix(f"use `yaml.{safe}`", tuple(changes))


def _reads(call: cst.Call, param: str) -> bool:
    """`arguments.get("blob")`: reading the parameter itself."""
    func = call.func
    if not (isinstance(func, cst.Attribute) and func.attr.value == "get"):
        return False
    return (dotted(func.value) or "").split(".")[0] == param
