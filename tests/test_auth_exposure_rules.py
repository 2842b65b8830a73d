"""MCP-C01 / MCP-C11 rules where the verdict depends on the SDK version, the context or
the confidence (fixture marks cannot say), and the evidence they record."""

from __future__ import annotations

import textwrap

import pytest

from mcplint.deps import Project, Requirement
from mcplint.engine import analyse_source
from mcplint.registry import all_rules


def _run(source: str, codes: set[str], *, pins: dict[str, str] | None = None, path: str = "server.py",
         fastmcp_config: dict | None = None):
    project = Project(
        requirements=[Requirement(name, "==" + version, "uv.lock", 1, locked=True) for name, version in (pins or {}).items()],
        fastmcp_config=fastmcp_config,
    )
    rules = [r for r in all_rules() if r.code in codes]
    return analyse_source(path, textwrap.dedent(source).encode(), rules, project=project)


def _findings(source: str, code: str, **kwargs):
    return [f for f in _run(source, {code}, **kwargs).findings if f.code == code]


V1_LOOPBACK = """
    from mcp.server.fastmcp import FastMCP

    mcp = FastMCP("calendar")
    mcp.run(transport="sse")
"""


@pytest.mark.parametrize(("pin", "expected"), [
    ("1.22.0", "enables it for loopback hosts only since 1.23.0"),
    ("1.9.4", "predates `TransportSecuritySettings`"),
    ("1.23.0", None),
    (None, None),
])
def test_dns_rebinding_v1_loopback_depends_on_the_pinned_sdk(pin, expected) -> None:
    found = _findings(V1_LOOPBACK, "MCP602", pins={"mcp": pin} if pin else None)
    if expected is None:
        assert found == []
    else:
        assert len(found) == 1 and expected in found[0].message and pin in found[0].message


def test_dns_rebinding_v1_before_transport_security_existed() -> None:
    source = """
        from mcp.server.fastmcp import FastMCP

        mcp = FastMCP("inventory", host="0.0.0.0", transport_security=None)
        mcp.run(transport="sse")
    """
    found = _findings(source, "MCP602", pins={"mcp": "1.9.4"})
    assert len(found) == 1 and "mcp 1.9.4 predates `TransportSecuritySettings` (1.10.0)" in found[0].message
    assert "the SDK enables it only for loopback hosts" in _findings(source, "MCP602")[0].message


def test_dns_rebinding_non_loopback_is_version_independent_and_env_default_is_medium() -> None:
    source = """
        import os
        from mcp.server.mcpserver import MCPServer

        mcp = MCPServer("reports")
        mcp.run("streamable-http", host="10.0.0.5")
        mcp.run("sse", host=os.getenv("HOST", "0.0.0.0"))
    """
    found = _findings(source, "MCP602")
    assert [(f.span.line, f.confidence.value) for f in found] == [(6, "high"), (7, "medium")]
    assert "`10.0.0.5`" in found[0].message


def test_dns_rebinding_explicit_opt_out_with_a_reason_is_low_confidence() -> None:
    source = """
        from mcp.server.fastmcp import FastMCP
        from mcp.server.transport_security import TransportSecuritySettings

        # TLS and Host checks happen in the nginx proxy in front of this container.
        OFF = TransportSecuritySettings(enable_dns_rebinding_protection=False)
        PLAIN_OFF = TransportSecuritySettings(enable_dns_rebinding_protection=False)
        mcp = FastMCP("x", transport_security=OFF)
    """
    found = _findings(source, "MCP602")
    assert [(f.span.line, f.confidence.value) for f in found] == [(6, "low"), (7, "high")]


def test_dns_rebinding_trusted_host_middleware_silences_the_default_case() -> None:
    source = """
        from mcp.server.mcpserver import MCPServer
        from starlette.middleware import Middleware
        from starlette.middleware.trustedhost import TrustedHostMiddleware

        mcp = MCPServer("reports")
        app = mcp.streamable_http_app(host="0.0.0.0")
        app.add_middleware(TrustedHostMiddleware, allowed_hosts=["reports.internal"])
    """
    assert _findings(source, "MCP602") == []


FASTMCP_HTTP = """
    from fastmcp import FastMCP

    mcp = FastMCP("tools")
    mcp.run(transport="http", host="127.0.0.1")
"""


@pytest.mark.parametrize(("pin", "confidence", "text"), [
    ("2.13.0", "high", "fastmcp 2.13.0 has no Host/Origin guard (added in 3.4.3)"),
    ("3.4.5", "medium", "pass `host_origin_protection=True`"),
    (None, "medium", "fastmcp version unknown"),
])
def test_host_origin_guard_message_follows_the_pinned_fastmcp(pin, confidence, text) -> None:
    found = _findings(FASTMCP_HTTP, "MCP603", pins={"fastmcp": pin} if pin else None)
    assert len(found) == 1
    assert found[0].confidence.value == confidence and text in found[0].message


def test_host_origin_guard_for_a_server_served_by_fastmcp_json() -> None:
    source = """
        from fastmcp import FastMCP

        mcp = FastMCP("tools")

        if __name__ == "__main__":
            mcp.run()
    """
    config = {"source": {"path": "server.py", "entrypoint": "mcp"}, "deployment": {"transport": "http"}}
    found = _findings(source, "MCP603", fastmcp_config=config)
    assert [f.span.line for f in found] == [4] and "`fastmcp.json`'s deployment" in found[0].message
    other = {"source": {"path": "other.py:mcp"}, "deployment": {"transport": "http"}}
    assert _findings(source, "MCP603", fastmcp_config=other) == []
    stdio = {"source": {"path": "server.py"}, "deployment": {"transport": "stdio"}}
    assert _findings(source, "MCP603", fastmcp_config=stdio) == []


def test_host_origin_guard_enabled_through_fastmcp_json_env() -> None:
    config = {"deployment": {"transport": "http", "env": {"FASTMCP_HTTP_HOST_ORIGIN_PROTECTION": "true"}}}
    assert _findings(FASTMCP_HTTP, "MCP603", fastmcp_config=config) == []


JWT_VERIFIER = """
    from fastmcp import FastMCP
    from fastmcp.server.auth.providers.jwt import JWTVerifier

    mcp = FastMCP("crm", auth=JWTVerifier(jwks_uri="https://id.example.com/jwks", issuer="https://id.example.com"))
"""


@pytest.mark.parametrize(("pin", "confidence", "note"), [
    ("3.0.0", "high", ""),
    ("2.12.3", "medium", "fastmcp 2.12.3 reads them"),
    ("2.11.0", "high", ""),
    (None, "medium", "fastmcp version unknown"),
])
def test_jwt_verifier_confidence_follows_env_settings_support(pin, confidence, note) -> None:
    found = _findings(JWT_VERIFIER, "MCP103", pins={"fastmcp": pin} if pin else None)
    assert len(found) == 1 and found[0].confidence.value == confidence
    assert found[0].severity.value == "high" and "`audience=`" in found[0].message
    assert note in found[0].message
    if not note:
        assert "FASTMCP_SERVER_AUTH_JWT" not in found[0].message


def test_unverified_jwt_peek_outside_auth_code_is_medium() -> None:
    source = """
        import jwt
        from mcp.server.fastmcp import FastMCP

        mcp = FastMCP("x")

        def expires_at(token):
            return jwt.decode(token, options={"verify_signature": False})["exp"]

        def verify_token(token):
            return jwt.decode(token, options={"verify_signature": False})
    """
    found = _findings(source, "MCP103")
    assert [(f.span.line, f.confidence.value, f.severity.value) for f in found] == [
        (8, "medium", "critical"), (11, "high", "critical")]


def test_dev_verifier_confidence_and_test_files() -> None:
    source = """
        import os
        from fastmcp import FastMCP
        from fastmcp.server.auth.providers.jwt import StaticTokenVerifier

        A = StaticTokenVerifier(tokens={"abc": {"client_id": "a", "scopes": []}})
        B = StaticTokenVerifier(tokens={os.environ["T"]: {"client_id": "b", "scopes": []}})
        if os.getenv("DEV_MODE"):
            C = StaticTokenVerifier(tokens={"abc": {"client_id": "c", "scopes": []}})
        mcp = FastMCP("x", auth=A)
    """
    found = _findings(source, "MCP102")
    assert [(f.span.line, f.confidence.value) for f in found] == [(6, "high"), (7, "medium"), (9, "low")]
    assert _findings(source, "MCP102", path="tests/test_server.py") == []


def test_token_compare_confidence() -> None:
    source = """
        import os
        from mcp.server.fastmcp import FastMCP

        mcp = FastMCP("x")
        KEY = os.environ["API_KEY"]

        async def check(request, call_next):
            if request.headers["x-api-key"] == KEY:
                return await call_next(request)

        class KeyVerifier:
            async def verify_token(self, token):
                return token == self.api_token

        def same(session_token, cached_token):
            return session_token == cached_token
    """
    found = _findings(source, "MCP104")
    assert [(f.span.line, f.confidence.value) for f in found] == [(9, "high"), (14, "medium")]


def test_custom_route_behind_auth_middleware_is_lower_confidence() -> None:
    source = """
        import shutil
        from mcp.server.fastmcp import FastMCP
        from starlette.middleware import Middleware

        from app.auth import BearerAuthMiddleware

        mcp = FastMCP("x")

        @mcp.custom_route("/admin/wipe", methods=["POST"])
        async def wipe(request):
            shutil.rmtree("/data")

        app = mcp.streamable_http_app()
        app.add_middleware(BearerAuthMiddleware)
    """
    found = _findings(source, "MCP105")
    assert len(found) == 1 and found[0].confidence.value == "medium"
    assert "middleware" in found[0].message


def test_evidence_for_auth_and_exposure_controls() -> None:
    source = """
        from fastmcp import FastMCP
        from fastmcp.server.auth.providers.jwt import JWTVerifier
        from mcp.server.fastmcp import FastMCP as V1
        from mcp.server.transport_security import TransportSecuritySettings
        from starlette.middleware import Middleware

        from app.auth import ApiKeyMiddleware

        auth = JWTVerifier(jwks_uri="https://id/jwks", issuer="https://id", audience="crm")
        crm = FastMCP("crm", auth=auth)
        crm.run(transport="http", host="127.0.0.1", host_origin_protection=True)

        legacy = V1("legacy", transport_security=TransportSecuritySettings(allowed_hosts=["legacy.internal"]))
        app = legacy.sse_app()
        app.add_middleware(ApiKeyMiddleware)
    """
    result = _run(source, {"MCP101", "MCP103", "MCP601", "MCP602", "MCP603"})
    notes = {(e.item, e.line, e.note) for e in result.evidence}
    assert ("MCP-C01", 11, "auth provider `JWTVerifier` on server `crm`") in notes
    assert ("MCP-C01", 10, "JWT verifier `JWTVerifier` checks issuer and audience") in notes
    assert ("MCP-C01", 16, "auth middleware `ApiKeyMiddleware`") in notes
    assert ("MCP-C11", 12, "server `crm` listens on loopback `127.0.0.1`") in notes
    assert ("MCP-C11", 12, "fastmcp Host/Origin guard on (`host_origin_protection=True`)") in notes
    assert ("MCP-C11", 14, "DNS-rebinding protection on (`TransportSecuritySettings`)") in notes


def test_no_evidence_without_a_control() -> None:
    result = _run("""
        from mcp.server.fastmcp import FastMCP
        from mcp.server.transport_security import TransportSecuritySettings

        mcp = FastMCP("x", host="0.0.0.0", transport_security=TransportSecuritySettings(enable_dns_rebinding_protection=False))
        mcp.run(transport="sse")
    """, {"MCP101", "MCP601", "MCP602", "MCP603"})
    assert [e for e in result.evidence if e.item.startswith("MCP-C")] == []
