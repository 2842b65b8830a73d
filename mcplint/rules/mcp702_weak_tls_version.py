
import libcst as cst

from mcplint.finding import Confidence, Severity
from mcplint.mcp import walk
from mcplint.mcp.names import dotted
from mcplint.prefilter import Prefilter, lazy_compile
from mcplint.rule import Rule
from mcplint.files import is_test_path

PREFILTER = Prefilter(
    lazy_compile(rb"PROTOCOL_(?:SSL|TLSv1)|PROTOCOL_TLS\b|TLSVersion|OP_NO_TLSv1_3"),
    anchors=(b"PROTOCOL_", b"TLSVersion", b"OP_NO_TLSv1_3"),
    starts=True,
)

# Pinned protocols: (label, severity). TLS 1.0/1.1 and SSL have known attacks and are
# off in current OpenSSL builds; TLS 1.2 is sound but not what the checklist asks.
PINNED = {
    "ssl.PROTOCOL_SSLv2": ("SSL 2.0", Severity.MEDIUM),
    "ssl.PROTOCOL_SSLv3": ("SSL 3.0", Severity.MEDIUM),
    "ssl.PROTOCOL_TLSv1": ("TLS 1.0", Severity.MEDIUM),
    "ssl.PROTOCOL_TLSv1_1": ("TLS 1.1", Severity.MEDIUM),
    "ssl.PROTOCOL_TLSv1_2": ("TLS 1.2", Severity.LOW),
}
# Deprecated "negotiate anything" constants: no floor of their own.
ANY_VERSION = frozenset({"ssl.PROTOCOL_SSLv23", "ssl.PROTOCOL_TLS"})
VERSIONS = {
    "SSLv3": ("SSL 3.0", Severity.MEDIUM),
    "TLSv1": ("TLS 1.0", Severity.MEDIUM),
    "TLSv1_1": ("TLS 1.1", Severity.MEDIUM),
    "TLSv1_2": ("TLS 1.2", Severity.LOW),
    "MINIMUM_SUPPORTED": ("the oldest version OpenSSL supports", Severity.MEDIUM),
}
TLS13 = frozenset({"TLSv1_3", "MAXIMUM_SUPPORTED"})
# Keyword arguments that set a floor or a ceiling (urllib3 2.x `ssl_minimum_version`).
MINIMUM_KEYWORDS = frozenset({"minimum_version", "ssl_minimum_version", "min_version", "tls_minimum_version"})
MAXIMUM_KEYWORDS = frozenset({"maximum_version", "ssl_maximum_version", "max_version", "tls_maximum_version"})


class WeakTlsVersion(Rule):
    """TLS is allowed, or pinned, below version 1.3.

    ## What it does
    Reports, in any Python file (test code excepted):

    - old protocols pinned: `ssl.PROTOCOL_TLSv1`, `PROTOCOL_TLSv1_1`, `PROTOCOL_SSLv2/3`
      (medium) and `PROTOCOL_TLSv1_2` (low: sound, but TLS 1.3 is never used);
    - a floor below TLS 1.3: `context.minimum_version = ssl.TLSVersion.TLSv1` /
      `TLSv1_1` / `MINIMUM_SUPPORTED` (medium) or `TLSv1_2` (low), and the same as
      `ssl_minimum_version=` (urllib3);
    - a ceiling below TLS 1.3: `maximum_version = TLSVersion.TLSv1_2` or lower, and
      `ssl.OP_NO_TLSv1_3`;
    - the deprecated `ssl.PROTOCOL_SSLv23` / `PROTOCOL_TLS` in a module that sets no
      `minimum_version` (low: Python 3.10+ then negotiates down to TLS 1.2).

    A floor of `TLSVersion.TLSv1_3` is recorded as evidence for the checklist item.

    ## Why is this bad?
    TLS 1.0 and 1.1 (and every SSL version) have practical attacks and weak cipher
    suites; a client or server that accepts them can be downgraded by whoever sits on
    the network path. TLS 1.2 is still sound with good ciphers, but the MCP security
    checklist asks for TLS 1.3 on every connection: it removes the legacy options
    that downgrade attacks rely on.

    ## Example
    ```python
    import ssl

    import httpx

    context = ssl.create_default_context()
    context.minimum_version = ssl.TLSVersion.TLSv1
    client = httpx.Client(verify=context)
    ```

    ## Use instead
    Set the floor to TLS 1.3 (or leave the default and do not pin a protocol).
    ```python
    import ssl

    import httpx

    context = ssl.create_default_context()
    context.minimum_version = ssl.TLSVersion.TLSv1_3
    client = httpx.Client(verify=context)
    ```

    ## References
    - [CWE-327: Use of a Broken or Risky Cryptographic Algorithm](https://cwe.mitre.org/data/definitions/327.html)
    - [RFC 8996: Deprecating TLS 1.0 and TLS 1.1](https://www.rfc-editor.org/rfc/rfc8996)
    - [Python docs: `SSLContext.minimum_version`](https://docs.python.org/3/library/ssl.html#ssl.SSLContext.minimum_version)
    """

    code = "MCP702"
    name = "weak-tls-version"
    severity = Severity.MEDIUM
    confidence = Confidence.HIGH
    cwe = 327
    checklist = "MCP-C05"
    message = "{what}: {consequence}"
    scope = "python"
    prefilter = PREFILTER

    def __init__(self, ctx) -> None:
        super().__init__(ctx)
        self._skip = is_test_path(ctx.path)
        self._sets_floor: bool | None = None

    # -- floors and ceilings ---------------------------------------------------------
    def visit_Assign(self, node: cst.Assign) -> None:
        if self._skip:
            return
        for target in node.targets:
            if isinstance(target.target, cst.Attribute):
                self._setting(node, target.target.attr.value, node.value, self.ctx.code_for(target.target.value))
        self._chosen(node.value)

    def visit_AnnAssign(self, node: cst.AnnAssign) -> None:
        if not self._skip and node.value is not None:
            self._chosen(node.value)

    def visit_AugAssign(self, node: cst.AugAssign) -> None:
        if not self._skip:
            self._chosen(node.value)  # context.options |= ssl.OP_NO_TLSv1_3

    def visit_Call(self, node: cst.Call) -> None:
        if self._skip:
            return
        for arg in node.args:
            if arg.keyword is not None and arg.keyword.value in MINIMUM_KEYWORDS | MAXIMUM_KEYWORDS:
                self._setting(arg, arg.keyword.value, arg.value, None)
            else:
                self._chosen(arg.value)

    def _setting(self, node: cst.CSTNode, name: str, value: cst.BaseExpression, receiver: str | None) -> None:
        floor = name in MINIMUM_KEYWORDS
        if not floor and name not in MAXIMUM_KEYWORDS:
            return
        version = self._version(value)
        if version is None:
            return
        shown = f"`{receiver}.{name} = {self.ctx.code_for(value)}`" if receiver else \
            f"`{name}={self.ctx.code_for(value)}`"
        if version in TLS13:
            if floor:
                self.evidence(node, f"TLS 1.3 minimum ({shown.strip('`')})")
            return
        label, severity = VERSIONS.get(version, (None, None))
        if label is None:
            return
        if floor:
            consequence = f"connections may use {label}" + ("" if version == "TLSv1_2" else ", which has known attacks")
        else:
            consequence = f"caps TLS at {label}: TLS 1.3 is never used"
            severity = Severity.LOW if version == "TLSv1_2" else Severity.MEDIUM
        self.report(node, what=shown, consequence=consequence, severity=severity)

    def _version(self, value: cst.BaseExpression) -> str | None:
        """`TLSv1_2` for `ssl.TLSVersion.TLSv1_2` (however imported), else None."""
        qualified = self.ctx.qualify(value) or ""
        if qualified.startswith("ssl.TLSVersion."):
            return qualified.rsplit(".", 1)[-1]
        return None

    # -- pinned protocols ------------------------------------------------------------
    def _chosen(self, value: cst.BaseExpression) -> None:
        """A protocol constant given to a call or assigned: `SSLContext(ssl.PROTOCOL_TLSv1)`,
        `ssl_version=...`, `options = ssl.OP_NO_SSLv3 | ssl.OP_NO_TLSv1_3`. Constants
        compared, or used as keys of a translation table, choose nothing."""
        parts = [value]
        while parts:
            part = parts.pop()
            if isinstance(part, cst.BinaryOperation) and isinstance(part.operator, cst.BitOr):
                parts.extend((part.left, part.right))
            elif isinstance(part, (cst.Attribute, cst.Name)):
                qualified = self.ctx.qualify(part) or ""
                if qualified.startswith("ssl.") and self.ctx.imports.is_imported(dotted(part) or ""):
                    self._constant(part, qualified)

    def _constant(self, node: cst.CSTNode, qualified: str) -> None:
        shown = f"`{self.ctx.code_for(node)}`"
        if qualified in PINNED:
            label, severity = PINNED[qualified]
            consequence = f"pins {label}" + (": TLS 1.3 is never used" if severity is Severity.LOW
                                             else ", which has known attacks")
            self.report(node, what=shown, consequence=consequence, severity=severity)
        elif qualified == "ssl.OP_NO_TLSv1_3":
            self.report(node, what=shown, consequence="turns TLS 1.3 off", severity=Severity.LOW)
        elif qualified in ANY_VERSION and not self._floor_set():
            self.report(node, what=shown, consequence="deprecated, and no `minimum_version` is set: "
                        "TLS 1.2 is accepted (TLS 1.0 before Python 3.10)", severity=Severity.LOW,
                        confidence=Confidence.MEDIUM)

    def _floor_set(self) -> bool:
        if self._sets_floor is None:
            self._sets_floor = any(
                (isinstance(n, cst.Attribute) and n.attr.value == "minimum_version")
                or (isinstance(n, cst.Arg) and n.keyword is not None and n.keyword.value in MINIMUM_KEYWORDS)
                for n in walk.iter_nodes(self.ctx.module)
            )
        return self._sets_floor

