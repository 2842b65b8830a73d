"""The MCP model of one file: servers, how they are served, and their handlers."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

import libcst as cst

from mcplint.mcp import sdk


@dataclass
class Param:
    name: str
    node: cst.Param
    star: str = ""  # "", "*" or "**"
    injected: bool = False  # filled by the SDK (Context, dependencies)
    # False when the client cannot set it: a resource function's parameter that is
    # not a variable of the resource's URI template keeps its default.
    from_client: bool = True

    @property
    def untrusted(self) -> bool:
        return not self.injected and self.from_client

    @cached_property
    def annotation(self) -> str | None:
        """The source text of the annotation, generated when first asked (the parameters
        of every function of a file are read; few annotations are looked at)."""
        from mcplint.mcp.builder import node_source

        return node_source(self.node.annotation.annotation) if self.node.annotation is not None else None


@dataclass
class Value:
    """A configuration value as far as static reading can tell.

    `node` is where the value is written (the literal, the `os.getenv(...)` call, the
    `default=` of an argparse/click option), which may be far from `site`, the
    expression at the place of use (`host=host`).
    """

    text: str | None  # the literal, or the literal default of a runtime setting
    node: cst.CSTNode | None = None
    # Only a default: `os.getenv("HOST", "0.0.0.0")`, `args.host or "0.0.0.0"`, an
    # argparse/click default, a parameter default. Deployment may change it.
    from_env: bool = False
    site: cst.CSTNode | None = None

    @property
    def known(self) -> bool:
        return self.text is not None

    @property
    def is_all_interfaces(self) -> bool:
        return self.text is not None and self.text.strip() in sdk.ALL_INTERFACES

    @property
    def is_loopback(self) -> bool:
        return self.text is not None and (self.text.strip() in sdk.LOOPBACK_HOSTS or self.text.startswith("127."))


@dataclass
class Transport:
    # stdio, sse, streamable-http, http; "unknown" (chosen at run time) or
    # "unknown-network" (chosen at run time, but given a host/port: an HTTP path).
    kind: str
    node: cst.CSTNode  # the run(...) call, the *_app(...) call or the session manager
    via: str  # "run", "app", "session-manager"
    # None: not given. For run() that is the SDK default (127.0.0.1); an app or session
    # manager is bound by whatever serves it (`runner`, when this file shows it).
    host: Value | None = None
    runner: cst.Call | None = None  # uvicorn.run(...)/Config(...) serving this app, if seen

    @property
    def is_network(self) -> bool:
        return self.kind in sdk.NETWORK_TRANSPORTS or self.kind == "unknown-network"


@dataclass
class Server:
    var: str  # the dotted name the server is bound to ("mcp", "self.server"); "" if unbound
    dialect: str
    node: cst.CSTNode  # the constructor call (for inferred servers: the parameter or first use)
    kwargs: dict[str, cst.Arg] = field(default_factory=dict)
    has_star_kwargs: bool = False
    transports: list[Transport] = field(default_factory=list)
    handlers: list["Handler"] = field(default_factory=list)
    auth_evidence: list[cst.CSTNode] = field(default_factory=list)
    # Why the auth status cannot be told from this file (empty when it can).
    auth_unknown: list[str] = field(default_factory=list)
    # Every host setting that applies to this server: constructor `host=`,
    # `mcp.settings.host = ...`, `run(host=)`, `*_app(host=)`, the ASGI runner's host.
    hosts: list[Value] = field(default_factory=list)
    # For inferred servers: the qualified name of the parameter's annotation, if any.
    type_hint: str | None = None

    @property
    def network_transports(self) -> list[Transport]:
        return [t for t in self.transports if t.is_network]

    @property
    def stdio_only(self) -> bool:
        """Every transport this file shows is stdio (and it shows at least one)."""
        return bool(self.transports) and all(t.kind == sdk.STDIO for t in self.transports)

    @property
    def constructed(self) -> bool:
        return self.dialect != sdk.INFERRED

    @property
    def auth(self) -> str:
        """'configured', 'absent' or 'unknown' (see `auth_unknown` for why)."""
        if self.auth_evidence:
            return "configured"
        if self.auth_unknown:
            return "unknown"
        return "absent"


@dataclass
class Handler:
    kind: str  # tool, resource, prompt, completion
    name: str  # the name the client sees (the function name for low-level handlers)
    function: cst.FunctionDef
    server: Server | None
    params: list[Param]
    registration: cst.CSTNode  # the decorator or registering call
    uri: str | None = None  # resource URI template
    lowlevel: bool = False

    @property
    def label(self) -> str:
        return f"{self.kind} `{self.name}`"

    @property
    def untrusted_params(self) -> list[Param]:
        return [p for p in self.params if p.untrusted]


@dataclass
class AsgiRun:
    """`uvicorn.run(app, host=...)` and the like."""

    node: cst.Call
    app: cst.BaseExpression | None
    host: Value  # uvicorn's default when not given: 127.0.0.1
    linked: bool = False  # serves an app of a server in this file


@dataclass
class FileModel:
    servers: list[Server] = field(default_factory=list)
    handlers: list[Handler] = field(default_factory=list)
    asgi_runs: list[AsgiRun] = field(default_factory=list)
    # functions of other modules registered here: (kind, exposed name, qualified name)
    imported_handlers: list[tuple[str, str, str]] = field(default_factory=list)

    def handler_for(self, function: cst.FunctionDef) -> Handler | None:
        for handler in self.handlers:
            if handler.function is function:
                return handler
        return None

    @property
    def asgi_hosts(self) -> list[Value]:
        """Hosts passed to ASGI runners (uvicorn.run(app, host=...)) in this file."""
        return [run.host for run in self.asgi_runs]

    @property
    def is_mcp(self) -> bool:
        return bool(self.servers or self.handlers)
