"""The command line: thin over `mcplint.api`. Exit codes: 0 clean, 1 findings, 2 usage/config.

Each command is a plain function whose parameters are declared with `Option` and
`Argument`: typer's own arguments, kept as data. The typer application (`app`) is built
from them on first use. A command line made only of known options with plain values is
read straight from the same declarations instead, so that a pre-commit run does not
import typer, click and pydantic (typer builds a pydantic validator per option: together
about 0.2 s, more than scanning one file). Anything else (help, a mistake, an unusual
spelling such as `-qv`) goes to typer, which prints what it always did.
"""

from __future__ import annotations

import os
import sys
from enum import Enum
from pathlib import Path
from typing import Any, Callable, List, Optional

from mcplint import __version__, quiet_scanned_code_warnings
from mcplint.config import ConfigError
from mcplint.finding import Confidence, Severity

EXIT_CLEAN, EXIT_FINDINGS, EXIT_ERROR = 0, 1, 2


class Param:
    """The arguments of `typer.Option` or `typer.Argument` for one parameter."""

    def __init__(self, kind: str, default: Any, decls: tuple[str, ...], options: dict[str, Any]) -> None:
        self.kind, self.default, self.decls, self.options = kind, default, decls, options

    def for_typer(self):
        import typer

        make = typer.Option if self.kind == "option" else typer.Argument
        return make(self.default, *self.decls, **self.options)


def Option(default: Any, *decls: str, **options: Any) -> Any:
    return Param("option", default, decls, options)


def Argument(default: Any, **options: Any) -> Any:
    return Param("argument", default, (), options)


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


def _console(color: Color, stderr: bool):
    from rich.console import Console

    if color is Color.always:
        return Console(stderr=stderr, force_terminal=True, color_system="standard")
    if color is Color.never:
        return Console(stderr=stderr, no_color=True, color_system=None)
    return Console(stderr=stderr)


def _fail(message: str) -> SystemExit:
    """One plain line on stderr (never wrapped: scripts grep it), then exit 2."""
    sys.stderr.write("mcplint: error: " + " ".join(message.split()) + "\n")
    return SystemExit(EXIT_ERROR)


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
        import typer

        typer.echo(f"mcplint {__version__}")
        raise typer.Exit()


def main_callback(
    version: bool = Option(False, "--version", callback=_version, is_eager=True, help="Show the version and exit."),
) -> None:
    """Find security mistakes in MCP servers before they ship."""


def scan(
    paths: List[Path] = Argument(None, help="Files or folders to scan [default: .]"),
    output_format: Format = Option(Format.console, "--format", "-f", help="Output format."),
    output: Optional[Path] = Option(None, "--output", "-o", help="Write the report to FILE instead of stdout."),
    select: Optional[List[str]] = Option(None, "--select", help="Rules to run: codes, prefixes (MCP3) or names; comma-separated."),
    ignore: Optional[List[str]] = Option(None, "--ignore", help="Rules to skip: codes, prefixes or names."),
    exclude: Optional[List[str]] = Option(None, "--exclude", help="Globs to skip, replacing the defaults."),
    extend_exclude: Optional[List[str]] = Option(None, "--extend-exclude", help="Globs to skip, added to the defaults."),
    fail_on: Optional[str] = Option(None, "--fail-on", help="Lowest severity that makes the exit code 1: low, medium, high, critical [default: low]."),
    min_confidence: Optional[str] = Option(None, "--min-confidence", help="Hide findings below this confidence: low, medium, high [default: low]."),
    config_file: Optional[Path] = Option(None, "--config", help="Read settings from this file (pyproject.toml or mcplint.toml)."),
    isolated: bool = Option(False, "--isolated", help="Ignore all configuration files."),
    force_exclude: bool = Option(False, "--force-exclude", help="Apply excludes to files named on the command line too (for pre-commit)."),
    exit_zero: bool = Option(False, "--exit-zero", help="Exit 0 even when findings are reported."),
    color: Color = Option(Color.auto, "--color", help="Colour the console report."),
    no_progress: bool = Option(False, "--no-progress", help="Never show a progress bar."),
    jobs: int = Option(0, "--jobs", "-j", help="Worker processes for large trees (0: one per core)."),
    quiet: bool = Option(False, "--quiet", "-q", help="Print findings only, one line each."),
    verbose: bool = Option(False, "--verbose", "-v", help="Also show suppressed findings."),
    statistics: bool = Option(False, "--statistics", help="Print how many findings each rule reported instead of the findings (console or json format)."),
    baseline_file: Optional[Path] = Option(None, "--baseline", help="Leave out the findings recorded in this baseline file (see `mcplint baseline write`)."),
    diff_ref: Optional[str] = Option(None, "--diff", metavar="REF", help="Report only findings introduced since this git revision (branch, tag or commit)."),
    no_cache: bool = Option(False, "--no-cache", help="Neither read nor write the result cache."),
    cache_dir: Optional[Path] = Option(None, "--cache-dir", envvar="MCPLINT_CACHE_DIR", help="Where the result cache lives [default: .mcplint_cache in the project root]."),
) -> None:
    """Scan Python MCP server code and report security findings."""
    from mcplint import api

    if statistics and output_format not in (Format.console, Format.json):
        raise _fail(f"--statistics: works with --format console or json, not {output_format.value}")
    paths = list(paths or [Path(".")])
    try:
        config = _config(paths, config_file, isolated, select, ignore, exclude, extend_exclude, fail_on=fail_on,
                         min_confidence=min_confidence, force_exclude=force_exclude)
        machine = output_format is not Format.console
        err = None if quiet else _console(color, stderr=True)  # progress bar and summary line
        progress_wanted = (
            not (no_progress or quiet)
            and err.is_terminal
            and not os.environ.get("CI")
            and not os.environ.get("PRE_COMMIT")
        )
        if not ((statistics or machine) and quiet):
            # the report's modules, imported while the spare worker (if any) analyses
            from mcplint.report import console as console_report  # noqa: F401
        result = _run_with_progress(api, paths, config, err if progress_wanted else None, jobs,
                                    baseline=baseline_file, diff=diff_ref, cache_dir=_cache(no_cache, cache_dir, config))
    except ConfigError as exc:
        raise _fail(str(exc)) from None

    root = config.root
    if statistics or machine:
        if statistics:
            from mcplint.report import statistics as statistics_report

            machine_stats = output_format is Format.json
            text = statistics_report.render_json(result) if machine_stats else statistics_report.render_text(result)
        else:
            from mcplint.report import FORMATS

            text = FORMATS[output_format.value](result, root=root)
        _write(text, output)
        if not quiet:
            from mcplint.report import console as console_report

            if output is not None and not statistics:
                console_report.print_report(result, err, root=root, verbose=verbose)
            else:
                err.print(console_report.summary_line(result))
    else:
        from mcplint.report import console as console_report

        _print_console(lambda console: console_report.print_report(result, console, root=root, quiet=quiet,
                                                                   verbose=verbose), output, color)
    if result.baseline is not None and not quiet:
        for line in result.baseline.messages():  # stale baseline entries: worth knowing, never a failure
            sys.stderr.write(f"mcplint: {line}\n")
    if result.failing() and not exit_zero:
        raise SystemExit(EXIT_FINDINGS)


def _run_with_progress(api, paths, config, console, jobs: int, **known):
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
    from rich.console import Console

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


def list_rules(
    output_format: str = Option("table", "--format", "-f", help="table or json."),
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
    from rich.console import Console
    from rich.table import Table

    table = Table(show_edge=False, pad_edge=False)
    table.add_column("code", no_wrap=True, min_width=6)  # never cut: it is what users type
    table.add_column("name", overflow="fold", min_width=14)
    for column in ("severity", "confidence", "checklist"):
        table.add_column(column, no_wrap=True)
    table.add_column("summary", overflow="fold", min_width=20)
    for r in rules:
        table.add_row(r.code, r.name, r.severity.value, r.confidence.value, r.checklist or "-", r.meta.summary)
    Console().print(table)


def explain(code: str = Argument(..., help="A rule code (MCP301) or name (tool-shell-injection).")) -> None:
    """Show a rule's documentation with its bad and good example."""
    from mcplint.registry import find_rule

    rule = find_rule(code)
    if rule is None:
        raise _fail(f"unknown rule `{code}` (see `mcplint rules`)")
    from mcplint.docs import rule_markdown

    from rich.console import Console

    text = rule_markdown(rule.meta, level=1)
    console = Console()
    if console.is_terminal:
        from rich.markdown import Markdown

        console.print(Markdown(text))
    else:
        sys.stdout.write(text)


def inventory(
    paths: List[Path] = Argument(None, help="Files or folders to read (default: the current folder)."),
    output_format: str = Option("console", "--format", "-f", help="console or json."),
    output: Optional[Path] = Option(None, "--output", "-o", help="Write the inventory to FILE instead of stdout."),
    config_file: Optional[Path] = Option(None, "--config", help="Read settings (excludes) from this file."),
    isolated: bool = Option(False, "--isolated", help="Ignore all configuration files."),
    color: Color = Option(Color.auto, "--color", help="Colour the console output."),
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


def checklist(
    paths: List[Path] = Argument(None, help="Files or folders to judge [default: .]"),
    output_format: str = Option("console", "--format", "-f", help="console, json or markdown."),
    output: Optional[Path] = Option(None, "--output", "-o", help="Write the scorecard to FILE instead of stdout."),
    config_file: Optional[Path] = Option(None, "--config", help="Read settings from this file."),
    isolated: bool = Option(False, "--isolated", help="Ignore all configuration files."),
    color: Color = Option(Color.auto, "--color", help="Colour the console output."),
    exit_zero: bool = Option(False, "--exit-zero", help="Exit 0 even when an item fails."),
    verbose: bool = Option(False, "--verbose", "-v", help="List every finding and piece of evidence."),
    no_cache: bool = Option(False, "--no-cache", help="Neither read nor write the result cache."),
    cache_dir: Optional[Path] = Option(None, "--cache-dir", envvar="MCPLINT_CACHE_DIR", help="Where the result cache lives."),
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
        raise SystemExit(EXIT_FINDINGS)


def baseline_write(
    paths: List[Path] = Argument(None, help="Files or folders to scan [default: .]"),
    output: Path = Option(Path(".mcplint-baseline.json"), "--output", "-o", help="The baseline file to write."),
    select: Optional[List[str]] = Option(None, "--select", help="Rules to run: codes, prefixes (MCP3) or names; comma-separated."),
    ignore: Optional[List[str]] = Option(None, "--ignore", help="Rules to skip: codes, prefixes or names."),
    exclude: Optional[List[str]] = Option(None, "--exclude", help="Globs to skip, replacing the defaults."),
    extend_exclude: Optional[List[str]] = Option(None, "--extend-exclude", help="Globs to skip, added to the defaults."),
    min_confidence: Optional[str] = Option(None, "--min-confidence", help="Leave out findings below this confidence."),
    config_file: Optional[Path] = Option(None, "--config", help="Read settings from this file (pyproject.toml or mcplint.toml)."),
    isolated: bool = Option(False, "--isolated", help="Ignore all configuration files."),
    jobs: int = Option(0, "--jobs", "-j", help="Worker processes for large trees (0: one per core)."),
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


def fix_command(
    paths: List[Path] = Argument(None, help="Files or folders to fix [default: .]"),
    diff: bool = Option(False, "--diff", help="Print a unified diff of the fixes instead of writing them."),
    unsafe_fixes: bool = Option(False, "--unsafe-fixes", help="Also apply fixes that may change behaviour."),
    select: Optional[List[str]] = Option(None, "--select", help="Rules whose findings to fix: codes, prefixes or names."),
    ignore: Optional[List[str]] = Option(None, "--ignore", help="Rules to skip: codes, prefixes or names."),
    exclude: Optional[List[str]] = Option(None, "--exclude", help="Globs to skip, replacing the defaults."),
    extend_exclude: Optional[List[str]] = Option(None, "--extend-exclude", help="Globs to skip, added to the defaults."),
    fail_on: Optional[str] = Option(None, "--fail-on", help="Lowest severity of a remaining finding that makes the exit code 1 (default: low)."),
    config_file: Optional[Path] = Option(None, "--config", help="Read settings from this file (pyproject.toml or mcplint.toml)."),
    isolated: bool = Option(False, "--isolated", help="Ignore all configuration files."),
    force_exclude: bool = Option(False, "--force-exclude", help="Apply excludes to files named on the command line too."),
    exit_zero: bool = Option(False, "--exit-zero", help="Exit 0 even when findings remain."),
    quiet: bool = Option(False, "--quiet", "-q", help="Print nothing but the diff (with --diff)."),
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
        raise SystemExit(EXIT_ERROR)
    if outcome.failing and not exit_zero:
        raise SystemExit(EXIT_FINDINGS)


# -- the typer application, and the command lines read without it ---------------------

COMMANDS: dict[str, Callable] = {
    "scan": scan,
    "rules": list_rules,
    "explain": explain,
    "inventory": inventory,
    "checklist": checklist,
    "fix": fix_command,
}
BASELINE_COMMANDS: dict[str, Callable] = {"write": baseline_write}


def _call(command: Callable, arguments: dict[str, Any]) -> Any:
    return command(**arguments)


def _for_typer(command: Callable, call: Callable) -> Callable:
    """`command` with typer's Option/Argument objects as defaults; it runs `call(command, arguments)`."""
    import functools
    import inspect

    signature = inspect.signature(command, eval_str=True)
    parameters = [p.replace(default=p.default.for_typer()) if isinstance(p.default, Param) else p
                  for p in signature.parameters.values()]

    @functools.wraps(command)
    def run(**arguments):
        return call(command, arguments)

    run.__signature__ = signature.replace(parameters=parameters)
    return run


def build_app(call: Callable = _call):
    """The typer application. `call(command, arguments)` runs a command (tests record them)."""
    import typer

    typer_app = typer.Typer(
        name="mcplint",
        help="Security linter for MCP server source code.",
        add_completion=False,
        no_args_is_help=True,
        pretty_exceptions_enable=False,
        context_settings={"help_option_names": ["-h", "--help"]},
    )
    typer_app.callback()(_for_typer(main_callback, call))
    for name, command in COMMANDS.items():
        typer_app.command(name)(_for_typer(command, call))
    baseline_app = typer.Typer(
        help="Record the findings you have today, so scans with --baseline report only new ones.",
        no_args_is_help=True,
    )
    for name, command in BASELINE_COMMANDS.items():
        baseline_app.command(name)(_for_typer(command, call))
    typer_app.add_typer(baseline_app, name="baseline")
    return typer_app


def __getattr__(name: str):
    if name == "app":  # built on first use: `from mcplint.cli import app`
        globals()["app"] = built = build_app()
        return built
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _plain_type(annotation) -> tuple[Any, bool]:
    """(the type of one value, does the parameter take a list) for Optional[X], List[X], X."""
    from typing import get_args, get_origin

    many = False
    while get_origin(annotation) is not None:
        arguments = [a for a in get_args(annotation) if a is not type(None)]
        if len(arguments) != 1:
            return None, False
        many = many or get_origin(annotation) is list
        annotation = arguments[0]
    return annotation, many


def _plain_value(kind, text: str):
    """`text` as typer would convert it, or None where typer might decide otherwise."""
    if kind is str:
        return text
    if kind is int:
        return int(text) if text == "0" or (text.isdigit() and text.isascii() and text[0] != "0") else None
    if kind is Path:
        return Path(text) if text else None
    if isinstance(kind, type) and issubclass(kind, Enum):
        return next((member for member in kind if member.value == text), None)
    return None


def parse_plain(argv: list[str]) -> tuple[Callable, dict[str, Any]] | None:
    """(command, its arguments) for a command line that typer would read the same way
    with nothing to say: a command of COMMANDS, options spelled `--name value`,
    `--name=value` or `-n value`, values typer takes as they are. None for anything else."""
    if not argv or argv[0] not in COMMANDS or os.name == "nt":  # typer expands globs on Windows
        return None
    if any(key.startswith("_") and key.endswith("_COMPLETE") for key in os.environ):  # shell completion
        return None
    import inspect

    command = COMMANDS[argv[0]]
    options: dict[str, tuple[str, Any, bool]] = {}  # "--format" -> (parameter, type, takes a list)
    positional = None
    arguments: dict[str, Any] = {}
    for parameter in inspect.signature(command, eval_str=True).parameters.values():
        param = parameter.default
        kind, many = _plain_type(parameter.annotation)
        if not isinstance(param, Param) or set(param.options) - {"help", "metavar", "envvar"} or kind is None:
            return None  # a callback, a constraint: typer's business
        if kind is bool and (param.default is not False or many or any("/" in d for d in param.decls)):
            return None  # only plain flags: `--isolated`
        arguments[parameter.name] = param.default
        if param.kind == "argument":
            if positional is not None or "envvar" in param.options:
                return None
            positional = (parameter.name, kind, many)
            continue
        options.update((decl, (parameter.name, kind, many)) for decl in param.decls)
        from_env = os.environ.get(param.options.get("envvar") or "")
        if from_env:  # a value from the environment, as if given
            if many or kind is bool or _plain_value(kind, from_env) is None:
                return None
            arguments[parameter.name] = _plain_value(kind, from_env)
    values: list[str] = []
    lists: dict[str, list] = {}  # options given more than once add up
    rest = iter(argv[1:])
    for token in rest:
        if token == "--":
            values.extend(rest)
            break
        if not token.startswith("-"):
            values.append(token)
            continue
        name, equals, attached = token.partition("=") if token.startswith("--") else (token, "", "")
        if name not in options:  # includes -h and --help
            return None
        dest, kind, many = options[name]
        if kind is bool:
            if equals:
                return None
            arguments[dest] = True
            continue
        text = attached if equals else next(rest, "-")
        value = None if text.startswith("-") else _plain_value(kind, text)  # `-x`: an option, perhaps
        if value is None:
            return None
        if many:
            lists.setdefault(dest, []).append(value)
        else:
            arguments[dest] = value
    arguments.update(lists)
    if values:
        if positional is None:
            return None
        dest, kind, many = positional
        converted = [_plain_value(kind, value) for value in values]
        if None in converted or (not many and len(converted) > 1):
            return None
        arguments[dest] = converted if many else converted[0]
    if any(value is ... for value in arguments.values()):  # a required argument is missing
        return None
    return command, arguments


def main() -> None:
    quiet_scanned_code_warnings()
    plain = parse_plain(sys.argv[1:])
    try:
        if plain is None:
            build_app()()
        else:
            _run_plain(*plain)
    except KeyboardInterrupt:
        sys.stderr.write("mcplint: interrupted\n")
        sys.exit(130)
    except Exception as exc:  # a bug in mcplint: exit 2, never 1 (which means findings)
        import traceback

        traceback.print_exc()
        sys.stderr.write(f"mcplint: internal error: {exc!r}; please report it\n")
        sys.exit(EXIT_ERROR)


def _run_plain(command: Callable, arguments: dict[str, Any]) -> None:
    """Run a command as typer's standalone mode does: an interrupt exits 130, a closed
    pipe 1 (and nothing more is written to it)."""
    import errno

    try:
        command(**arguments)
    except KeyboardInterrupt:
        sys.exit(130)
    except OSError as exc:
        if exc.errno != errno.EPIPE:
            raise
        sys.stdout, sys.stderr = _Pacified(sys.stdout), _Pacified(sys.stderr)
        sys.exit(1)


class _Pacified:
    """A stream whose flush ignores a closed pipe (Python flushes stdout once more at exit)."""

    def __init__(self, stream) -> None:
        self._stream = stream

    def __getattr__(self, name: str):
        return getattr(self._stream, name)

    def flush(self) -> None:
        import errno

        try:
            self._stream.flush()
        except OSError as exc:
            if exc.errno != errno.EPIPE:
                raise


if __name__ == "__main__":
    main()
