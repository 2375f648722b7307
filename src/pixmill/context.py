"""The wiring: one place that turns Settings into the adapters every process needs."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from pixmill.config import Settings
from pixmill.db.session import make_engine, make_sessionmaker
from pixmill.storage import Storage, build_storage


@dataclass
class Context:
    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    storage: Storage

    @classmethod
    def from_settings(cls, settings: Settings) -> Context:
        engine = make_engine(settings.resolved_database_url)
        return cls(settings, engine, make_sessionmaker(engine), build_storage(settings))

    @contextmanager
    def session(self) -> Iterator[Session]:
        with self.sessions() as session:
            yield session

    def close(self) -> None:
        self.engine.dispose()
