"""`python -m mcplint` and the `mcplint` command."""

import os
import sys
from typing import NoReturn

from mcplint import quiet_scanned_code_warnings


def _may_parse(argv: list[str]) -> bool:
    """Might `mcplint scan` with these arguments parse Python? Not when every argument
    that is not an option names a file other than Python source (a pre-commit run on a
    `.env` or a Dockerfile); with a folder, a Python file, or no path, it might."""
    if argv[:1] != ["scan"]:
        return False
    words = [word for word in argv[1:] if not word.startswith("-")]
    return not words or not all(os.path.isfile(word) and not word.endswith((".py", ".pyw")) for word in words)


def main() -> NoReturn:
    quiet_scanned_code_warnings()
    spare = _may_parse(sys.argv[1:])
    try:
        try:
            if spare:
                # analysing a Python file needs libcst and the rules (~0.2 s to import): a
                # worker forked now imports them on the other core while the CLI starts up
                from mcplint import workers

                workers.start_spare("mcplint.engine", "warm_up")
            from mcplint.cli import main as cli

            cli()
        except KeyboardInterrupt:  # before the CLI handles it: while importing
            sys.stderr.write("mcplint: interrupted\n")
            sys.exit(130)
        finally:
            if spare and "mcplint.workers" in sys.modules:
                sys.modules["mcplint.workers"].stop_kept()  # if the scan did not take it
    except SystemExit as done:
        _leave(done.code)
    _leave(0)


def _leave(code) -> NoReturn:
    """Exit with `code` (as `sys.exit` takes it) without tearing the interpreter down:
    freeing what a scan built, module by module, takes longer than a one-file
    pre-commit scan's analysis (40-80 ms after a scan of 700 files). Output is flushed
    first; every file mcplint writes is closed by then."""
    if code is None:
        code = 0
    elif not isinstance(code, int):
        sys.stderr.write(f"{code}\n")
        code = 1
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # a closed pipe (`mcplint scan | head`), a closed stream
            pass
    os._exit(code)


if __name__ == "__main__":
    main()
