"""`mcplint inventory` output: a tree per server on the console, a versioned JSON document.

The JSON format is documented field by field in docs/inventory-format.md. Everything
taken from scanned files (names, descriptions, annotations, host strings) is shown
as plain `Text` with control characters made visible, never as rich markup.
"""

from __future__ import annotations

import json
from typing import Any

import libcst as cst
from rich.console import Console
from rich.text import Text
from rich.tree import Tree

import mcplint
from mcplint.inventory import Inventory
from mcplint.mcp import sdk
from mcplint.mcp.join import (
    DeclaredTool,
    Evidence,
    HandlerInfo,
    HostInfo,
    Location,
    Mounted,
    ParamInfo,
    ProjectServer,
    TransportInfo,
    is_test_path,
)
from mcplint.report import clean
from mcplint.report.console import safe

SCHEMA_VERSION = 1
KINDS = ("tool", "resource", "prompt", "completion")
_DESCRIPTION_WIDTH = 100
_ANNOTATION_WIDTH = 50
_DEFAULT_WIDTH = 30
_SEEN_IN_SHOWN = 4


# -- JSON ---------------------------------------------------------------------------


def _clean(text: str | None) -> str | None:
    """Replace lone surrogates (undecodable file-name bytes) so the text encodes as UTF-8."""
    return None if text is None else clean(text)


def _value(value: object) -> object:
    if isinstance(value, str):
        return _clean(value)
    if isinstance(value, tuple):
        return [_value(v) for v in value]
    return value


def _where(location: Location | None) -> dict[str, Any] | None:
    if location is None:
        return None
    return {"path": _clean(location.path), "line": location.line, "column": location.column}


def _pairs(pairs: tuple[tuple[str, object], ...] | None) -> dict[str, Any] | None:
    return None if pairs is None else {_clean(k): _value(v) for k, v in pairs}


def _host(host: HostInfo | None) -> dict[str, Any] | None:
    if host is None:
        return None
    return {"value": _clean(host.value), "from_env": host.from_env, "at": _where(host.location)}


def _transport(transport: TransportInfo) -> dict[str, Any]:
    return {
        "kind": transport.kind,
        "network": transport.network,
        "via": transport.via,
        **_where(transport.location),
        "host": _host(transport.host),
        "served_by": _where(transport.served_by),
        "test_code": is_test_path(transport.location.path),
    }


def _param(param: ParamInfo) -> dict[str, Any]:
    return {
        "name": _clean(param.name),
        "annotation": _clean(param.annotation),
        "default": _clean(param.default),
        "star": param.star,
        "untrusted": param.untrusted,
        "injected": param.injected,
    }


def _declared(tool: DeclaredTool) -> dict[str, Any]:
    return {
        "name": _clean(tool.name),
        **_where(tool.location),
        "description": _clean(tool.description),
        "params": None
        if tool.params is None
        else [{"name": _clean(p.name), "type": _clean(p.type), "required": p.required} for p in tool.params],
        "annotations": _pairs(tool.annotations),
    }


def _handler(handler: HandlerInfo) -> dict[str, Any]:
    return {
        "kind": handler.kind,
        "name": _clean(handler.name),
        **_where(handler.location),
        "function": _clean(handler.function),
        "registered_at": _where(handler.registration),
        "lowlevel": handler.lowlevel,
        "uri": _clean(handler.uri),
        "title": _clean(handler.title),
        "description": _clean(handler.description),
        "annotations": _pairs(handler.annotations),
        "annotations_complete": handler.annotations_complete,
        "params": [_param(p) for p in handler.params],
        "declared_tools": [_declared(t) for t in handler.declared_tools],
        "servers": list(handler.servers),
        "test_code": is_test_path(handler.path),
    }


def _evidence(evidence: Evidence) -> dict[str, Any]:
    return {**_where(evidence.location), "text": _clean(evidence.text)}


def _mounted(mounted: Mounted) -> dict[str, Any]:
    return {"server": _clean(mounted.server), "namespace": _clean(mounted.namespace), "at": _where(mounted.location)}


def _server(server: ProjectServer) -> dict[str, Any]:
    return {
        "id": _clean(server.id),
        "name": _clean(server.name),
        "dialect": server.dialect,
        "server_class": _clean(server.server_class),
        "resolved": server.resolved,
        "test_code": server.test_code,
        **_where(server.location),
        "var": _clean(server.var),
        "seen_in": [
            {**_where(m.location), "var": _clean(m.var), "dialect": m.dialect} for m in server.members
        ],
        "transports": [_transport(t) for t in server.transports],
        "auth": {
            "status": server.auth,
            "evidence": [_evidence(e) for e in server.auth_evidence],
            "unknown_because": list(server.auth_unknown) if not server.auth_evidence else [],
        },
        "handlers": [_handler(h) for h in server.handlers],
        "mounts": [_mounted(m) for m in server.mounts],
        "mounted_in": [_mounted(m) for m in server.mounted_in],
    }


def build(inventory: Inventory) -> dict[str, Any]:
    """The document as plain data (what `render_json` serializes)."""
    summary: dict[str, Any] = {
        "files": inventory.files,
        "analysed": len(inventory.analysed),
        "servers": len(inventory.servers),
    }
    for kind in KINDS:
        summary[kind + "s"] = inventory.count(kind)
    summary["unattached"] = len(inventory.project.unattached)
    summary["in_test_code"] = {
        "servers": sum(1 for s in inventory.servers if s.test_code),
        "handlers": sum(1 for h in inventory.handlers if is_test_path(h.path)),
    }
    summary["skipped"] = len(inventory.skipped)
    return {
        "schema_version": SCHEMA_VERSION,
        "kind": "inventory",
        "tool": {"name": "mcplint", "version": mcplint.__version__},
        "summary": summary,
        "servers": [_server(s) for s in inventory.servers],
        "unattached_handlers": [_handler(h) for h in inventory.project.unattached],
        "skipped": [{"path": _clean(s.path), "line": s.line, "reason": _clean(s.reason)} for s in inventory.skipped],
    }


def render_json(inventory: Inventory) -> str:
    return json.dumps(build(inventory), indent=2, ensure_ascii=False) + "\n"


# -- console ------------------------------------------------------------------------

_AUTH_STYLE = {"configured": "green", "unknown": "yellow", "absent": "bold red"}
_TRANSPORT_TEXT = {
    "unknown": "chosen at run time",
    "unknown-network": "chosen at run time (an HTTP transport: given a host or port)",
}


def _plain(text: str | None) -> str:
    """Scanned text on one line: control, bidi and line-break characters shown escaped."""
    return safe(text or "").replace("\n", "\\n").replace("\t", "\\t")


def _at(location: Location | None, base: str | None = None) -> str:
    """`path:line`, or `line N` when the path is `base` (the server's own file)."""
    if location is None:
        return "?"
    if base is not None and location.path == base:
        return f"line {location.line}"
    return f"{_plain(location.path)}:{location.line}"


def _host_text(transport: TransportInfo, base: str) -> Text:
    host = transport.host
    text = Text()
    if transport.kind == sdk.STDIO:
        return text
    if host is None:
        if transport.via == "run":
            text.append(f"host not set (SDK default {sdk.ASGI_DEFAULT_HOST})", style="dim")
        else:
            text.append("host: whatever serves the app (not seen)", style="dim")
        return text
    if host.value is None:
        text.append("host set at run time", style="yellow")
    else:
        everywhere = host.value.strip() in sdk.ALL_INTERFACES
        text.append("host ")
        text.append(_plain(repr(host.value) if not host.value.strip() else host.value), style="bold red" if everywhere else "")
        notes = ["all interfaces"] if everywhere else []
        if host.from_env:
            notes.append("a default, changeable at run time")
        if notes:
            text.append(f" ({'; '.join(notes)})", style="red" if everywhere else "dim")
    if host.location is not None:
        text.append(f" · {_at(host.location, base)}", style="dim")
    return text


def _transport_line(transport: TransportInfo, base: str) -> Text:
    if transport.location.path != base:
        base = ""  # in another file: every location of this line gets its path
    line = Text("transport ")
    kind = _TRANSPORT_TEXT.get(transport.kind, transport.kind)
    line.append(kind, style="bold magenta" if transport.network else "bold")
    where = {"run": "run()", "app": "ASGI app", "session-manager": "session manager"}.get(transport.via, transport.via)
    line.append(f"  {where} at {_at(transport.location, base)}", style="dim")
    if transport.served_by is not None:
        line.append(f", served at {_at(transport.served_by, base)}", style="dim")
    host = _host_text(transport, base)
    if host.plain:
        line.append("  ")
        line.append_text(host)
    return line


def _auth_line(server: ProjectServer, base: str) -> Text:
    status = server.auth
    networked = bool(server.network_transports)
    line = Text("auth ")
    style = _AUTH_STYLE[status] if status != "absent" or networked else "dim"
    line.append(status, style=style)
    if status == "configured":
        shown = ", ".join(f"{_plain(e.text)} ({_at(e.location, base)})" for e in server.auth_evidence[:3])
        line.append(f"  {shown}", style="dim")
    elif status == "unknown":
        line.append("  " + "; ".join(_plain(r) for r in server.auth_unknown), style="dim")
    elif networked:
        line.append("  a network transport without auth: anyone who can reach it can call every tool", style="red")
    else:
        line.append("  (none set; fine for stdio)", style="dim")
    return line


def _signature(handler: HandlerInfo) -> Text:
    text = Text()
    text.append(_plain(handler.name), style="bold")
    text.append("(")
    for index, param in enumerate(handler.params):
        if index:
            text.append(", ")
        label = param.star + param.name
        if param.annotation:
            label += f": {_clip(_short_type(param.annotation), _ANNOTATION_WIDTH)}"
        if param.default is not None:
            label += f" = {_clip(param.default, _DEFAULT_WIDTH)}"
        if param.untrusted:
            text.append(_plain(label))
        else:
            note = " (injected)" if param.injected else " (default only)"
            text.append(_plain(label) + note, style="dim")
    text.append(")")
    return text


_DOC_ONLY = frozenset({"description", "title", "examples", "example", "default", "alias", "json_schema_extra", "deprecated"})


def _short_type(annotation: str) -> str:
    """`Annotated[str, Field(description="...", max_length=64)]` -> `str {max_length}`: the type and its checks."""
    if not annotation.startswith("Annotated["):
        return annotation
    try:
        expr = cst.parse_expression(annotation)
    except Exception:
        return annotation
    if not isinstance(expr, cst.Subscript) or len(expr.slice) < 2:
        return annotation
    items = [e.slice.value for e in expr.slice if isinstance(e.slice, cst.Index)]
    if len(items) != len(expr.slice):
        return annotation
    checks: list[str] = []
    for meta in items[1:]:
        if isinstance(meta, cst.Call):
            checks.extend(a.keyword.value for a in meta.args if a.keyword is not None and a.keyword.value not in _DOC_ONLY)
    base = cst.Module(body=[]).code_for_node(items[0])
    return base + (" {" + ", ".join(checks) + "}" if checks else "")


def _clip(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def _first_line(text: str | None) -> str | None:
    if not text:
        return None
    line = text.strip().splitlines()[0].strip()
    return line if len(line) <= _DESCRIPTION_WIDTH else line[: _DESCRIPTION_WIDTH - 1] + "…"


def _annotation_text(handler: HandlerInfo) -> str:
    if handler.annotations is None:
        return ""
    if not handler.annotations and not handler.annotations_complete:
        return " [annotations not literal]"
    parts = [f"{k}={v}" for k, v in handler.annotations]
    if not handler.annotations_complete:
        parts.append("…")
    return " [" + ", ".join(parts) + "]"


def _handler_node(tree: Tree, handler: HandlerInfo, base: str) -> None:
    label = Text()
    if handler.lowlevel:
        label.append("low-level ", style="dim")
    label.append_text(_signature(handler))
    if handler.uri:
        label.append("  " + _plain(handler.uri), style="cyan")
    label.append(f"  {_at(handler.location, base)}", style="dim")
    if handler.registration.path != handler.path:
        label.append(f", registered at {_at(handler.registration)}", style="dim")
    notes = _annotation_text(handler)
    if notes:
        label.append(_plain(notes), style="dim")
    others = len([s for s in handler.servers if not is_test_path(s)]) - 1
    if others > 0:
        label.append(f"  (also on {others} other server{'s' if others > 1 else ''})", style="dim")
    node = tree.add(label)
    description = _first_line(handler.description)
    if description:
        node.add(Text(_plain(description), style="dim italic"))
    for tool in handler.declared_tools:
        child = node.add(_declared_line(tool, base))
        description = _first_line(tool.description)
        if description:
            child.add(Text(_plain(description), style="dim italic"))


def _declared_line(tool: DeclaredTool, base: str) -> Text:
    text = Text("declares ", style="dim")
    if tool.name:
        text.append(_plain(tool.name), style="bold")
    else:
        text.append("(name set at run time)", style="bold dim")
    if tool.params is None:
        text.append("(schema not a literal)", style="dim")
    else:
        text.append("(" + ", ".join(_plain(p.name + (f": {p.type}" if p.type else "")) for p in tool.params) + ")")
    text.append(f"  {_at(tool.location, base)}", style="dim")
    if tool.annotations:
        text.append(_plain(" [" + ", ".join(f"{k}={v}" for k, v in tool.annotations) + "]"), style="dim")
    return text


def _server_title(server: ProjectServer) -> str:
    return _plain(server.name or server.var or "(unnamed)")


def _server_tree(server: ProjectServer, by_id: dict[str, ProjectServer]) -> Tree:
    base = server.location.path
    head = Text("server ", style="bold")
    head.append(_server_title(server), style="bold cyan")
    head.append(f"  {server.dialect}", style="magenta")
    if server.server_class:
        head.append(f" (subclass {_plain(server.server_class)})", style="magenta")
    head.append(f"  {_plain(server.location.path)}:{server.location.line}", style="dim")
    if not server.resolved:
        head.append("  constructed outside the scanned files", style="yellow")
    tree = Tree(head, guide_style="dim")
    others = sorted({m.path for m in server.members[1:]} - {base})
    tests = [p for p in others if is_test_path(p)]
    others = [p for p in others if not is_test_path(p)]
    if others or tests:
        shown = ", ".join(_plain(p) for p in others[:_SEEN_IN_SHOWN])
        more = f" and {len(others) - _SEEN_IN_SHOWN} more" if len(others) > _SEEN_IN_SHOWN else ""
        test_note = f"{len(tests)} test file{'s' if len(tests) != 1 else ''}" if tests else ""
        text = f"also used in {shown}{more}" + (f" (and {test_note})" if shown and tests else test_note)
        tree.add(Text(text if shown else f"also used in {test_note}", style="dim"))
    for mounted in server.mounted_in:
        parent = by_id.get(mounted.server)
        line = Text("mounted into ", style="bold")
        line.append(_server_title(parent) if parent else _plain(mounted.server), style="bold cyan")
        if mounted.namespace:
            line.append(f" as `{_plain(mounted.namespace)}`")
        line.append(f"  at {_at(mounted.location, base)}: served through its transports and auth", style="dim")
        tree.add(line)
    transports = _unique(server.transports)
    in_tests = [t for t in transports if is_test_path(t.location.path)]
    shown_transports = [t for t in transports if not is_test_path(t.location.path)]
    for transport in shown_transports:
        tree.add(_transport_line(transport, base))
    if in_tests:
        kinds = ", ".join(sorted({t.kind for t in in_tests}))
        tree.add(Text(f"{len(in_tests)} more transport{'s' if len(in_tests) != 1 else ''} in test code ({kinds})", style="dim"))
    if not shown_transports and not server.mounted_in:
        tree.add(Text("transport not seen (no run() or app in the scanned files)", style="dim"))
    tree.add(_auth_line(server, base))
    for mounted in server.mounts:
        child = by_id.get(mounted.server)
        line = Text("mounts ", style="bold")
        line.append(_server_title(child) if child else _plain(mounted.server), style="bold cyan")
        if mounted.namespace:
            line.append(f" as `{_plain(mounted.namespace)}`")
        count = len(child.handlers) if child else 0
        line.append(f"  at {_at(mounted.location, base)}: {count} more handler{'s' if count != 1 else ''} served here", style="dim")
        tree.add(line)
    for kind in KINDS:
        handlers = [h for h in server.handlers if h.kind == kind]
        if not handlers:
            continue
        branch = tree.add(Text(f"{kind}s ({len(handlers)})", style="bold"))
        for handler in handlers:
            _handler_node(branch, handler, base)
    if not server.handlers:
        tree.add(Text("no tools, resources or prompts registered in the scanned files", style="dim"))
    return tree


def _unique(transports: list[TransportInfo]) -> list[TransportInfo]:
    """One line per transport and statement (`a if x else b` on one line builds two)."""
    seen: set = set()
    out = []
    for transport in transports:
        key = (transport.kind, transport.via, transport.location.path, transport.location.line, transport.host, transport.served_by)
        if key not in seen:
            seen.add(key)
            out.append(transport)
    return out


def _test_servers(servers: list[ProjectServer]) -> Tree:
    tree = Tree(Text(f"servers in test code ({len(servers)})", style="bold"), guide_style="dim")
    for server in servers:
        line = Text(_server_title(server), style="cyan")
        line.append(f"  {server.dialect}  {_plain(server.location.path)}:{server.location.line}", style="dim")
        count = len(server.handlers)
        if count:
            line.append(f"  {count} handler{'s' if count != 1 else ''}", style="dim")
        tree.add(line)
    return tree


def summary_line(inventory: Inventory) -> Text:
    """Counts of what is served; servers and handlers in test code are counted apart."""

    def plural(n: int, word: str) -> str:
        return f"{n} {word}{'' if n == 1 else 's'}"

    servers = [s for s in inventory.servers if not s.test_code]
    handlers = [h for h in inventory.handlers if not is_test_path(h.path)]
    text = Text(plural(len(servers), "server"), style="bold")
    counts = [(kind, sum(1 for h in handlers if h.kind == kind)) for kind in KINDS]
    text.append(", " + ", ".join(plural(n, kind) for kind, n in counts if n or kind != "completion"))
    tests = len(inventory.servers) - len(servers)
    if tests:
        text.append(f" (and {plural(tests, 'server')} in test code)", style="dim")
    text.append(f". {len(inventory.analysed)} of {plural(inventory.files, 'file')} analysed")
    if inventory.skipped:
        text.append(f", {len(inventory.skipped)} skipped", style="yellow")
    text.append(".")
    return text


def print_inventory(inventory: Inventory, console: Console) -> None:
    if not inventory.servers and not inventory.project.unattached:
        console.print(Text("No MCP server found.", style="bold"))
    by_id = {server.id: server for server in inventory.servers}
    for server in inventory.servers:
        if not server.test_code:
            console.print(_server_tree(server, by_id))
            console.print()
    in_tests = [server for server in inventory.servers if server.test_code]
    if in_tests:
        console.print(_test_servers(in_tests))
        console.print()
    unattached = inventory.project.unattached
    if unattached:
        tree = Tree(Text("handlers on no server seen (standalone decorators never added)", style="bold yellow"), guide_style="dim")
        for handler in unattached:
            _handler_node(tree, handler, "")
        console.print(tree)
        console.print()
    if inventory.skipped:
        tree = Tree(Text("skipped files", style="bold yellow"), guide_style="dim")
        for item in inventory.skipped:
            where = f"{_plain(item.path)}:{item.line}" if item.line else _plain(item.path)
            tree.add(Text(f"{where}  {_plain(item.reason)}"))
        console.print(tree)
        console.print()
    console.print(summary_line(inventory))
