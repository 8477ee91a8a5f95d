"""One app per worker process, made on first use; fresh database connections in a forked job."""
from __future__ import annotations

import os

from flask import Flask

_app: Flask | None = None
_pid: int | None = None


def job_app() -> Flask:
    """The app for jobs. A forked job must not reuse sockets opened by its parent, so the
    connection pool is dropped (without closing the parent's connections) after a fork."""
    global _app, _pid
    if _app is None:
        from dispatch import create_app

        _app = create_app()
        _pid = os.getpid()
    elif _pid != os.getpid():
        from models.base import db

        with _app.app_context():
            db.engine.dispose(close=False)
        _pid = os.getpid()
    return _app


def use_app(app: Flask) -> None:
    """Let the worker command (or a test) hand over the app it already built."""
    global _app, _pid
    _app = app
    _pid = os.getpid()
