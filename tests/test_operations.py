"""What the people running the service watch: GET /metrics (parsed with Prometheus' own text parser)
and the Queues page, against real Redis, real RQ workers and jobs, and the real database."""
from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from prometheus_client.parser import text_string_to_metric_families
from redis import Redis
from rq import Queue, SimpleWorker, Worker
from rq.serializers import JSONSerializer
from sqlalchemy import func, select

from dispatch import create_app
from dispatch.services import heartbeats, notify, sla
from dispatch.services.tickets import report_fault
from dispatch.services.unit_of_work import write_transaction
from models import AuditEvent, OutboundMessage, Ticket, TicketEscalation, User, db
from tests.conftest import TEST_REDIS_URL


# --- helpers -----------------------------------------------------------------------------------

def scrape(client, **kw) -> dict[str, dict[tuple, float]]:
    """GET /metrics and parse it: {metric family: {labels as sorted tuple: value}}."""
    response = client.get("/metrics", **kw)
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.content_type.startswith("text/plain; version=0.0.4")
    families = {}
    for family in text_string_to_metric_families(response.get_data(as_text=True)):
        families[family.name] = {tuple(sorted(s.labels.items())): s.value for s in family.samples}
    return families


def value(families, name: str, **labels) -> float:
    return families[name][tuple(sorted(labels.items()))]


def fresh() -> None:
    db.session.rollback()
    db.session.expire_all()


@pytest.fixture
def queue_name(app, redis_conn) -> str:
    """Jobs of this test go to a queue of its own, in the test run's own (flushed) Redis database."""
    app.config["RQ_QUEUE"] = f"dispatch-test-{uuid.uuid4().hex[:12]}"
    return app.config["RQ_QUEUE"]


def a_failing_job(queue_name: str) -> str:
    """A real job that really fails in a real RQ worker: send_sms called with one argument too many."""
    connection = Redis.from_url(TEST_REDIS_URL)
    queue = Queue(queue_name, connection=connection, serializer=JSONSerializer)
    job = queue.enqueue("workers.jobs.send_sms", 4242, "extra", job_timeout=30, failure_ttl=3600)
    SimpleWorker([queue], connection=connection, serializer=JSONSerializer).work(burst=True, logging_level="ERROR")
    assert job.id in queue.failed_job_registry
    connection.close()
    return job.id


def file_emergency(hospital):
    nurse = hospital.user("nurse.icu")
    return report_fault(nurse, ward_id=hospital.icu.id, trade_id=hospital.trades["power"].id,
                        description="No power to bed 1, breaker tripped", priority=1)


# --- /metrics ----------------------------------------------------------------------------------

def test_metrics_report_queue_outbox_tickets_breaches_timers_and_heartbeats(app, hospital, clock, client, queue_name):
    import workers.context

    workers.context.use_app(app)
    failed_id = a_failing_job(queue_name)
    ticket = file_emergency(hospital)  # starts the escalation timer
    with write_transaction() as session:  # two SMS owed: rows pending, their jobs enqueued after commit
        for name in ("sparky", "volt"):
            notify.owe_sms(session, recipient=session.get(User, hospital.users[name].id), body="Job #1001",
                           kind="test", ticket=session.get(Ticket, ticket.id))
    heartbeats.beat("scheduler")
    db.session.add(OutboundMessage(ticket_id=ticket.id, to_number="+8613900000009", body="x", kind="test",
                                   state="failed", attempts=1, segments=1, last_error="unknown number",
                                   created_at=clock.now(), updated_at=clock.now()))
    db.session.commit()

    clock.advance(minutes=30)  # past the P1 acknowledge target; the first escalation step is overdue
    sla.sweep_breaches(clock.now())
    fresh()
    pending = db.session.scalar(select(OutboundMessage).where(OutboundMessage.state == "pending"))
    owed = db.session.scalars(select(OutboundMessage.state)).all()
    due = db.session.scalar(select(TicketEscalation.next_due_at))
    assert pending is not None and due is not None and owed.count("pending") == 2

    figures = scrape(client)
    assert value(figures, "dispatch_up") == 1
    assert value(figures, "dispatch_redis_up") == 1
    assert value(figures, "dispatch_database_up") == 1
    assert value(figures, "dispatch_queue_depth", queue=queue_name) == owed.count("pending")
    assert value(figures, "dispatch_queue_jobs", queue=queue_name, registry="failed") == 1
    assert value(figures, "dispatch_queue_jobs", queue=queue_name, registry="started") == 0
    assert value(figures, "dispatch_queue_jobs", queue=queue_name, registry="scheduled") == 0
    assert value(figures, "dispatch_queue_jobs", queue=queue_name, registry="deferred") == 0
    assert value(figures, "dispatch_workers_alive") == 0
    for state in ("pending", "sending", "sent", "delivered", "undelivered", "failed"):
        assert value(figures, "dispatch_outbox_messages", state=state) == owed.count(state), state
    assert value(figures, "dispatch_outbox_oldest_seconds", state="pending") == 30 * 60
    assert value(figures, "dispatch_outbox_oldest_seconds", state="sending") == 0
    assert value(figures, "dispatch_sms_failures_last_hour") == 1
    assert value(figures, "dispatch_open_tickets", priority="1", status=ticket.status) == 1
    assert sum(figures["dispatch_open_tickets"].values()) == 1
    assert value(figures, "dispatch_tickets_in_breach", target="acknowledge") == 1
    assert value(figures, "dispatch_tickets_in_breach", target="resolve") == 0
    assert value(figures, "dispatch_escalations_overdue") == 1
    assert value(figures, "dispatch_escalation_oldest_overdue_seconds") == (clock.now() - due).total_seconds()
    assert value(figures, "dispatch_heartbeat_age_seconds", process="scheduler") == 30 * 60
    assert value(figures, "dispatch_heartbeat_age_seconds", process="watchdog") == float("inf")

    # An hour later the SMS failure is no longer "in the last hour"; the failed job is still there.
    clock.advance(minutes=61)
    later = scrape(client)
    assert value(later, "dispatch_sms_failures_last_hour") == 0
    assert value(later, "dispatch_outbox_messages", state="failed") == 1
    assert value(later, "dispatch_queue_jobs", queue=queue_name, registry="failed") == 1 and failed_id
    # A day on, finished messages leave the figures; those still owed never do.
    clock.advance(hours=23)
    day_later = scrape(client)
    assert value(day_later, "dispatch_outbox_messages", state="failed") == 0
    assert value(day_later, "dispatch_outbox_messages", state="pending") == 2
    assert value(day_later, "dispatch_outbox_oldest_seconds", state="pending") == (24 * 60 + 31) * 60


def test_metrics_count_the_workers_alive_by_state(app, hospital, client, queue_name):
    connection = Redis.from_url(TEST_REDIS_URL)
    queue = Queue(queue_name, connection=connection, serializer=JSONSerializer)
    worker = Worker([queue], connection=connection, serializer=JSONSerializer, name=f"w-{uuid.uuid4().hex[:8]}")
    worker.register_birth()
    worker.set_state("idle")
    try:
        figures = scrape(client)
        assert value(figures, "dispatch_workers_alive") == 1
        assert value(figures, "dispatch_workers", state="idle") == 1
        assert value(figures, "dispatch_workers", state="busy") == 0
    finally:
        worker.register_death()
    assert value(scrape(client), "dispatch_workers_alive") == 0
    connection.close()


def test_metrics_answer_while_redis_is_down(app, hospital, client):
    app.config["REDIS_URL"] = "redis://127.0.0.1:1/0"  # nothing listens there
    figures = scrape(client)
    assert value(figures, "dispatch_up") == 1
    assert value(figures, "dispatch_redis_up") == 0
    assert "dispatch_queue_depth" not in figures and "dispatch_workers_alive" not in figures
    assert value(figures, "dispatch_database_up") == 1
    assert "dispatch_outbox_messages" in figures


def test_metrics_answer_while_the_database_is_down(db_backend, tmp_path):
    url = ("postgresql+psycopg://postgres@127.0.0.1:1/dispatch" if db_backend == "postgresql"
           else f"sqlite:///{tmp_path}/no/such/dir/dispatch.sqlite3")
    app = create_app({"TESTING": True, "SECRET_KEY": "x", "SQLALCHEMY_DATABASE_URI": url,
                      "REDIS_URL": "redis://127.0.0.1:1/0"})
    with app.app_context():
        figures = scrape(app.test_client())
        assert value(figures, "dispatch_up") == 1
        assert value(figures, "dispatch_database_up") == 0
        assert "dispatch_open_tickets" not in figures
        db.engine.dispose()


def test_metrics_are_refused_to_other_addresses_without_the_token(app, hospital, client):
    outside = {"environ_base": {"REMOTE_ADDR": "10.1.2.3"}}
    assert client.get("/metrics", **outside).status_code == 403
    app.config["METRICS_TOKEN"] = "s3cret-scrape-token"
    assert client.get("/metrics", headers={"Authorization": "Bearer wrong"}, **outside).status_code == 401
    assert client.get("/metrics", headers={"Authorization": "Basic czNjcmV0"}, **outside).status_code == 401
    scrape(client, headers={"Authorization": "Bearer s3cret-scrape-token"}, **outside)
    # Without a token configured, no bearer header opens it (not even an empty one).
    app.config["METRICS_TOKEN"] = None
    assert client.get("/metrics", headers={"Authorization": "Bearer "}, **outside).status_code == 401
    # The list takes networks, and ::1 counts as localhost.
    app.config["METRICS_ALLOW_FROM"] = "10.0.0.0/8, 192.168.1.7"
    scrape(client, **outside)
    assert client.get("/metrics").status_code == 403  # 127.0.0.1 is no longer listed
    app.config["METRICS_ALLOW_FROM"] = "localhost"
    scrape(client, environ_base={"REMOTE_ADDR": "::1"})


def test_a_proxy_the_app_was_not_told_about_does_not_make_everyone_local(app, hospital, client):
    # nginx on the same machine, TRUSTED_PROXIES unset: every request arrives from 127.0.0.1.
    assert client.get("/metrics", headers={"X-Forwarded-For": "203.0.113.9"}).status_code == 403
    scrape(client)  # the scraper on the machine itself, straight to gunicorn


def test_metrics_behind_a_trusted_proxy_read_the_client_address(hospital, database_url, clock):
    app = create_app({"TESTING": True, "SECRET_KEY": "x", "SQLALCHEMY_DATABASE_URI": database_url, "CLOCK": clock,
                      "REDIS_URL": TEST_REDIS_URL, "PROXY_FIX_X_FOR": 1, "METRICS_ALLOW_FROM": "10.0.0.0/8"})
    client = app.test_client()
    with app.app_context():
        assert client.get("/metrics", headers={"X-Forwarded-For": "203.0.113.9"}).status_code == 403
        scrape(client, headers={"X-Forwarded-For": "10.0.0.20"})
        db.engine.dispose()


def test_a_mistyped_allow_list_stops_the_start(database_url):
    with pytest.raises(RuntimeError, match="METRICS_ALLOW_FROM"):
        create_app({"TESTING": True, "SECRET_KEY": "x", "SQLALCHEMY_DATABASE_URI": database_url,
                    "METRICS_ALLOW_FROM": "10.0.0.0/8, the-office"})


# --- the Queues page -----------------------------------------------------------------------------

def test_the_admin_requeues_and_deletes_a_failed_job(app, login_as, queue_name, redis_conn):
    job_id = a_failing_job(queue_name)
    admin = login_as("admin")
    page = admin.get("/admin/queues").get_data(as_text=True)
    assert f'id="job-{job_id}"' in page
    assert "workers.jobs.send_sms(4242, &#39;extra&#39;)" in page
    assert "TypeError: send_sms() takes 1 positional argument but 2 were given" in page
    assert f'id="queue-{queue_name}"' in page

    response = admin.post("/admin/queues/failed/requeue", {"queue": queue_name, "job_id": job_id})
    assert response.status_code == 302
    queue = Queue(queue_name, connection=redis_conn, serializer=JSONSerializer)
    assert queue.job_ids == [job_id] and queue.failed_job_registry.count == 0
    assert "back on the queue" in admin.get("/admin/queues").get_data(as_text=True)
    fresh()
    trail = db.session.scalars(select(AuditEvent).where(AuditEvent.kind.in_(("job_requeued", "job_deleted")))).all()
    assert [(e.kind, e.actor.username, e.subject, e.detail) for e in trail] == [
        ("job_requeued", "admin", "workers.jobs.send_sms(4242, 'extra')", {"queue": queue_name, "job_id": job_id})]

    # It fails again in a real worker; this time it is deleted, and gone from Redis.
    SimpleWorker([queue], connection=redis_conn, serializer=JSONSerializer).work(burst=True, logging_level="ERROR")
    assert job_id in queue.failed_job_registry
    admin.post("/admin/queues/failed/delete", {"queue": queue_name, "job_id": job_id})
    assert queue.failed_job_registry.count == 0 and not redis_conn.exists(f"rq:job:{job_id}")
    page = admin.get("/admin/queues").get_data(as_text=True)
    assert "deleted" in page and 'id="no-failed-jobs"' in page
    fresh()
    assert db.session.scalar(select(func.count()).select_from(AuditEvent).where(AuditEvent.kind == "job_deleted")) == 1
    audit_page = admin.get("/admin/audit").get_data(as_text=True)
    assert "Failed job deleted" in audit_page and job_id in audit_page

    # A second click on a job already gone says so; nonsense is refused.
    again = admin.post("/admin/queues/failed/delete", {"queue": queue_name, "job_id": job_id}, follow_redirects=True)
    assert "no longer among the failed jobs" in again.get_data(as_text=True)
    assert admin.post("/admin/queues/failed/requeue", {"queue": queue_name, "job_id": "../../x"}).status_code == 400
    assert admin.post("/admin/queues/failed/requeue", {"job_id": job_id}).status_code == 400


def test_requeue_and_delete_need_the_csrf_token(app, login_as, queue_name, redis_conn):
    job_id = a_failing_job(queue_name)
    admin = login_as("admin")
    response = admin.client.post("/admin/queues/failed/delete", data={"queue": queue_name, "job_id": job_id})
    assert response.status_code == 400
    assert job_id in Queue(queue_name, connection=redis_conn, serializer=JSONSerializer).failed_job_registry


def test_supervisors_read_the_page_but_change_nothing_and_others_are_refused(app, login_as, queue_name, redis_conn):
    job_id = a_failing_job(queue_name)
    supervisor = login_as("supervisor")
    page = supervisor.get("/admin/queues").get_data(as_text=True)
    assert f'id="job-{job_id}"' in page and "/admin/queues/failed/requeue" not in page
    assert supervisor.post("/admin/queues/failed/requeue", {"queue": queue_name, "job_id": job_id}).status_code == 403
    assert supervisor.post("/admin/queues/failed/delete", {"queue": queue_name, "job_id": job_id}).status_code == 403
    assert job_id in Queue(queue_name, connection=redis_conn, serializer=JSONSerializer).failed_job_registry


def test_the_page_shows_workers_heartbeats_and_stuck_or_failed_sms(app, hospital, clock, login_as, queue_name):
    heartbeats.beat("scheduler")
    clock.advance(seconds=45)
    heartbeats.beat("watchdog")
    ticket = file_emergency(hospital)
    stuck = OutboundMessage(ticket_id=ticket.id, to_number="+8613900000003", body="x", kind="test", state="sending",
                            attempts=1, segments=1, created_at=clock.now(), updated_at=clock.now(),
                            claimed_at=clock.now())
    failed = OutboundMessage(ticket_id=ticket.id, to_number="+8613900000004", body="y", kind="test", state="failed",
                             attempts=8, segments=1, last_error="Twilio 21211: not a valid phone number",
                             created_at=clock.now(), updated_at=clock.now())
    db.session.add_all([stuck, failed])
    db.session.commit()
    clock.advance(minutes=2)

    connection = Redis.from_url(TEST_REDIS_URL)
    queue = Queue(queue_name, connection=connection, serializer=JSONSerializer)
    worker = Worker([queue], connection=connection, serializer=JSONSerializer, name=f"w-{uuid.uuid4().hex[:8]}")
    worker.register_birth()
    worker.set_state("busy")
    try:
        page = login_as("admin").get("/admin/queues").get_data(as_text=True)
    finally:
        worker.register_death()
        connection.close()
    assert worker.name in page and "busy" in page
    assert f'id="message-{stuck.id}"' in page and f'id="message-{failed.id}"' in page
    assert "not a valid phone number" in page
    scheduler_row = page.split('id="heartbeat-scheduler"')[1].split("</tr>")[0]
    watchdog_row = page.split('id="heartbeat-watchdog"')[1].split("</tr>")[0]
    worker_row = page.split('id="heartbeat-worker"')[1].split("</tr>")[0]
    assert "hb-silent" in scheduler_row and "2 min" in scheduler_row  # 165 s, past its 30 s
    assert "hb-silent" in watchdog_row                                 # 120 s, past its 60 s
    assert "never ran" in worker_row


def test_the_page_says_plainly_when_redis_is_down(app, hospital, login_as):
    app.config["REDIS_URL"] = "redis://127.0.0.1:1/0"
    response = login_as("admin").get("/admin/queues")
    assert response.status_code == 200
    assert 'id="redis-down"' in response.get_data(as_text=True)


def test_the_page_in_chinese(app, login_as, queue_name):
    admin = login_as("admin")
    admin.post("/language", {"locale": "zh_CN", "next": "/admin/queues"})
    page = admin.get("/admin/queues").get_data(as_text=True)
    assert "队列" in page and "失败的任务" in page


# --- the operations manual -------------------------------------------------------------------------

def test_the_operations_manual_lists_every_environment_variable():
    import re
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    names = set(re.findall(r'(?:environ\.get|_bool)\("([A-Z][A-Z0-9_]+)"', (root / "config.py").read_text()))
    manual = (root / "docs" / "operations.md").read_text()
    assert {"DATABASE_URL", "METRICS_TOKEN", "METRICS_ALLOW_FROM", "TRUSTED_PROXIES"} <= names
    assert not {n for n in names if f"`{n}`" not in manual}, "add them to docs/operations.md's table"
    assert "docs/operations.md" in (root / "README.md").read_text()
