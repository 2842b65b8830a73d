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
) -> ScanResult:
    return scan(paths or [Path(".")], config, progress=progress, jobs=jobs)
