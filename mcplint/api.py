"""What the CLI and tests call: resolve settings, then scan."""

from __future__ import annotations

from pathlib import Path
from typing import Callable

from mcplint import config as config_module
from mcplint.config import Config, ConfigError
from mcplint.engine import ScanResult, scan


def resolve_config(
    paths: list[Path],
    *,
    config_file: Path | None = None,
    isolated: bool = False,
    **overrides,
) -> Config:
    """Settings for a scan: an explicit file, else the nearest one, then flags on top."""
    if config_file is not None and isolated:
        raise ConfigError("--config and --isolated cannot be used together")
    if config_file is not None:
        if not config_file.is_file():
            raise ConfigError(f"config file not found: {config_file}")
        base = config_module.load(config_file)
    elif isolated:
        base = Config()
    else:
        start = paths[0] if paths else Path.cwd()
        found = config_module.find_config(start if start.exists() else Path.cwd())
        base = config_module.load(found) if found else Config()
    return config_module.with_overrides(base, **overrides)


def run_scan(
    paths: list[Path],
    config: Config,
    progress: Callable[[int, int], None] | None = None,
    jobs: int | None = None,
    *,
    baseline: Path | None = None,
    diff: str | None = None,
    cache_dir: Path | None = None,
) -> ScanResult:
    """Scan; with `baseline` (a baseline file) or `diff` (a git revision), leave out the
    findings already known there (mcplint.baseline, mcplint.gitdiff)."""
    if baseline is not None and diff is not None:
        raise ConfigError("--baseline and --diff cannot be used together")
    if baseline is not None:
        from mcplint import baseline as baseline_file

        known = baseline_file.load(baseline)  # a bad file fails before the scan, not after
        result = scan(paths or [Path(".")], config, progress=progress, jobs=jobs, cache_dir=cache_dir)
        return baseline_file.compare(result, known, kind="file", source=str(baseline))
    if diff is not None:
        from mcplint.gitdiff import scan_since

        return scan_since(diff, paths or [Path(".")], config, progress=progress, jobs=jobs)
    return scan(paths or [Path(".")], config, progress=progress, jobs=jobs, cache_dir=cache_dir)
