"""mcplint: a security linter for the source code of MCP servers."""

__version__ = "0.1.0"


def quiet_scanned_code_warnings() -> None:
    """CPython warns while it parses the scanned code, not only when mcplint compiles it:
    libcst's `evaluated_value` and `get_docstring()` run `ast.literal_eval` on its
    strings, and an invalid escape (`"\\d"`, `"\\w"`) there prints a SyntaxWarning (a
    DeprecationWarning before Python 3.12) to stderr for code mcplint only reads."""
    import warnings

    warnings.filterwarnings("ignore", category=SyntaxWarning)
    warnings.filterwarnings("ignore", message="invalid escape sequence", category=DeprecationWarning)
