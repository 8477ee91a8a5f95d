"""SQLite's one writer: an SMS worker's short claim goes before ordinary writers that are still queueing
(dispatch/services/unit_of_work.py). Always on a SQLite file, whichever database the suite runs on:
PostgreSQL has no single writer to queue for."""
from __future__ import annotations

import fcntl
import os
import threading
import time

from sqlalchemy import text

from dispatch import create_app
from dispatch.services.unit_of_work import write_transaction
from models import db


def test_an_urgent_writer_waiting_for_sqlite_goes_before_an_ordinary_one_queued_earlier(tmp_path):
    path = tmp_path / "writers.sqlite3"
    app = create_app({"TESTING": True, "SECRET_KEY": "x", "SQLALCHEMY_DATABASE_URI": f"sqlite:///{path}"})
    with app.app_context():
        with db.engine.begin() as conn:
            conn.execute(text("CREATE TABLE log (seq INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT)"))
    holding, let_go = threading.Event(), threading.Event()

    def write(name: str, urgent: bool) -> None:
        with app.app_context():
            with write_transaction(urgent=urgent) as session:
                if name == "report in progress":
                    holding.set()
                    let_go.wait(10)
                session.execute(text("INSERT INTO log (name) VALUES (:name)"), {"name": name})
            db.session.remove()

    first = threading.Thread(target=write, args=("report in progress", False))
    first.start()
    assert holding.wait(10)
    queued = threading.Thread(target=write, args=("next report", False))
    queued.start()
    claim = threading.Thread(target=write, args=("SMS claim", True))
    claim.start()
    # The claim says it is waiting by holding the gate shared: an exclusive try on it fails meanwhile.
    gate = os.open(f"{path}-urgent", os.O_RDWR | os.O_CREAT)
    deadline = time.monotonic() + 10
    try:
        while time.monotonic() < deadline:
            try:
                fcntl.flock(gate, fcntl.LOCK_EX | fcntl.LOCK_NB)
                fcntl.flock(gate, fcntl.LOCK_UN)
            except BlockingIOError:
                break
            time.sleep(0.01)
        else:
            raise AssertionError("the urgent writer never queued")
    finally:
        os.close(gate)
    let_go.set()
    for thread in (first, queued, claim):
        thread.join(10)
    with app.app_context():
        order = db.session.execute(text("SELECT name FROM log ORDER BY seq")).scalars().all()
        db.engine.dispose()
    assert order == ["report in progress", "SMS claim", "next report"]
