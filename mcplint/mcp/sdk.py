"""What the MCP SDKs look like, as data (see shared/reference/mcp-sdk-surface.md).

A new SDK version should be a table edit here, not a change to the model builder.
"""

from __future__ import annotations

import re

# Dialects: which SDK generation a server object belongs to.
MCP_V1 = "mcp-v1"  # official SDK 1.x, mcp.server.fastmcp.FastMCP
MCP_V2 = "mcp-v2"  # official SDK 2.x, mcp.server.mcpserver.MCPServer
FASTMCP = "fastmcp"  # standalone fastmcp 2.x-4.x
LOWLEVEL = "lowlevel"  # mcp.server.lowlevel.Server (v1 decorators or v2 on_* kwargs)
INFERRED = "inferred"  # a server object we only see by how it is used (register(mcp) helpers)

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
}

# Type names of server objects, for `def register(mcp: FastMCP)` helpers.
SERVER_TYPE_NAMES = frozenset({"FastMCP", "MCPServer", "Server"})

# Decorator attribute -> handler kind, for high-level servers.
HIGH_LEVEL_DECORATORS = {"tool": "tool", "resource": "resource", "prompt": "prompt"}
# Low-level (v1) decorators whose handler receives client input.
LOW_LEVEL_DECORATORS = {
    "call_tool": "tool",
    "read_resource": "resource",
    "get_prompt": "prompt",
    "completion": "completion",
}
# Low-level v2: handlers are constructor keyword arguments.
LOW_LEVEL_V2_KWARGS = {
    "on_call_tool": "tool",
    "on_read_resource": "resource",
    "on_get_prompt": "prompt",
    "on_completion": "completion",
}
# Imperative registration: `mcp.add_tool(fn)`, fastmcp's `mcp.tool(fn)`.
ADD_METHODS = {"add_tool": "tool", "tool": "tool", "add_prompt": "prompt"}
FROM_FUNCTION = {"Tool.from_function": "tool", "Prompt.from_function": "prompt"}

# Parameters filled in by the SDK, not by the client.
INJECTED_TYPE_NAMES = frozenset(
    {"Context", "ServerRequestContext", "RequestContext"}
)
INJECTED_DEFAULT_CALLS = frozenset(
    {"Depends", "CurrentContext", "CurrentAccessToken", "CurrentRequest", "CurrentHeaders"}
)

# Transports.
STDIO = "stdio"
NETWORK_TRANSPORTS = frozenset({"sse", "streamable-http", "http"})
RUN_METHODS = {
    "run": None,  # transport from the first argument / transport=
    "run_async": None,
    "run_stdio_async": STDIO,
    "run_sse_async": "sse",
    "run_streamable_http_async": "streamable-http",
    "run_http_async": "http",
}
APP_METHODS = {
    "sse_app": "sse",
    "streamable_http_app": "streamable-http",
    "http_app": "http",
}
# Low-level servers are served by wrapping them in one of these.
LOW_LEVEL_TRANSPORT_CLASSES = {
    "mcp.server.streamable_http_manager.StreamableHTTPSessionManager": "streamable-http",
    "mcp.server.sse.SseServerTransport": "sse",
}
ASGI_RUNNERS = frozenset({"uvicorn.run", "uvicorn.Config", "hypercorn.asyncio.serve"})

# Authentication.
AUTH_KWARGS = frozenset({"auth", "token_verifier", "auth_server_provider"})
AUTH_MIDDLEWARE_HINT = re.compile(r"auth|bearer|token|jwt|oauth", re.IGNORECASE)

LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1", "[::1]"})
ALL_INTERFACES = frozenset({"0.0.0.0", "::", "[::]", ""})

# The cheap first pass: files that can hold an MCP server or its handlers. It also
# catches helper modules that never import mcp (`def register(mcp): @mcp.tool()`).
MCP_PREFILTER = re.compile(
    rb"\b(?:from|import)\s+(?:mcp|fastmcp)\b"
    rb"|@\s*[\w.]+\.(?:tool|resource|prompt|call_tool|read_resource|get_prompt)\b"
    rb"|\.add_tool\s*\(|\bTool\.from_function\b|\bon_call_tool\s*="
)
