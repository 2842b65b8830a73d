"""What the MCP SDKs look like, as data (see shared/reference/mcp-sdk-surface.md).

A new SDK version should be a table edit here, not a change to the model builder.
"""

from __future__ import annotations

import re

from mcplint.prefilter import AnyOf, Prefilter, containing

# Dialects: which SDK generation a server object belongs to.
MCP_V1 = "mcp-v1"  # official SDK 1.x, mcp.server.fastmcp.FastMCP
MCP_V2 = "mcp-v2"  # official SDK 2.x, mcp.server.mcpserver.MCPServer
FASTMCP = "fastmcp"  # standalone fastmcp 2.x-4.x
LOWLEVEL = "lowlevel"  # mcp.server.lowlevel.Server (v1 decorators or v2 on_* kwargs)
INFERRED = "inferred"  # a server object we only see by how it is used (register(mcp) helpers)
PROVIDER = "fastmcp-provider"  # fastmcp 3.x+ component containers (FastMCPApp, LocalProvider), served by a FastMCP

SERVER_CLASSES: dict[str, str] = {
    "mcp.server.fastmcp.FastMCP": MCP_V1,
    "mcp.server.fastmcp.server.FastMCP": MCP_V1,
    "mcp.server.mcpserver.MCPServer": MCP_V2,
    "mcp.server.mcpserver.server.MCPServer": MCP_V2,
    "mcp.server.MCPServer": MCP_V2,
    "fastmcp.FastMCP": FASTMCP,
    "fastmcp.server.FastMCP": FASTMCP,
    "fastmcp.server.server.FastMCP": FASTMCP,
    "mcp.server.lowlevel.Server": LOWLEVEL,
    "mcp.server.lowlevel.server.Server": LOWLEVEL,
    "mcp.server.Server": LOWLEVEL,
    "fastmcp.FastMCPApp": PROVIDER,
    "fastmcp.apps.FastMCPApp": PROVIDER,
    "fastmcp.apps.app.FastMCPApp": PROVIDER,
    "fastmcp.server.providers.LocalProvider": PROVIDER,
    "fastmcp.server.providers.local_provider.LocalProvider": PROVIDER,
}

# Classmethods and helpers that build a server.
SERVER_FACTORIES: dict[str, str] = {
    "fastmcp.FastMCP.from_openapi": FASTMCP,
    "fastmcp.FastMCP.from_fastapi": FASTMCP,
    "fastmcp.FastMCP.as_proxy": FASTMCP,
    "fastmcp.server.create_proxy": FASTMCP,
    "fastmcp.server.server.create_proxy": FASTMCP,
    "fastmcp.server.proxy.FastMCPProxy": FASTMCP,
}
# A class whose name ends so and that comes from the project (a subclass defined in
# another module) is taken for a server of unknown configuration.
SERVER_CLASS_SUFFIXES = ("FastMCP", "MCPServer")

# A file that does not look like MCP code (MCP_PREFILTER) but may still hold a server
# or handlers of its own: a project subclass of a server class, low-level handler
# tables reached through a project module's re-exports.
SERVER_HINT = containing(*(s.encode() for s in SERVER_CLASS_SUFFIXES), b"CallToolRequest", b"add_request_handler",
                         b"request_handlers")

# Type names of server objects, for `def register(mcp: FastMCP)` helpers.
SERVER_TYPE_NAMES = frozenset({"FastMCP", "MCPServer", "Server", "FastMCPProxy"})

# Decorator attribute -> handler kind, for high-level servers.
HIGH_LEVEL_DECORATORS = {"tool": "tool", "resource": "resource", "prompt": "prompt", "completion": "completion"}
# Low-level (v1) decorators whose handler receives client input.
LOW_LEVEL_DECORATORS = {
    "call_tool": "tool",
    "read_resource": "resource",
    "get_prompt": "prompt",
    "completion": "completion",
}
# Low-level v2: handlers are constructor keyword arguments (first parameter: the context).
LOW_LEVEL_V2_KWARGS = {
    "on_call_tool": "tool",
    "on_read_resource": "resource",
    "on_get_prompt": "prompt",
    "on_completion": "completion",
}
# Low-level v2 `server.add_request_handler("tools/call", Params, handler)`.
LOW_LEVEL_REQUEST_METHODS = {
    "tools/call": "tool",
    "resources/read": "resource",
    "prompts/get": "prompt",
    "completion/complete": "completion",
}
# Low-level v1 internals: `server.request_handlers[types.CallToolRequest] = handler`.
LOW_LEVEL_REQUEST_TYPES = {
    "CallToolRequest": "tool",
    "ReadResourceRequest": "resource",
    "GetPromptRequest": "prompt",
    "CompleteRequest": "completion",
}
# Imperative registration: `mcp.add_tool(fn)`, fastmcp's `mcp.tool(fn)`.
ADD_METHODS = {
    "add_tool": "tool",
    "tool": "tool",
    "add_prompt": "prompt",
    "prompt": "prompt",
    "add_resource": "resource",
    "add_template": "resource",
}
# `X.from_function(fn, ...)` by the class's name.
FROM_FUNCTION = {
    "Tool.from_function": "tool",
    "FunctionTool.from_function": "tool",
    "Prompt.from_function": "prompt",
    "FunctionPrompt.from_function": "prompt",
    "Resource.from_function": "resource",
    "FunctionResource.from_function": "resource",
    "ResourceTemplate.from_function": "resource",
}
# fastmcp 3.x+: standalone decorators, registered later through add_tool or providers.
STANDALONE_DECORATORS = {
    "fastmcp.tools.tool": "tool",
    "fastmcp.tools.function_tool.tool": "tool",
    "fastmcp.resources.resource": "resource",
    "fastmcp.resources.function_resource.resource": "resource",
    "fastmcp.prompts.prompt": "prompt",
    "fastmcp.prompts.function_prompt.prompt": "prompt",
}

# Parameters filled in by the SDK, not by the client.
INJECTED_TYPE_NAMES = frozenset(
    {"Context", "ServerRequestContext", "RequestContext", "UserSession"}
)
INJECTED_DEFAULT_CALLS = frozenset(
    {"Depends", "Shared", "CurrentContext", "OptionalCurrentContext", "CurrentFastMCP", "CurrentAccessToken",
     "CurrentRequest", "CurrentHeaders", "CurrentSession", "OptionalCurrentSession", "TokenClaim", "Progress",
     "CurrentDocket", "CurrentWorker"}
)

# Transports.
STDIO = "stdio"
NETWORK_TRANSPORTS = frozenset({"sse", "streamable-http", "http"})
TRANSPORT_NAMES = NETWORK_TRANSPORTS | {STDIO}
RUN_METHODS = {
    "run": None,  # transport from the first argument / transport=
    "run_async": None,
    "run_stdio_async": STDIO,
    "run_sse_async": "sse",
    "run_streamable_http_async": "streamable-http",
    "run_http_async": "http",
}
# Keyword arguments that only an HTTP transport takes: `run(transport=x, host=...)`
# with a transport chosen at run time is the HTTP path.
NETWORK_RUN_KWARGS = frozenset({"host", "port", "path", "mount_path", "stateless_http", "json_response"})
APP_METHODS = {
    "sse_app": "sse",
    "streamable_http_app": "streamable-http",
    "http_app": "http",
}
# `anyio.run(mcp.run_sse_async)`: a run method passed uncalled.
ASYNC_ENTRY_POINTS = frozenset({"anyio.run", "trio.run", "asyncio.run"})
# Low-level servers are served by wrapping them in one of these.
LOW_LEVEL_TRANSPORT_CLASSES = {
    "mcp.server.streamable_http_manager.StreamableHTTPSessionManager": "streamable-http",
    "mcp.server.sse.SseServerTransport": "sse",
}
STDIO_CONTEXTS = frozenset({"mcp.server.stdio.stdio_server"})
ASGI_RUNNERS = frozenset(
    {"uvicorn.run", "uvicorn.Config", "uvicorn.config.Config", "hypercorn.asyncio.serve", "hypercorn.trio.serve"}
)
ASGI_DEFAULT_HOST = "127.0.0.1"  # uvicorn's default bind address

# Authentication.
AUTH_KWARGS = frozenset({"auth", "token_verifier", "auth_server_provider"})
# Middleware (or an ASGI wrapper) whose name says it authenticates.
AUTH_MIDDLEWARE_HINT = re.compile(r"auth|bearer|jwt|oauth|api_?key|token_?(?:verif|valid|check)", re.IGNORECASE)
# Request headers whose reading means the code checks credentials itself.
AUTH_HEADERS = frozenset({"authorization", "proxy-authorization", "x-api-key", "api-key", "x-auth-token"})

# Why a server's auth status cannot be told from its file (`Server.auth_unknown`).
AUTH_UNKNOWN_SPLAT = "settings are passed in with `**`"
AUTH_UNKNOWN_ELSEWHERE = "the server object is created elsewhere"
AUTH_UNKNOWN_SUBCLASS = "a project subclass of the SDK server class may configure auth"
AUTH_UNKNOWN_PROVIDER = "a component provider: the FastMCP server it is added to decides"
AUTH_UNKNOWN_MIDDLEWARE = "auth middleware is configured"
AUTH_UNKNOWN_HEADER = "the code reads the Authorization header itself"
# fastmcp 2.x builds a provider from FASTMCP_SERVER_AUTH when `auth` is omitted (gone in 3.0).
AUTH_UNKNOWN_FASTMCP_ENV = "fastmcp 2.x reads auth from FASTMCP_SERVER_AUTH when `auth=` is omitted"

# Settings read from the environment.
ENV_GETTERS = frozenset({"os.getenv", "os.environ.get", "os.environ.setdefault"})

LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1", "[::1]"})
ALL_INTERFACES = frozenset({"0.0.0.0", "::", "[::]", ""})

# Registrations and entry points written the usual ways: decorators, `add_tool`, a run
# with a transport, an app for one (the part of MCP_PREFILTER that MAY_SERVE shares).
_SERVING_SHAPES = (
    Prefilter(re.compile(rb"@\s*[\w.]+\.(?:tool|resource|prompt|call_tool|read_resource|get_prompt)\b"),
              anchors=(b".tool", b".resource", b".prompt", b".call_tool", b".read_resource", b".get_prompt")),
    Prefilter(re.compile(rb"\.add_tool\s*\(|\bTool\.from_function\b|\bon_call_tool\s*="),
              anchors=(b"add_tool", b"from_function", b"on_call_tool")),
    Prefilter(re.compile(rb"\.run(?:_async)?\(\s*(?:transport\s*=|[\"'](?:sse|http|streamable-http|stdio)[\"'])"),
              anchors=(b"transport", b"sse", b"http", b"stdio")),
    Prefilter(re.compile(rb"\.run_(?:sse|streamable_http|http|stdio)_async\b|\.(?:sse|streamable_http|http)_app\s*\("),
              anchors=(b"_async", b"_app")),
)

# The cheap first pass: files that can hold an MCP server or its handlers. It also
# catches helper modules that never import mcp (`def register(mcp): @mcp.tool()`)
# and entry points that run a server built elsewhere (`mcp.run(transport="sse")`).
MCP_PREFILTER = AnyOf(  # each regex runs only in files holding one of its literal anchors
    Prefilter(re.compile(rb"\b(?:from|import)\s+(?:mcp|fastmcp)\b"), anchors=(b"mcp",)),
    *_SERVING_SHAPES,
)

# Of the files MCP_PREFILTER matches, those that may build a server or register
# handlers themselves (every shape the model builder reads, generously: a file that
# matches needlessly is analysed as before). The others only import from the SDK (its
# types for a tool's result, a `Context` annotation): `scan` analyses them as it does
# project modules, fully where handlers pass tool input into them and otherwise only
# for the rules that report in a module MCP code imports.
MAY_SERVE = AnyOf(
    *_SERVING_SHAPES,
    SERVER_HINT,
    # the low-level class: `Server(...)`, `Server as S`, and `mcp: Server` in helpers (not "MCP Server" in prose)
    Prefilter(re.compile(rb"\bServer\(|\bServer\s+as\b|[:\[]\s*Server\b"), anchors=(b"Server",)),
    containing(b"FastMCPApp", b"LocalProvider", b"create_proxy", b"as_proxy", b"from_openapi", b"from_fastapi",
               b"on_read_resource", b"on_get_prompt", b"on_completion", b"stdio_server", b"SessionManager",
               b"SseServerTransport"),
    # `mcp.tool(name=...)(fn)`, `mcp.tool(fn)`, `server.add_prompt(p)`, fastmcp's standalone `@tool`, `tool(fn)`
    Prefilter(re.compile(rb"\.(?:tool|resource|prompt|completion|add_tool|add_prompt|add_resource|add_template)\s*\("
                         rb"|(?<![\w.])(?:tool|resource|prompt)\(|@\s*(?:tool|resource|prompt)\b"),
              anchors=(b"tool", b"resource", b"prompt", b"completion", b"add_template")),
)

# -- Authentication providers and exposure guards (MCP102-MCP105, MCP602-MCP604) -----

# fastmcp's own verifiers and providers meant for development and tests (their
# docstrings: "for testing and development", "Never use this in production").
# Last name -> what it does wrong; matched on names imported from `fastmcp`.
DEV_AUTH_CLASSES = {
    "StaticTokenVerifier": "accepts a fixed list of plaintext tokens that never rotate",
    "DebugTokenVerifier": "accepts every non-empty token unless given `validate=`",
    "InMemoryOAuthProvider": "is an in-memory OAuth server for tests: anyone can register and get a token",
    "RSAKeyPair": "generates a throwaway key pair for test tokens",
}
# fastmcp's JWT verifier: `issuer=`/`audience=` are optional and unchecked when omitted.
JWT_VERIFIER_CLASSES = frozenset({
    "fastmcp.server.auth.providers.jwt.JWTVerifier",
    "fastmcp.server.auth.JWTVerifier",
    "fastmcp.server.auth.providers.JWTVerifier",
    "fastmcp.server.auth.providers.bearer.BearerAuthProvider",  # 2.6-2.13, same parameters
    "fastmcp.server.auth.BearerAuthProvider",
})
# fastmcp 2.12+ 2.x: JWTVerifier reads FASTMCP_SERVER_AUTH_JWT_* settings for omitted arguments.
JWT_VERIFIER_ENV_SINCE, JWT_VERIFIER_ENV_UNTIL = (2, 12), (3, 0)
# JWT libraries' decode functions (PyJWT, python-jose, authlib).
JWT_DECODE_FUNCTIONS = frozenset({
    "jwt.decode", "jwt.api_jwt.decode", "jwt.PyJWT.decode", "jose.jwt.decode", "jwt.decode_complete",
})
AUTHLIB_JWT_DECODE = frozenset({"authlib.jose.jwt.decode", "authlib.jose.JsonWebToken.decode"})

# `@mcp.custom_route(path, methods)`: raw Starlette routes that no SDK puts behind auth.
CUSTOM_ROUTE_METHOD = "custom_route"

# Official SDK: DNS-rebinding protection (`TransportSecuritySettings`, since 1.10.0),
# switched on automatically only for a loopback host and no `transport_security`
# since 1.23.0 (GHSA-9h52-p55h-vw2f); v1 decides in the constructor, v2 in
# `run()`/`*_app()`. Low-level session managers and `SseServerTransport` without
# `security_settings=` never check.
TRANSPORT_SECURITY_CLASS = "mcp.server.transport_security.TransportSecuritySettings"
DNS_REBINDING_SINCE = "1.10.0"
DNS_REBINDING_AUTO_SINCE = "1.23.0"
DNS_REBINDING_AUTO_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})
# fastmcp passes `enable_dns_rebinding_protection=False` to the SDK and has its own
# Host/Origin guard since 3.4.3: `run(..., host_origin_protection=True|"auto")` or
# `http_app(...)`, setting FASTMCP_HTTP_HOST_ORIGIN_PROTECTION; default False.
FASTMCP_HOST_GUARD_SINCE = "3.4.3"
FASTMCP_HOST_GUARD_KWARG = "host_origin_protection"
FASTMCP_HOST_GUARD_ENV = "FASTMCP_HTTP_HOST_ORIGIN_PROTECTION"
# Starlette middleware that pins the Host header: a guard against DNS rebinding.
TRUSTED_HOST_MIDDLEWARE = frozenset({
    "starlette.middleware.trustedhost.TrustedHostMiddleware",
    "fastapi.middleware.trustedhost.TrustedHostMiddleware",
})
CORS_MIDDLEWARE = frozenset({
    "starlette.middleware.cors.CORSMiddleware",
    "fastapi.middleware.cors.CORSMiddleware",
})
