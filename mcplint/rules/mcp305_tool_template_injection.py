import re

import libcst as cst

from mcplint.finding import Confidence, Severity
from mcplint.mcp import walk
from mcplint.mcp.builder import argument
from mcplint.mcp.names import dotted
from mcplint.prefilter import lazy_compile
from mcplint.rule import Rule
from mcplint.mcp.taint import source_label

# Constructors whose first argument is template source: qualified name -> (engine, keyword).
TEMPLATE_CLASSES: dict[str, tuple[str, str]] = {
    "jinja2.Template": ("jinja2", "source"),
    "jinja2.environment.Template": ("jinja2", "source"),
    "jinja2.nativetypes.NativeTemplate": ("jinja2", "source"),
    "flask.render_template_string": ("jinja2", "source"),
    "quart.render_template_string": ("jinja2", "source"),
    "mako.template.Template": ("mako", "text"),
    "tornado.template.Template": ("tornado", "template_string"),
    "Cheetah.Template.Template": ("Cheetah", "source"),
    "genshi.template.MarkupTemplate": ("genshi", "source"),
    "genshi.template.TextTemplate": ("genshi", "source"),
    "genshi.template.NewTextTemplate": ("genshi", "source"),
    "genshi.template.OldTextTemplate": ("genshi", "source"),
    "django.template.Template": ("django", "template_string"),
    "django.template.base.Template": ("django", "template_string"),
}
# Environments whose `.from_string(source)` compiles a template: qualified name -> engine.
ENVIRONMENTS = {
    "jinja2.Environment": "jinja2",
    "jinja2.environment.Environment": "jinja2",
    "jinja2.nativetypes.NativeEnvironment": "jinja2",
    "jinja2.sandbox.SandboxedEnvironment": "jinja2-sandbox",
    "jinja2.sandbox.ImmutableSandboxedEnvironment": "jinja2-sandbox",
    "django.template.Engine": "django",
    "django.template.engine.Engine": "django",
    "django.template.Engine.get_default": "django",
    "django.template.engine.Engine.get_default": "django",
}
ENVIRONMENT_NAME = lazy_compile(r"env|jinja|engine|templat", re.IGNORECASE)
DJANGO_ENGINES = frozenset({"django.template.engines", "django.template.loader.engines"})
# Calls that keep the input's text: the agent still writes the template.
CONTENT_PRESERVING = lazy_compile(
    r"^(?:str|dedent|strip|lstrip|rstrip|replace|format|join|decode|encode|b64decode|urlsafe_b64decode|unquote"
    r"|unquote_plus|lower|upper)$"
)
ENGINE_NAMES = {
    "jinja2": "Jinja2", "jinja2-sandbox": "sandboxed Jinja2", "mako": "Mako", "tornado": "Tornado",
    "Cheetah": "Cheetah", "genshi": "Genshi", "django": "Django",
}
FILE_READS = frozenset({"open", "read", "read_text", "read_bytes", "readlines", "load"})
# What an engine lets a template do, for the message.
EFFECTS = {
    "jinja2": "which runs Python through `{{ ... }}` expressions",
    "jinja2-sandbox": "whose sandbox limits, but has not always contained, template expressions",
    "mako": "which runs Python in `${ ... }` and `<% %>` blocks",
    "tornado": "which runs Python in `{{ ... }}` and `{% ... %}` blocks",
    "Cheetah": "which runs Python in `$...` and `#...` directives",
    "genshi": "which evaluates Python expressions in `${ ... }`",
    "django": "which reads any attribute of the context objects and dumps them with `{% debug %}`",
}


def _callee_name(func: cst.BaseExpression) -> str:
    if isinstance(func, cst.Attribute):
        return func.attr.value
    return func.value if isinstance(func, cst.Name) else ""


class ToolTemplateInjection(Rule):
    """A tool parameter is compiled as template source (server-side template injection).

    ## What it does
    Reports templates whose *source* derives from an untrusted parameter of a tool,
    resource template or prompt handler: `jinja2.Template(x)`,
    `Environment(...).from_string(x)`, Flask's and Quart's `render_template_string(x)`,
    `mako.template.Template(x)`, `tornado.template.Template(x)`, Cheetah and Genshi
    templates, and Django's `Template(x)` and `engines["django"].from_string(x)`. An
    f-string that puts the input into the template text counts too.

    Jinja2 (outside a sandbox), Mako, Tornado, Cheetah and Genshi templates run Python:
    critical. Django templates cannot call arbitrary code but read any attribute of
    the objects in their context: high. A Jinja2 `SandboxedEnvironment` (also when
    bound to a name or `self.env` in this file) is reported at medium severity and low
    confidence: its sandbox has been escaped before (CVE-2016-10745, CVE-2019-10906,
    CVE-2024-56326), loops still exhaust the CPU, and the context's objects are still
    exposed. Source the input only selects (a template file read from a path it gives)
    is reported at medium confidence.

    Not reported: the input passed as a render *variable*
    (`template.render(name=x)`), `string.Template` (only `$name` substitution), and
    logic-less Mustache renderers (`chevron`, `pystache`), which cannot run code.
    `env.get_template(x)` loads a file by name (a path question, not this rule's).
    Flows into functions outside the handler are not followed yet. Silent when the
    value is checked against an allow-list first (`if source not in TEMPLATES: raise`,
    or the call inside `if source in TEMPLATES:`).

    ## Why is this bad?
    Template engines compile their source into Python. Whoever steers the agent (a
    user, or a prompt injected into a page it read) writes
    `{{ cycler.__init__.__globals__.os.popen('id').read() }}` and runs commands on the
    server, reads its environment and secrets, or loops it to a standstill. "Render a
    report from this template" and "format a message" tools are where this reaches
    MCP servers.

    ## Example
    ```python
    from jinja2 import Template
    from mcp.server.fastmcp import FastMCP

    mcp = FastMCP("mailer")

    @mcp.tool()
    def preview_email(body_template: str, customer: str) -> str:
        return Template(body_template).render(customer=customer)
    ```

    ## Use instead
    Keep the template in the server and pass the input as a variable; if users must
    write templates, render them with a logic-less engine such as `string.Template`.
    ```python
    from jinja2 import Environment, select_autoescape
    from mcp.server.fastmcp import FastMCP

    mcp = FastMCP("mailer")
    env = Environment(autoescape=select_autoescape())
    BODY = env.from_string("Dear {{ customer }},\\n{{ message }}")

    @mcp.tool()
    def preview_email(message: str, customer: str) -> str:
        return BODY.render(customer=customer, message=message)
    ```

    ## References
    - [CWE-1336: Improper Neutralization of Special Elements Used in a Template Engine](https://cwe.mitre.org/data/definitions/1336.html)
    - [Jinja2: Sandbox](https://jinja.palletsprojects.com/en/stable/sandbox/)
    - [PortSwigger: Server-side template injection](https://portswigger.net/web-security/server-side-template-injection)
    """

    code = "MCP305"
    name = "tool-template-injection"
    severity = Severity.CRITICAL
    confidence = Confidence.HIGH
    cwe = 1336
    checklist = "MCP-C04"
    in_imported_modules = False  # each report carries tool input
    escape_sanitizes = True
    allow_list_sanitizes = True
    message = "{handler} parameter `{param}` is compiled as a {engine} template by `{sink}`, {effect}"

    def __init__(self, ctx) -> None:
        super().__init__(ctx)
        self._bindings: dict[str, str] | None = None

    def visit_Call(self, node: cst.Call) -> None:
        if self.ctx.handler is None:
            return
        found = self._sink(node)
        if found is None:
            return
        engine, source, sink = found
        taint = self.ctx.taint(source) if source is not None else None
        if taint is None:
            return
        severity = confidence = None
        if engine == "jinja2-sandbox":
            severity, confidence = Severity.MEDIUM, Confidence.LOW
        elif engine == "django":
            severity = Severity.HIGH
        if confidence is None and self._only_chosen(source, taint):
            confidence = Confidence.MEDIUM
        param = source_label(taint, [source, *(step.node for step in taint.steps)])
        if isinstance(sink, cst.CSTNode):  # the receiver of `.from_string()`
            sink = f"{self._shown(sink)}.from_string"
        self.report(
            node, taint=taint, severity=severity, confidence=confidence, param=param,
            engine=ENGINE_NAMES[engine], sink=sink, effect=EFFECTS[engine],
        )

    # -- sinks -------------------------------------------------------------------
    def _sink(self, node: cst.Call) -> tuple[str, cst.BaseExpression | None, str | cst.CSTNode] | None:
        qualified = self.ctx.qualify(node.func) or ""
        spec = TEMPLATE_CLASSES.get(qualified)
        if spec is not None:
            engine, keyword = spec
            return engine, argument(node, 0, keyword), qualified
        func = node.func
        if isinstance(func, cst.Attribute) and func.attr.value == "from_string":
            engine = self._environment(func.value)
            if engine is not None:
                source = argument(node, 0, "source") or argument(node, 0, "template_code")
                return engine, source, func.value
        return None

    def _shown(self, receiver: cst.BaseExpression) -> str:
        text = " ".join(self.ctx.code_for(receiver).split())
        return text if len(text) <= 40 else text[:39] + "…"

    def _environment(self, receiver: cst.BaseExpression) -> str | None:
        """The engine of the object `.from_string()` is called on, or None if it is none we know."""
        if isinstance(receiver, cst.Call):
            return ENVIRONMENTS.get(self.ctx.qualify(receiver.func) or "")
        if isinstance(receiver, cst.Subscript):  # engines["django"]
            return "django" if self.ctx.qualify(receiver.value) in DJANGO_ENGINES else None
        name = dotted(receiver)
        if name is None:
            return None
        bound = self._bound_environments().get(name)
        if bound is not None:
            return bound
        qualified = self.ctx.qualify(receiver) or ""
        if qualified in ENVIRONMENTS:  # Engine.get_default
            return ENVIRONMENTS[qualified]
        # An environment made where this file cannot see (`ctx.lifespan_context.jinja_env`),
        # named like one: `Settings.from_string(text)` is not a template.
        if not ENVIRONMENT_NAME.search(name.rsplit(".", 1)[-1]):
            return None
        if self.ctx.imports.imports_package(("jinja2",)):
            return "jinja2"
        if any(a.startswith("django.template") for a in self.ctx.imports.aliases.values()):
            return "django"
        return None

    def _bound_environments(self) -> dict[str, str]:
        """Names (`env`, `self.env`, `JINJA`) assigned an environment anywhere in the file."""
        if self._bindings is None:
            self._bindings = {}
            for sub in walk.iter_nodes(self.ctx.module):
                if isinstance(sub, cst.Assign):
                    targets = [t.target for t in sub.targets]
                elif isinstance(sub, cst.AnnAssign) and sub.value is not None:
                    targets = [sub.target]
                else:
                    continue
                value = sub.value
                if not isinstance(value, cst.Call):
                    continue
                engine = ENVIRONMENTS.get(self.ctx.qualify(value.func) or "")
                if engine is None:
                    continue
                for target in targets:
                    name = dotted(target)
                    # a sandbox anywhere wins: a miss is cheaper than a false critical
                    if name is not None and self._bindings.get(name) != "jinja2-sandbox":
                        self._bindings[name] = engine
        return self._bindings

    # -- confidence ----------------------------------------------------------------
    def _only_chosen(self, source: cst.BaseExpression, taint) -> bool:
        """The input selects the template (reads a file it names) instead of writing it."""
        nodes = [source, *(step.node for step in taint.steps)]
        for node in nodes:
            if isinstance(node, cst.Call) and not CONTENT_PRESERVING.match(_callee_name(node.func)) \
                    and not _reads(node, taint.param):
                return True
            # `(TEMPLATES / name).read_text()`: the taint engine keeps the path's taint, without a step
            for sub in walk.iter_nodes(node):
                if isinstance(sub, cst.Call) and _callee_name(sub.func) in FILE_READS:
                    return True
        return False


def _reads(call: cst.Call, param: str) -> bool:
    """`arguments.get("template")`: reading the parameter itself."""
    func = call.func
    if not (isinstance(func, cst.Attribute) and func.attr.value == "get"):
        return False
    return (dotted(func.value) or "").split(".")[0] == param
