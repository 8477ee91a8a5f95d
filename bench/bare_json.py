"""A bare Flask JSON endpoint: what the filing throughput of the report endpoint is compared with.

Served by the Procfile's own gunicorn line (same workers and threads) in the same run as the report
burst: it reads the same JSON body and answers 201 with a small JSON ticket, and does nothing else.
"""
from __future__ import annotations

from flask import Flask, request

app = Flask(__name__)


@app.post("/api/v1/tickets")
def report_fault():
    data = request.get_json()
    return {"number": 0, "status": "new", "ward_id": data.get("ward_id"), "trade": data.get("trade")}, 201
