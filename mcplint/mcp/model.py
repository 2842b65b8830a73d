"""The MCP model of one file: servers, how they are served, and their handlers."""

from __future__ import annotations

from dataclasses import dataclass, field

import libcst as cst

from mcplint.mcp import sdk


@dataclass
class Param:
    name: str
    node: cst.Param
    annotation: str | None  # source text of the annotation
    star: str = ""  # "", "*" or "**"
    injected: bool = False  # filled by the SDK (Context, dependencies)

    @property
    def untrusted(self) -> bool:
        return not self.injected


@dataclass
class Value:
    """A configuration value as far as static reading can tell."""

    text: str | None  # the literal, or a literal default of os.getenv(...)
    node: cst.CSTNode | None = None
    from_env: bool = False  # os.getenv("HOST", "0.0.0.0"): the default is only a default

    @property
    def known(self) -> bool:
        return self.text is not None


@dataclass
class Transport:
    kind: str  # stdio, sse, streamable-http, http, unknown
    node: cst.CSTNode
    via: str  # "run", "app", "session-manager"
    host: Value | None = None  # None: the SDK default

    @property
    def is_network(self) -> bool:
        return self.kind in sdk.NETWORK_TRANSPORTS or self.kind == "unknown-network"


@dataclass
class Server:
    var: str  # the dotted name the server is bound to ("mcp", "self.server")
    dialect: str
    node: cst.CSTNode  # the constructor call (or the parameter for inferred servers)
    kwargs: dict[str, cst.Arg] = field(default_factory=dict)
    has_star_kwargs: bool = False
    transports: list[Transport] = field(default_factory=list)
    handlers: list["Handler"] = field(default_factory=list)
    auth_evidence: list[cst.CSTNode] = field(default_factory=list)

    @property
    def network_transports(self) -> list[Transport]:
        return [t for t in self.transports if t.is_network]

    @property
    def auth(self) -> str:
        """'configured', 'absent' or 'unknown' (settings splatted in or from env)."""
        if self.auth_evidence:
            return "configured"
        if self.has_star_kwargs or self.dialect == sdk.INFERRED:
            return "unknown"
        return "absent"


@dataclass
class Handler:
    kind: str  # tool, resource, prompt, completion
    name: str  # the name the client sees
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
class FileModel:
    servers: list[Server] = field(default_factory=list)
    handlers: list[Handler] = field(default_factory=list)
    # Hosts passed to ASGI runners (uvicorn.run(app, host=...)) in this file.
    asgi_hosts: list[Value] = field(default_factory=list)

    def handler_for(self, function: cst.FunctionDef) -> Handler | None:
        for handler in self.handlers:
            if handler.function is function:
                return handler
        return None

    @property
    def is_mcp(self) -> bool:
        return bool(self.servers or self.handlers)
