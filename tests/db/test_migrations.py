from __future__ import annotations

from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from pixmill.db.models import Base
from pixmill.db.session import make_engine, upgrade


def _diff(url: str) -> list:
    engine = make_engine(url)
    try:
        upgrade(engine)
        with engine.connect() as conn:
            return compare_metadata(MigrationContext.configure(conn), Base.metadata)
    finally:
        engine.dispose()


def test_migrations_build_exactly_the_models_on_sqlite(tmp_path: Path) -> None:
    assert _diff(f"sqlite:///{tmp_path / 'db.sqlite'}") == []


@pytest.mark.postgres
def test_migrations_build_exactly_the_models_on_postgres(postgres_url: str) -> None:
    assert _diff(postgres_url) == []


def test_cli_db_upgrade_is_idempotent(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from typer.testing import CliRunner

    from pixmill.cli import app

    monkeypatch.setenv("PIXMILL_DATA_DIR", str(tmp_path))
    for _ in range(2):
        result = CliRunner().invoke(app, ["db", "upgrade"])
        assert result.exit_code == 0, result.output
    assert (tmp_path / "pixmill.db").exists()
