"""The command line: thin over `mcplint.api`. Exit codes: 0 clean, 1 findings, 2 usage/config."""

from __future__ import annotations

import os
import sys
from enum import Enum
from pathlib import Path
from typing import List, Optional

import typer
from rich.console import Console
from rich.table import Table

from mcplint import __version__
from mcplint.config import ConfigError
from mcplint.finding import Confidence, Severity

app = typer.Typer(
    name="mcplint",
    help="Security linter for MCP server source code.",
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)

EXIT_CLEAN, EXIT_FINDINGS, EXIT_ERROR = 0, 1, 2


class Format(str, Enum):
    console = "console"
    json = "json"
    sarif = "sarif"
    github = "github"
    gitlab_sast = "gitlab-sast"
    markdown = "markdown"


class Color(str, Enum):
    auto = "auto"
    always = "always"
    never = "never"


def _console(color: Color, stderr: bool) -> Console:
    if color is Color.always:
        return Console(stderr=stderr, force_terminal=True, color_system="standard")
    if color is Color.never:
        return Console(stderr=stderr, no_color=True, color_system=None)
    return Console(stderr=stderr)


def _fail(message: str) -> typer.Exit:
    """One plain line on stderr (never wrapped: scripts grep it), then exit 2."""
    sys.stderr.write("mcplint: error: " + " ".join(message.split()) + "\n")
    return typer.Exit(EXIT_ERROR)


def _split(values: Optional[List[str]]) -> Optional[tuple[str, ...]]:
    if not values:
        return None
    return tuple(part.strip() for value in values for part in value.split(",") if part.strip())


def _enum(cls, value: Optional[str], flag: str):
    if value is None:
        return None
    try:
        return cls.parse(value)
    except ValueError as exc:
        raise _fail(f"{flag}: {exc}") from None


def _config(paths, config_file, isolated, select, ignore, exclude, extend_exclude, *, fail_on=None,
            min_confidence=None, force_exclude=False):
    """Settings from the config file and the rule/file selection flags shared by commands."""
    from mcplint import api

    return api.resolve_config(
        paths,
        config_file=config_file,
        isolated=isolated,
        select=_split(select),
        ignore=_split(ignore),
        exclude=_split(exclude),
        extend_exclude=_split(extend_exclude),
        fail_on=_enum(Severity, fail_on, "--fail-on"),
        min_confidence=_enum(Confidence, min_confidence, "--min-confidence"),
        force_exclude=force_exclude or None,
    )


def _version(value: bool) -> None:
    if value:
        typer.echo(f"mcplint {__version__}")
        raise typer.Exit()


@app.callback()
def main_callback(
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True, help="Show the version and exit."),
) -> None:
    """Find security mistakes in MCP servers before they ship."""


@app.command()
def scan(
    paths: List[Path] = typer.Argument(None, help="Files or folders to scan [default: .]"),
    output_format: Format = typer.Option(Format.console, "--format", "-f", help="Output format."),
    output: Optional[Path] = typer.Option(None, "--output", "-o", help="Write the report to FILE instead of stdout."),
    select: Optional[List[str]] = typer.Option(None, "--select", help="Rules to run: codes, prefixes (MCP3) or names; comma-separated."),
    ignore: Optional[List[str]] = typer.Option(None, "--ignore", help="Rules to skip: codes, prefixes or names."),
    exclude: Optional[List[str]] = typer.Option(None, "--exclude", help="Globs to skip, replacing the defaults."),
    extend_exclude: Optional[List[str]] = typer.Option(None, "--extend-exclude", help="Globs to skip, added to the defaults."),
    fail_on: Optional[str] = typer.Option(None, "--fail-on", help="Lowest severity that makes the exit code 1: low, medium, high, critical [default: low]."),
    min_confidence: Optional[str] = typer.Option(None, "--min-confidence", help="Hide findings below this confidence: low, medium, high [default: low]."),
    config_file: Optional[Path] = typer.Option(None, "--config", help="Read settings from this file (pyproject.toml or mcplint.toml)."),
    isolated: bool = typer.Option(False, "--isolated", help="Ignore all configuration files."),
    force_exclude: bool = typer.Option(False, "--force-exclude", help="Apply excludes to files named on the command line too (for pre-commit)."),
    exit_zero: bool = typer.Option(False, "--exit-zero", help="Exit 0 even when findings are reported."),
    color: Color = typer.Option(Color.auto, "--color", help="Colour the console report."),
    no_progress: bool = typer.Option(False, "--no-progress", help="Never show a progress bar."),
    jobs: int = typer.Option(0, "--jobs", "-j", help="Worker processes for large trees (0: one per core)."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="Print findings only, one line each."),
    verbose: bool = typer.Option(False, "--verbose", "-v", help="Also show suppressed findings."),
    statistics: bool = typer.Option(False, "--statistics", help="Print how many findings each rule reported instead of the findings (console or json format)."),
    baseline_file: Optional[Path] = typer.Option(None, "--baseline", help="Leave out the findings recorded in this baseline file (see `mcplint baseline write`)."),
    diff_ref: Optional[str] = typer.Option(None, "--diff", metavar="REF", help="Report only findings introduced since this git revision (branch, tag or commit)."),
    no_cache: bool = typer.Option(False, "--no-cache", help="Neither read nor write the result cache."),
    cache_dir: Optional[Path] = typer.Option(None, "--cache-dir", envvar="MCPLINT_CACHE_DIR", help="Where the result cache lives [default: .mcplint_cache in the project root]."),
) -> None:
    """Scan Python MCP server code and report security findings."""
    from mcplint import api
    from mcplint.report import console as console_report

    if statistics and output_format not in (Format.console, Format.json):
        raise _fail(f"--statistics: works with --format console or json, not {output_format.value}")
    paths = list(paths or [Path(".")])
    try:
        config = _config(paths, config_file, isolated, select, ignore, exclude, extend_exclude, fail_on=fail_on,
                         min_confidence=min_confidence, force_exclude=force_exclude)
        machine = output_format is not Format.console
        err = _console(color, stderr=True)
        progress_wanted = (
            not (no_progress or quiet)
            and err.is_terminal
            and not os.environ.get("CI")
            and not os.environ.get("PRE_COMMIT")
        )
        result = _run_with_progress(api, paths, config, err if progress_wanted else None, jobs,
                                    baseline=baseline_file, diff=diff_ref, cache_dir=_cache(no_cache, cache_dir, config))
    except ConfigError as exc:
        raise _fail(str(exc)) from None

    root = config.root
    if statistics:
        from mcplint.report import statistics as statistics_report

        machine_stats = output_format is Format.json
        _write(statistics_report.render_json(result) if machine_stats else statistics_report.render_text(result), output)
        if not quiet:
            err.print(console_report.summary_line(result))
    elif machine:
        from mcplint.report import FORMATS

        text = FORMATS[output_format.value](result, root=root)
        _write(text, output)
        if not quiet:
            if output is not None:
                console_report.print_report(result, err, root=root, verbose=verbose)
            else:
                err.print(console_report.summary_line(result))
    else:
        _print_console(lambda console: console_report.print_report(result, console, root=root, quiet=quiet,
                                                                   verbose=verbose), output, color)
    if result.baseline is not None and not quiet:
        for line in result.baseline.messages():  # stale baseline entries: worth knowing, never a failure
            sys.stderr.write(f"mcplint: {line}\n")
    if result.failing() and not exit_zero:
        raise typer.Exit(EXIT_FINDINGS)


def _run_with_progress(api, paths, config, console: Optional[Console], jobs: int, **known):
    if console is None:
        return api.run_scan(paths, config, jobs=jobs, **known)
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    with Progress(TextColumn("scanning"), BarColumn(), MofNCompleteColumn(), console=console, transient=True) as bar:
        task = bar.add_task("scan", total=None)

        def advance(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        return api.run_scan(paths, config, progress=advance, jobs=jobs, **known)


def _print_console(draw, output: Optional[Path], color: Color) -> None:
    """A console report on stdout, or plain (no colour, 120 columns) in FILE."""
    if output is None:
        draw(_console(color, stderr=False))
        return
    try:
        output.parent.mkdir(parents=True, exist_ok=True)
        with output.open("w", encoding="utf-8", newline="\n") as handle:
            draw(Console(file=handle, no_color=True, color_system=None, width=120))
    except OSError as exc:
        raise _fail(f"cannot write {output}: {exc.strerror or exc}") from None


def _cache(no_cache: bool, cache_dir: Optional[Path], config) -> Optional[Path]:
    """The result cache folder: --cache-dir (or MCPLINT_CACHE_DIR), else in the project root."""
    return None if no_cache else (cache_dir or config.root / ".mcplint_cache")


def _write(text: str, output: Optional[Path]) -> None:
    if output is None:
        # JSON and SARIF keep non-ASCII as is: write UTF-8 whatever the locale says.
        sys.stdout.flush()
        sys.stdout.buffer.write(text.encode("utf-8"))
        sys.stdout.buffer.flush()
        return
    try:
        output.parent.mkdir(parents=True, exist_ok=True)
        with output.open("w", encoding="utf-8", newline="\n") as handle:
            handle.write(text)
    except OSError as exc:
        raise _fail(f"cannot write {output}: {exc.strerror or exc}") from None


@app.command("rules")
def list_rules(
    output_format: str = typer.Option("table", "--format", "-f", help="table or json."),
) -> None:
    """List every rule: code, name, severity, confidence, checklist item."""
    from mcplint.registry import all_rules

    rules = all_rules()
    if output_format == "json":
        import json

        rows = [
            {"code": r.code, "name": r.name, "severity": r.severity.value, "confidence": r.confidence.value,
             "checklist": r.checklist, "cwe": r.cwe, "summary": r.meta.summary}
            for r in rules
        ]
        sys.stdout.write(json.dumps(rows, indent=2) + "\n")
        return
    if output_format != "table":
        raise _fail(f"--format: expected table or json, got {output_format!r}")
    table = Table(show_edge=False, pad_edge=False)
    table.add_column("code", no_wrap=True, min_width=6)  # never cut: it is what users type
    table.add_column("name", overflow="fold", min_width=14)
    for column in ("severity", "confidence", "checklist"):
        table.add_column(column, no_wrap=True)
    table.add_column("summary", overflow="fold", min_width=20)
    for r in rules:
        table.add_row(r.code, r.name, r.severity.value, r.confidence.value, r.checklist or "-", r.meta.summary)
    Console().print(table)


@app.command()
def explain(code: str = typer.Argument(..., help="A rule code (MCP301) or name (tool-shell-injection).")) -> None:
    """Show a rule's documentation with its bad and good example."""
    from mcplint.registry import find_rule

    rule = find_rule(code)
    if rule is None:
        raise _fail(f"unknown rule `{code}` (see `mcplint rules`)")
    from mcplint.docs import rule_markdown

    text = rule_markdown(rule.meta, level=1)
    console = Console()
    if console.is_terminal:
        from rich.markdown import Markdown

        console.print(Markdown(text))
    else:
        sys.stdout.write(text)


@app.command()
def inventory(
    paths: List[Path] = typer.Argument(None, help="Files or folders to read (default: the current folder)."),
    output_format: str = typer.Option("console", "--format", "-f", help="console or json."),
    output: Optional[Path] = typer.Option(None, "--output", "-o", help="Write the inventory to FILE instead of stdout."),
    config_file: Optional[Path] = typer.Option(None, "--config", help="Read settings (excludes) from this file."),
    isolated: bool = typer.Option(False, "--isolated", help="Ignore all configuration files."),
    color: Color = typer.Option(Color.auto, "--color", help="Colour the console output."),
) -> None:
    """List every MCP server, its transports and auth, and each tool, resource and prompt."""
    from mcplint import api
    from mcplint.inventory import build_inventory
    from mcplint.report import inventory as inventory_report

    if output_format not in ("console", "json"):
        raise _fail(f"--format: expected console or json, got {output_format!r}")
    paths = list(paths or [Path(".")])
    try:
        config = api.resolve_config(paths, config_file=config_file, isolated=isolated)
        result = build_inventory(paths, config)
    except ConfigError as exc:
        raise _fail(str(exc)) from None
    if output_format == "json":
        _write(inventory_report.render_json(result), output)
    else:
        _print_console(lambda console: inventory_report.print_inventory(result, console), output, color)


@app.command()
def checklist(
    paths: List[Path] = typer.Argument(None, help="Files or folders to judge [default: .]"),
    output_format: str = typer.Option("console", "--format", "-f", help="console, json or markdown."),
    output: Optional[Path] = typer.Option(None, "--output", "-o", help="Write the scorecard to FILE instead of stdout."),
    config_file: Optional[Path] = typer.Option(None, "--config", help="Read settings from this file."),
    isolated: bool = typer.Option(False, "--isolated", help="Ignore all configuration files."),
    color: Color = typer.Option(Color.auto, "--color", help="Colour the console output."),
    exit_zero: bool = typer.Option(False, "--exit-zero", help="Exit 0 even when an item fails."),
    verbose: bool = typer.Option(False, "--verbose", "-v", help="List every finding and piece of evidence."),
    no_cache: bool = typer.Option(False, "--no-cache", help="Neither read nor write the result cache."),
    cache_dir: Optional[Path] = typer.Option(None, "--cache-dir", envvar="MCPLINT_CACHE_DIR", help="Where the result cache lives."),
) -> None:
    """Judge each MCP server against the security checklist: pass with evidence, fail with findings, or unknown."""
    from mcplint import api
    from mcplint.checklist import cards
    from mcplint.inventory import build_inventory
    from mcplint.report import checklist as checklist_report

    if output_format not in ("console", "json", "markdown"):
        raise _fail(f"--format: expected console, json or markdown, got {output_format!r}")
    paths = list(paths or [Path(".")])
    try:
        config = api.resolve_config(paths, config_file=config_file, isolated=isolated)
        result = api.run_scan(paths, config, cache_dir=_cache(no_cache, cache_dir, config))
        found = cards(result, build_inventory(paths, config).servers)
    except ConfigError as exc:
        raise _fail(str(exc)) from None
    if output_format == "json":
        _write(checklist_report.render_json(found), output)
    elif output_format == "markdown":
        _write(checklist_report.render_markdown(found), output)
    else:
        _print_console(lambda console: checklist_report.print_cards(found, console, verbose=verbose), output, color)
    if result.failing() and not exit_zero:
        raise typer.Exit(EXIT_FINDINGS)


baseline_app = typer.Typer(
    help="Record the findings you have today, so scans with --baseline report only new ones.",
    no_args_is_help=True,
)
app.add_typer(baseline_app, name="baseline")


@baseline_app.command("write")
def baseline_write(
    paths: List[Path] = typer.Argument(None, help="Files or folders to scan [default: .]"),
    output: Path = typer.Option(Path(".mcplint-baseline.json"), "--output", "-o", help="The baseline file to write."),
    select: Optional[List[str]] = typer.Option(None, "--select", help="Rules to run: codes, prefixes (MCP3) or names; comma-separated."),
    ignore: Optional[List[str]] = typer.Option(None, "--ignore", help="Rules to skip: codes, prefixes or names."),
    exclude: Optional[List[str]] = typer.Option(None, "--exclude", help="Globs to skip, replacing the defaults."),
    extend_exclude: Optional[List[str]] = typer.Option(None, "--extend-exclude", help="Globs to skip, added to the defaults."),
    min_confidence: Optional[str] = typer.Option(None, "--min-confidence", help="Leave out findings below this confidence."),
    config_file: Optional[Path] = typer.Option(None, "--config", help="Read settings from this file (pyproject.toml or mcplint.toml)."),
    isolated: bool = typer.Option(False, "--isolated", help="Ignore all configuration files."),
    jobs: int = typer.Option(0, "--jobs", "-j", help="Worker processes for large trees (0: one per core)."),
) -> None:
    """Scan and record every active finding (by fingerprint and count, not line) in a baseline file."""
    from mcplint import api
    from mcplint import baseline

    paths = list(paths or [Path(".")])
    try:
        config = _config(paths, config_file, isolated, select, ignore, exclude, extend_exclude,
                         min_confidence=min_confidence)
        written = baseline.write(api.run_scan(paths, config, jobs=jobs), output)
    except ConfigError as exc:
        raise _fail(str(exc)) from None
    total = sum(entry.count for entry in written)
    sys.stderr.write(f"mcplint: wrote {total} finding{'s' if total != 1 else ''} to {output}\n")


@app.command("fix")
def fix_command(
    paths: List[Path] = typer.Argument(None, help="Files or folders to fix [default: .]"),
    diff: bool = typer.Option(False, "--diff", help="Print a unified diff of the fixes instead of writing them."),
    unsafe_fixes: bool = typer.Option(False, "--unsafe-fixes", help="Also apply fixes that may change behaviour."),
    select: Optional[List[str]] = typer.Option(None, "--select", help="Rules whose findings to fix: codes, prefixes or names."),
    ignore: Optional[List[str]] = typer.Option(None, "--ignore", help="Rules to skip: codes, prefixes or names."),
    exclude: Optional[List[str]] = typer.Option(None, "--exclude", help="Globs to skip, replacing the defaults."),
    extend_exclude: Optional[List[str]] = typer.Option(None, "--extend-exclude", help="Globs to skip, added to the defaults."),
    fail_on: Optional[str] = typer.Option(None, "--fail-on", help="Lowest severity of a remaining finding that makes the exit code 1 (default: low)."),
    config_file: Optional[Path] = typer.Option(None, "--config", help="Read settings from this file (pyproject.toml or mcplint.toml)."),
    isolated: bool = typer.Option(False, "--isolated", help="Ignore all configuration files."),
    force_exclude: bool = typer.Option(False, "--force-exclude", help="Apply excludes to files named on the command line too."),
    exit_zero: bool = typer.Option(False, "--exit-zero", help="Exit 0 even when findings remain."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="Print nothing but the diff (with --diff)."),
) -> None:
    """Apply the safe fixes of findings in place (scan again until none is left); --diff previews them."""
    from mcplint import fix as fixing

    paths = list(paths or [Path(".")])
    try:
        config = _config(paths, config_file, isolated, select, ignore, exclude, extend_exclude, fail_on=fail_on,
                         force_exclude=force_exclude)
        outcome = fixing.run(paths, config, write=not diff, unsafe=unsafe_fixes)
    except ConfigError as exc:
        raise _fail(str(exc)) from None
    if diff:
        sys.stdout.write(outcome.diff())
        sys.stdout.flush()
    if not quiet:
        for finding in sorted(outcome.fixed, key=lambda f: f.sort_key()):
            sys.stderr.write(f"{finding.path}:{finding.span.line}:{finding.span.column}: {finding.code} "
                             f"{finding.fix.description if finding.fix else ''}\n")
        verb = "Would fix" if diff else "Fixed"
        n, files = len(outcome.fixed), len(outcome.after)
        left = len(outcome.remaining)
        line = (f"{verb} {n} finding{'s' if n != 1 else ''} in {files} file{'s' if files != 1 else ''}; "
                f"{left} finding{'s' if left != 1 else ''} {'would remain' if diff else 'remain'}")
        if outcome.unsafe_available:
            line += f" ({outcome.unsafe_available} more fixable with --unsafe-fixes)"
        sys.stderr.write(line + ".\n")
    for error in outcome.errors:
        sys.stderr.write(f"mcplint: error: {error}\n")
    if outcome.errors:
        raise typer.Exit(EXIT_ERROR)
    if outcome.failing and not exit_zero:
        raise typer.Exit(EXIT_FINDINGS)


def main() -> None:
    try:
        app()
    except KeyboardInterrupt:
        sys.stderr.write("mcplint: interrupted\n")
        sys.exit(130)
    except Exception as exc:  # a bug in mcplint: exit 2, never 1 (which means findings)
        import traceback

        traceback.print_exc()
        sys.stderr.write(f"mcplint: internal error: {exc!r}; please report it\n")
        sys.exit(EXIT_ERROR)


if __name__ == "__main__":
    main()
