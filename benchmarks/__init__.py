"""Reproducible speed comparison of mcplint with bandit and semgrep: `python -m benchmarks.run`."""
