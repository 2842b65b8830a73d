from __future__ import annotations

import os
from pathlib import Path

# Every report an MCP rule makes in a file without servers or handlers is checked
# against the rule's `in_imported_modules` (mcplint.engine), here and in the CLI runs
# the tests start.
os.environ["MCPLINT_CHECK_DECLARATIONS"] = "1"

import pytest

REPO = Path(__file__).resolve().parent.parent
FIXTURES = REPO / "fixtures"


@pytest.fixture
def repo() -> Path:
    return REPO
