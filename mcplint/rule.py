"""The base class every rule derives from.

A rule is one class in one module of `mcplint.rules`; it is found automatically. Its
class attributes are checked when the class is defined, and its docstring is its
documentation (headings as in ruff: What it does / Why is this bad? / Example /
Use instead / References). `report()` is the only way a rule speaks.
"""

from __future__ import annotations

import inspect
import re
from typing import TYPE_CHECKING, Callable, ClassVar

from mcplint.files import matches
from mcplint.finding import Confidence, RuleMeta, Severity, Span

if TYPE_CHECKING:
    import libcst as cst

    from mcplint.context import FileContext
    from mcplint.fix import NodeFix
    from mcplint.prefilter import AnyOf, Prefilter
    from mcplint.mcp.model import Handler, Server
    from mcplint.mcp.taint import Taint
    from mcplint.outline import Outline
    from mcplint.text import TextDocument

CODE_RE = re.compile(r"^MCP\d{3}$")
NAME_RE = re.compile(r"^[a-z][a-z0-9]*(?:-[a-z0-9]+)*$")
CHECKLIST_RE = re.compile(r"^MCP-C(0[1-9]|1[0-3])$")
REQUIRED_HEADINGS = ("What it does", "Why is this bad?", "Example", "Use instead")


def doc_sections(doc: str) -> dict[str, str]:
    """Split a rule docstring into its `## Heading` sections."""
    sections: dict[str, str] = {}
    current = None
    lines: list[str] = []
    for line in doc.splitlines():
        match = re.match(r"^## (.+?)\s*$", line)
        if match:
            if current is not None:
                sections[current] = "\n".join(lines).strip()
            current, lines = match.group(1), []
        elif current is not None:
            lines.append(line)
    if current is not None:
        sections[current] = "\n".join(lines).strip()
    return sections


def _first_sentence(text: str) -> str:
    prose = text.split("```", 1)[0]
    prose = " ".join(prose.split())
    match = re.match(r"(.+?[.!?])(?:\s|$)", prose)
    return match.group(1) if match else prose


def code_blocks(text: str, any_language: bool = False) -> list[str]:
    """Fenced blocks of a docs section: Python ones, or (text rules) of any language."""
    language = r"[\w.+-]*" if any_language else r"(?:python|py)?"
    return re.findall(r"```" + language + r"\n(.*?)```", text, flags=re.DOTALL)


class Rule:
    """Base class; not a rule itself."""

    code: ClassVar[str]
    name: ClassVar[str]
    severity: ClassVar[Severity]
    confidence: ClassVar[Confidence]
    cwe: ClassVar[int | None]
    checklist: ClassVar[str | None]
    message: ClassVar[str]  # str.format template; report() fills it

    # "mcp": runs on files whose MCP model has servers or handlers.
    # "python": runs on every Python file whose bytes match `prefilter`.
    # "text": runs on non-Python files whose name matches `files` (Dockerfile, .env,
    # MCP client JSON, requirements); `check_text` sees the decoded text.
    # "engine": a diagnostic about mcplint's own view of the code (family MCP0xx),
    # emitted by the engine, never instantiated.
    scope: ClassVar[str] = "mcp"
    prefilter: ClassVar["re.Pattern[bytes] | Prefilter | AnyOf | None"] = None
    # Text rules: glob patterns matched against a file's name, or against its last
    # path parts when the pattern has a slash (".cursor/mcp.json").
    files: ClassVar[tuple[str, ...]] = ()
    # Text rules: the file name the docs' Example / Use instead blocks are checked as.
    example_name: ClassVar[str] = ""

    # Does a project's own helper named like an escaping function (`quote_sql_string`)
    # make a value safe for this sink? True for injection into a quoted language.
    escape_sanitizes: ClassVar[bool] = False
    # Does an allow-list check of the value before the sink (`if x not in ALLOWED:
    # raise`) make it safe? True where any value of a set the server chose is: a file
    # name, a URL, a command (`mcp.guards.allow_listed`). MCP302 and MCP303 judge their
    # checks themselves (an allow-list or a pattern lowers the confidence to low).
    allow_list_sanitizes: ClassVar[bool] = False
    # The flagged span is a secret: the console masks it in the source excerpt.
    redact: ClassVar[bool] = False
    # "mcp" rules: can the rule report (or record evidence) in a project module that
    # MCP code imports but that no handler passes tool input to? True: anywhere (the
    # default); False: never, because each report needs tool input or a server or
    # handler of the file itself; a prefilter: only in a file whose bytes match it.
    # The engine analyses such a module with the rules that can report there, and does
    # not parse it when none can. Tests check every report against this.
    in_imported_modules: ClassVar["bool | Prefilter | AnyOf"] = True
    # and, in such a file that `in_imported_modules` lets through, a second test on
    # CPython's tree of it (`mcplint.outline`), far cheaper than libcst's: False where the
    # rule cannot report there. Tests check every report against it too.
    imported_if: ClassVar["Callable[[Outline], bool] | None"] = None
    # "python" rules: the same second test of a file `prefilter` lets through, where
    # nothing else parses it (no MCP rule runs there): False where the rule cannot
    # report. Tests check every report against it.
    file_if: ClassVar["Callable[[Outline], bool] | None"] = None

    meta: ClassVar[RuleMeta]

    def __init_subclass__(cls, **kwargs) -> None:
        super().__init_subclass__(**kwargs)
        problems = []
        for attr, kind in (("code", str), ("name", str), ("severity", Severity), ("confidence", Confidence),
                           ("message", str)):
            if not isinstance(getattr(cls, attr, None), kind):
                problems.append(f"`{attr}` must be a {kind.__name__}")
        if not hasattr(cls, "cwe") or not (cls.cwe is None or isinstance(cls.cwe, int)):
            problems.append("`cwe` must be an int or None")
        if not problems:
            if not CODE_RE.match(cls.code):
                problems.append(f"code {cls.code!r} is not MCP + three digits")
            if not NAME_RE.match(cls.name):
                problems.append(f"name {cls.name!r} is not kebab-case")
            # Diagnostics (MCP0xx) say what mcplint could not see; they map to no control.
            if cls.scope == "engine":
                if cls.checklist is not None or not cls.code.startswith("MCP0"):
                    problems.append("engine diagnostics are MCP0xx codes with `checklist = None`")
            elif not isinstance(cls.checklist, str) or not CHECKLIST_RE.match(cls.checklist):
                problems.append(f"checklist {getattr(cls, 'checklist', None)!r} is not an id of checklist.md")
        if cls.scope not in ("mcp", "python", "text", "engine"):
            problems.append("`scope` must be 'mcp', 'python', 'text' or 'engine'")
        if cls.scope == "python" and cls.prefilter is None:
            problems.append("a 'python' scope rule needs a bytes `prefilter`")
        if cls.file_if is not None and cls.scope != "python":
            problems.append("only a 'python' scope rule has a `file_if`")
        if cls.scope == "text" and (not cls.files or not cls.example_name):
            problems.append("a 'text' scope rule needs `files` patterns and an `example_name`")
        doc = inspect.cleandoc(cls.__doc__ or "")
        sections = doc_sections(doc)
        missing = [h for h in REQUIRED_HEADINGS if h not in sections]
        if missing:
            problems.append(f"docstring lacks sections: {', '.join(missing)}")
        for heading in ("Example", "Use instead"):
            if heading in sections and not code_blocks(sections[heading], cls.scope == "text"):
                problems.append(f"docstring section {heading!r} has no code block")
        if problems:
            raise TypeError(f"rule {cls.__name__}: " + "; ".join(problems))
        cls.meta = RuleMeta(
            code=cls.code,
            name=cls.name,
            severity=cls.severity,
            confidence=cls.confidence,
            checklist=cls.checklist,
            cwe=cls.cwe,
            summary=_first_sentence(doc.split("##", 1)[0]) or _first_sentence(sections["What it does"]),
            why=_first_sentence(sections["Why is this bad?"]),
            fix=_first_sentence(sections["Use instead"]),
            docs=doc,
            redact=cls.redact,
        )

    def __init__(self, ctx: "FileContext") -> None:
        self.ctx = ctx

    # Hooks at the level the rule thinks in; plain `visit_<Node>` methods work too.
    def check_server(self, server: "Server") -> None:  # pragma: no cover - default
        pass

    def check_handler(self, handler: "Handler") -> None:  # pragma: no cover - default
        pass

    def check_text(self, doc: "TextDocument") -> None:  # pragma: no cover - default
        """Text rules: look at one non-Python file."""

    def through_call(self, taint: "Taint") -> "tuple[dict[str, str], Confidence] | None":
        """A value with `taint` is passed to another function of the project (the current
        handler is the caller): what this rule's findings reached through that call keep
        of the value's shape here, as message arguments that replace the callee's and a
        cap on confidence; None: nothing (MCP203: a URL built here with a fixed
        `https://host/` prefix leaves the callee's request only its path)."""
        return None

    @classmethod
    def wants_file(cls, path: str) -> bool:
        """Text rules: does `path` (display path, forward slashes) match `files`?"""
        return matches(cls.files, path)

    def report_at(
        self,
        span: "Span",
        *,
        severity: Severity | None = None,
        confidence: Confidence | None = None,
        snippet: str | None = None,
        **message_args: object,
    ) -> None:
        """Report a region of a text file (`check_text`); `snippet`: the text that
        identifies the problem for fingerprints (default: the flagged line)."""
        self.ctx.report_span(
            self,
            span,
            message=self.message.format(**message_args),
            severity=severity or self.severity,
            confidence=confidence or self.confidence,
            snippet=snippet,
        )

    def evidence(self, where: "cst.CSTNode | int", note: str, item: str | None = None) -> None:
        """Record that a control of the checklist is present (`where`: a node, or a
        line of a text file). The scorecard cites it for `pass`; `item` defaults to
        this rule's checklist id."""
        self.ctx.add_evidence(item or self.checklist, where, note, self.code)

    def report(
        self,
        node: cst.CSTNode,
        *,
        severity: Severity | None = None,
        confidence: Confidence | None = None,
        in_handler: "Handler | None" = None,
        taint: "Taint | None" = None,
        handler_level: bool = False,
        fix: "NodeFix | None" = None,
        **message_args: object,
    ) -> None:
        """Report `node`. The message template may use `{handler}` (the handler's label).
        `fix`: how to repair it (`mcplint.fix`), applied by `mcplint fix`."""
        handler = in_handler if in_handler is not None else self.ctx.handler
        message_args.setdefault("handler", handler.label if handler is not None else "code")
        self.ctx.report(
            self,
            node,
            message=self.message.format(**message_args),
            message_args=message_args,
            severity=severity or self.severity,
            confidence=confidence or self.confidence,
            handler=handler,
            taint=taint,
            handler_level=handler_level,
            fix=fix,
        )
