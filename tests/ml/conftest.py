from __future__ import annotations

from pathlib import Path

import pytest

SHARED = Path(__file__).resolve().parents[2].parent / "shared"


@pytest.fixture
def models_dir() -> Path:
    """The real model files (../shared/models next to the repository)."""
    return SHARED / "models"


@pytest.fixture
def testsets() -> Path:
    return SHARED / "testsets"
