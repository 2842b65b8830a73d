"""The result cache: same output warm or cold, invalidated by what a finding depends on."""

from __future__ import annotations

import json
import pickle
import subprocess
import sys
import textwrap
from pathlib import Path

from typer.testing import CliRunner

from mcplint.cli import app
from mcplint.config import Config
from mcplint.engine import scan

SERVER = textwrap.dedent("""\
    from mcp.server.fastmcp import FastMCP

    from helpers import run

    mcp = FastMCP("ops")


    @mcp.tool()
    def restart(service: str) -> str:
        return run(service)
""")
UNSAFE_HELPER = "import os\n\n\ndef run(name):\n    return os.popen('systemctl restart ' + name).read()\n"
SUPPRESSED_HELPER = UNSAFE_HELPER.replace(".read()", ".read()  # mcplint: ignore[MCP301] -- names checked upstream")
SAFE_HELPER = "import subprocess\n\n\ndef run(name):\n    return subprocess.run(['systemctl', 'restart', name]).stdout\n"


def _project(root: Path, helper: str = UNSAFE_HELPER) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "server.py").write_text(SERVER)
    (root / "helpers.py").write_text(helper)
    return root


def _json(root: Path, *flags: str) -> dict:
    out = CliRunner().invoke(app, ["scan", str(root), "--format", "json", "--isolated", *flags])
    assert out.exit_code in (0, 1), out.output
    doc = json.loads(out.stdout)
    doc["summary"].pop("seconds")
    return doc


def _codes(doc: dict) -> set[tuple[str, str, bool]]:
    return {(f["path"].rsplit("/", 1)[-1], f["code"], f["suppressed"]) for f in doc["findings"]}


def test_warm_run_gives_the_same_report_and_the_cache_folder_is_tagged(tmp_path: Path) -> None:
    root = _project(tmp_path / "p")
    cache = tmp_path / "cache"
    cold = _json(root, "--cache-dir", str(cache))
    assert (cache / "CACHEDIR.TAG").read_text().startswith("Signature: 8a477f597d28d172789f06886806bc55")
    assert (cache / ".gitignore").read_text().splitlines()[-1] == "*"
    assert len(list(cache.glob("scan-*.pickle"))) == 1
    warm = _json(root, "--cache-dir", str(cache))
    assert warm == cold
    sarif = ["scan", str(root), "--format", "sarif", "--isolated", "--cache-dir", str(cache)]
    first, second = (CliRunner().invoke(app, sarif).stdout for _ in range(2))
    assert first == second


def test_a_changed_helper_changes_the_unchanged_tool_file(tmp_path: Path) -> None:
    """Cross-file taint: the tool's file did not change, the helper it calls did."""
    root = _project(tmp_path)
    cache = tmp_path / ".cache"
    assert ("helpers.py", "MCP301", False) in _codes(_json(root, "--cache-dir", str(cache)))
    (root / "helpers.py").write_text(SAFE_HELPER)
    after = _codes(_json(root, "--cache-dir", str(cache)))
    assert not any(code == "MCP301" for _, code, _ in after)
    assert after == _codes(_json(root, "--no-cache"))


def test_a_suppression_in_an_unchanged_file_is_judged_afresh(tmp_path: Path) -> None:
    """The helper (unchanged, from the cache) suppresses a finding that a tool in another
    file causes; when the tool stops calling it, the suppression is reported unused."""
    root = _project(tmp_path, SUPPRESSED_HELPER)
    cache = tmp_path / ".cache"
    assert ("helpers.py", "MCP301", True) in _codes(_json(root, "--cache-dir", str(cache)))
    (root / "server.py").write_text(SERVER.replace("return run(service)", "return service"))
    after = _codes(_json(root, "--cache-dir", str(cache)))
    assert ("helpers.py", "MCP003", False) in after and not any(code == "MCP301" for _, code, _ in after)
    assert after == _codes(_json(root, "--no-cache"))


def test_cache_is_per_setting_and_never_changes_results(tmp_path: Path) -> None:
    root = _project(tmp_path / "p")
    cache = tmp_path / "c"
    everything = _json(root, "--cache-dir", str(cache))
    only_secrets = _json(root, "--cache-dir", str(cache), "--select", "MCP5")
    assert not any(f["code"] == "MCP301" for f in only_secrets["findings"])
    assert _json(root, "--cache-dir", str(cache)) == everything
    assert len(list(cache.glob("scan-*.pickle"))) == 2


def test_corrupt_or_unwritable_cache_is_ignored(tmp_path: Path) -> None:
    root = _project(tmp_path / "p")
    cache = tmp_path / "c"
    expected = _json(root, "--no-cache")
    _json(root, "--cache-dir", str(cache))
    for stored in cache.glob("*.pickle"):  # the scan entry and the rules' table
        stored.write_bytes(b"not a pickle")
    assert _json(root, "--cache-dir", str(cache)) == expected
    table = next(cache.glob("rules-*.pickle"))
    assert isinstance(pickle.loads(table.read_bytes()), tuple)  # written again, not left broken
    blocked = tmp_path / "file-not-folder"
    blocked.write_text("")
    assert _json(root, "--cache-dir", str(blocked / "cache")) == expected


def test_no_cache_writes_nothing(tmp_path: Path) -> None:
    root = _project(tmp_path / "p")
    _json(root, "--no-cache")
    assert not (root / ".mcplint_cache").exists()


def test_engine_scan_without_cache_dir_keeps_no_state(tmp_path: Path) -> None:
    root = _project(tmp_path)
    scan([root], Config(root=root))
    assert not any(p.name == ".mcplint_cache" for p in tmp_path.rglob("*"))


def test_warm_run_does_not_import_libcst(tmp_path: Path) -> None:
    root = _project(tmp_path / "p")
    (root / "config_tool.py").write_text(  # a finding with a fix: its edits are unpickled too
        "import yaml\nfrom mcp.server.fastmcp import FastMCP\nmcp = FastMCP('c')\n\n@mcp.tool()\n"
        "def parse(text: str) -> dict:\n    return yaml.load(text)\n"
    )
    cache = tmp_path / "c"
    probe = textwrap.dedent(f"""\
        import sys
        from mcplint.cli import app
        try:
            app(["scan", {str(root)!r}, "--format", "json", "--isolated", "--cache-dir", {str(cache)!r}])
        except SystemExit:
            pass
        sys.stderr.write("LIBCST=%s\\n" % ("libcst" in sys.modules))
    """)
    runs = [subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True) for _ in range(2)]
    assert "LIBCST=True" in runs[0].stderr  # cold: parsed
    assert "LIBCST=False" in runs[1].stderr, runs[1].stderr  # warm: nothing changed, nothing parsed
    assert json.loads(runs[0].stdout)["findings"] == json.loads(runs[1].stdout)["findings"]
    assert any(f["fix"] for f in json.loads(runs[1].stdout)["findings"])


def test_a_changed_file_no_rule_parses_imports_no_libcst(tmp_path: Path) -> None:
    """As a pre-commit run: one changed file. Where no rule needs to parse it, the rules'
    table kept in the cache answers (selection, prefilters, diagnostics), so libcst is
    not imported, nor any rule module but the text rules a file needs; the report is
    the one `--no-cache` gives."""
    root = _project(tmp_path / "p")
    cache = tmp_path / "c"
    probe = textwrap.dedent("""\
        import sys
        from mcplint import engine
        from mcplint.cli import main
        engine.MAX_FILE_SECONDS = 0  # analysed in this process, not a worker: its imports are seen here
        sys.argv = ["mcplint", "scan", "--format", "json", "--isolated", *sys.argv[1:]]
        try:
            main()
        except SystemExit:
            pass
        rules = sorted(m.split(".")[-1][:6].upper() for m in sys.modules if m.startswith("mcplint.rules."))
        sys.stderr.write("LIBCST=%s RULES=%s\\n" % ("libcst" in sys.modules, ",".join(rules) or "-"))
    """)

    def run(name: str, text: str, *options: str):
        (root / name).write_text(text)
        done = subprocess.run([sys.executable, "-c", probe, str(root / name), *options], capture_output=True, text=True)
        return done.stderr.strip().splitlines()[-1], json.loads(done.stdout)["findings"]

    quiet = "def total(items):\n    return sum(items)  # mcplint: ignore[MCP301]\n"
    first, _ = run("notes.py", quiet, "--cache-dir", str(cache))
    assert first.startswith("LIBCST=True RULES=MCP001,")  # no table yet: it is made from the rules
    assert [p.name.split("-")[0] for p in cache.glob("*.pickle")].count("rules") == 1
    edited = quiet + "\n\nLIMIT = 3\n"
    warm, found = run("notes.py", edited, "--cache-dir", str(cache))
    assert warm == "LIBCST=False RULES=-"
    assert [f["code"] for f in found] == ["MCP003"]  # the unused suppression, told by the table
    assert found == run("notes.py", edited, "--no-cache")[1]
    secret = quiet + 'WEATHER_API_KEY = "3f9a1c07d2b84e6fa5c9e0b1d7f42a68"\n'
    parsed, found = run("notes.py", secret, "--cache-dir", str(cache))
    assert parsed.startswith("LIBCST=True")  # MCP501's prefilter matches: the file is parsed
    assert sorted(f["code"] for f in found) == ["MCP003", "MCP501"]
    assert found == run("notes.py", secret, "--no-cache")[1]
    env = "OPENAI_API_KEY=sk-proj-ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghij0123\n"
    text, found = run(".env", env, "--cache-dir", str(cache))
    assert text == "LIBCST=False RULES=MCP506"  # a text file: its text rule only
    assert [f["code"] for f in found] == ["MCP506"] and found == run(".env", env, "--no-cache")[1]


def test_a_comment_added_to_any_one_file_leaves_the_report_as_it_was(tmp_path: Path) -> None:
    """Whichever file changes (the tool's, the helper its input reaches, a module it only
    imports, an unrelated one), the re-run with the cache reports what the cold scan
    does: the unchanged files' results, taken from the cache, keep their roles."""
    root = _project(tmp_path / "p")
    (root / "server.py").write_text(SERVER.replace("from helpers import run", "from helpers import run\nimport settings"))
    (root / "settings.py").write_text("import os\n\nNAME = os.environ.get('NAME', 'ops')\n")
    (root / "unrelated.py").write_text("import os\n\n\ndef clean(folder):\n    os.system('rm -rf ' + folder)\n")
    cache = tmp_path / "c"
    cold = _json(root, "--no-cache")
    assert ("helpers.py", "MCP301", False) in _codes(cold)
    assert _json(root, "--cache-dir", str(cache)) == cold
    for name in ("server.py", "helpers.py", "settings.py", "unrelated.py"):
        with (root / name).open("a") as handle:
            handle.write("# edited\n")
        assert _json(root, "--cache-dir", str(cache)) == cold, name


def test_a_file_unchanged_since_a_finding_was_placed_in_it_is_not_parsed_again(tmp_path: Path, monkeypatch) -> None:
    """A finding the project phase places in a helper (a tool's input reaching its sink
    there) needs the helper's node positions: read once, kept in the cache by the
    helper's content, and read again only when the helper or the files on the path
    changed. The report is the cold one either way."""
    from mcplint import engine

    root = _project(tmp_path / "p")
    (root / "notes.py").write_text("def total(items):\n    return sum(items)\n")
    cache = tmp_path / "cache"
    parsed: list[str] = []
    real = engine._locator

    def counting(jobs: int):  # the files given to be located (in the workers the scan kept)
        locate = real(jobs)

        def located(items: list[tuple]) -> list[tuple]:
            parsed.extend(item[0] for item in items)
            return locate(items)

        return located

    monkeypatch.setattr(engine, "_locator", counting)
    first = _json(root, "--cache-dir", str(cache))
    assert sorted(Path(p).name for p in parsed) == ["helpers.py", "server.py"]  # the sink's file, the tool's
    (root / "notes.py").write_text("def total(items):\n    return sum(items)  # edited\n")
    parsed.clear()
    assert _json(root, "--cache-dir", str(cache)) == first
    assert parsed == []  # both unchanged: located before
    assert first == _json(root, "--no-cache")
    (root / "server.py").write_text(SERVER + "# edited\n")
    parsed.clear()
    again = _json(root, "--cache-dir", str(cache))
    assert [Path(p).name for p in parsed] == ["server.py"]
    assert again["findings"] == _json(root, "--no-cache")["findings"]


def test_place_pending_locates_only_what_it_does_not_know() -> None:
    from types import SimpleNamespace

    from mcplint.finding import Confidence, Severity, Span
    from mcplint.mcp.summary import Pending, place_pending
    from mcplint.registry import rule_by_code

    def pending(node: int) -> Pending:
        return Pending("MCP301", "h.py", node, None, "m", Severity.HIGH, Confidence.HIGH, "tool `t`",
                       (("s.py", 3, "parameter `x`"),))

    asked: list[tuple] = []

    def locate(items):
        asked.extend((path, sorted(ordinals)) for path, _, ordinals, _ in items)
        return [(path, {n: Span(n) for n in ordinals}, {n: {n} for n in ordinals}, "utf-8")
                for path, _, ordinals, _ in items]

    contents = {"h.py": b"a\nb\nc\nd\ne\n", "s.py": b"x\ny\nz\n"}
    known = {"h.py": ({4: Span(4)}, {4: {4}}, "utf-8"), "s.py": ({3: Span(3)}, {3: {3}}, "utf-8")}
    rules = {"MCP301": SimpleNamespace(meta=rule_by_code()["MCP301"].meta)}
    found, located = place_pending([pending(4)], contents, rules, locate, known)
    assert asked == [] and found[0].span == Span(4) and found[0].snippet == "d"
    found, located = place_pending([pending(4), pending(5)], contents, rules, locate, known)
    assert asked == [("h.py", [4, 5])]  # s.py's node is known; h.py lacks node 5
    assert sorted(located["h.py"][0]) == [4, 5] and [f.span.line for f in found] == [4, 5]
    assert found[1].trace[0].span == Span(3) and found[1].trace[0].path == "s.py"
