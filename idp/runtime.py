"""What views need, built once by ``create_app``: settings, engine, session factory."""

from __future__ import annotations

from dataclasses import dataclass

from flask import Flask
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session
from sqlalchemy.orm import sessionmaker

from directory.settings import DirectorySettings
from idp import config


@dataclass(frozen=True)
class Runtime:
    settings: config.Settings
    directory: DirectorySettings
    engine: Engine
    sessions: sessionmaker[Session]


def runtime(app: Flask) -> Runtime:
    return app.extensions["idp"]
