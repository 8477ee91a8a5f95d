"""RQ jobs. Thin: take ids, open an app context, call one service, let errors propagate to RQ."""
from __future__ import annotations

from workers.context import job_app


def heartbeat() -> str:
    """Proves a worker is taking jobs: the scheduler enqueues it and the board shows its time."""
    from dispatch.services.heartbeats import beat

    with job_app().app_context():
        beat("worker")
    return "ok"


def send_sms(message_id: int) -> str:
    """Send one outbox row. Safe to run twice: the row is claimed before anything is sent."""
    from dispatch.services.notify import send_outbox_message

    with job_app().app_context():
        return send_outbox_message(message_id)
