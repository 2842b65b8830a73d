"""`python -m mcplint` and the `mcplint` command."""

import sys

from mcplint import quiet_scanned_code_warnings


def main() -> None:
    quiet_scanned_code_warnings()
    spare = sys.argv[1:2] == ["scan"]
    if spare:
        # analysing a Python file needs libcst and the rules (~0.2 s to import): a worker
        # forked now imports them on the other core while the CLI starts up
        from mcplint import workers

        workers.start_spare("mcplint.engine", "warm_up")
    from mcplint.cli import main as cli

    try:
        cli()
    finally:
        if spare:
            workers.stop_spare()  # if the scan did not take it


if __name__ == "__main__":
    main()
