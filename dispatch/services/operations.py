"""What the people running the service watch: the queue in Redis, the SMS outbox, open tickets and
breaches, escalation timers and the background processes' heartbeats.

Every figure is read from the database or Redis when asked (a few aggregate queries), never counted
in the process: behind gunicorn each scrape may reach a different worker process, and all must answer
the same. Redis being down is a figure too, not an error."""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

from flask import current_app
from sqlalchemy import and_, case, func, or_, select
from sqlalchemy.orm import joinedload

from dispatch.services import escalation, heartbeats, notify
from models import (
    MESSAGE_STATES, OPEN_STATUSES, Heartbeat, OutboundMessage, Ticket, TicketEscalation, db,
)
from dispatch.queue import redis_connection

log = logging.getLogger(__name__)

# The registries a job passes through besides the queue itself, as RQ names them.
REGISTRIES = ("started", "failed", "scheduled", "deferred")
SMS_FAILED_STATES = ("failed", "undelivered")
UNFINISHED_STATES = ("pending", "sending")
DONE_STATES = tuple(state for state in MESSAGE_STATES if state not in UNFINISHED_STATES)
# Messages that reached a final state (or 'sent') are counted over this window.
RECENT = timedelta(hours=24)
FAILED_JOBS_SHOWN = 50
STUCK_MESSAGES_SHOWN = 50
EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


@dataclass
class QueueFigures:
    name: str
    queued: int
    registries: dict[str, int]


@dataclass
class WorkerFigures:
    name: str
    hostname: str | None
    pid: int | None
    state: str
    queues: list[str]
    current_job_id: str | None
    current_job: str | None
    last_heartbeat: datetime | None
    successful: int
    failed: int


@dataclass
class RedisFigures:
    up: bool
    queues: list[QueueFigures] = field(default_factory=list)
    workers: list[WorkerFigures] = field(default_factory=list)
    error: str | None = None


@dataclass
class DatabaseFigures:
    up: bool
    outbox: dict[str, int] = field(default_factory=dict)
    # Age in seconds of the oldest row in each unfinished state (pending, sending), when there is one.
    outbox_oldest: dict[str, float] = field(default_factory=dict)
    sms_failures_last_hour: int = 0
    open_tickets: dict[tuple[int, str], int] = field(default_factory=dict)
    in_breach: dict[str, int] = field(default_factory=dict)
    escalations_overdue: int = 0
    oldest_overdue_seconds: float = 0.0
    heartbeat_ages: dict[str, float | None] = field(default_factory=dict)
    error: str | None = None


def _utc(moment: datetime | None) -> datetime | None:
    """RQ keeps naive UTC datetimes; ours are aware."""
    if moment is None:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def _seconds(now: datetime, then: datetime | None) -> float | None:
    return None if then is None else max(0.0, (now - _utc(then)).total_seconds())


# ---- Redis --------------------------------------------------------------------------------------

def _queues(connection):
    """Every queue RQ knows in this Redis, and always the service's own (even before its first job)."""
    from rq import Queue
    from rq.serializers import JSONSerializer

    own = current_app.config["RQ_QUEUE"]
    queues = {q.name: q for q in Queue.all(connection=connection, serializer=JSONSerializer)}
    queues.setdefault(own, Queue(own, connection=connection, serializer=JSONSerializer))
    return [queues[name] for name in sorted(queues)]


def _registry(queue, name: str):
    return {"started": queue.started_job_registry, "failed": queue.failed_job_registry,
            "scheduled": queue.scheduled_job_registry, "deferred": queue.deferred_job_registry}[name]


def redis_figures(connection=None) -> RedisFigures:
    """Queue depths, registry counts and workers; `up=False` (and nothing else) while Redis is unreachable."""

    own = connection is None
    try:
        connection = connection or redis_connection()
        queues = [QueueFigures(q.name, q.count, {r: _registry(q, r).count for r in REGISTRIES})
                  for q in _queues(connection)]
        workers = sorted((_worker(w) for w in _workers(connection)), key=lambda w: w.name)
    except Exception as error:  # redis.ConnectionError, TimeoutError, a Redis restarting (BUSY LOADING ...)
        log.warning("Redis unreachable for the operations figures: %s", error)
        return RedisFigures(up=False, error=str(error))
    finally:
        if own and connection is not None:
            connection.close()
    return RedisFigures(up=True, queues=queues, workers=workers)


def _workers(connection):
    from rq import Worker
    from rq.serializers import JSONSerializer

    return Worker.all(connection=connection, serializer=JSONSerializer)


def _worker(worker) -> WorkerFigures:
    state = worker.get_state()
    job_id = worker.get_current_job_id()
    job = worker.get_current_job() if job_id else None
    return WorkerFigures(
        name=worker.name, hostname=worker.hostname, pid=worker.pid, state=str(getattr(state, "value", state)),
        queues=worker.queue_names(), current_job_id=job_id, current_job=_function(job) if job is not None else None,
        last_heartbeat=_utc(worker.last_heartbeat), successful=worker.successful_job_count or 0,
        failed=worker.failed_job_count or 0)


def _function(job) -> str:
    try:
        return job.func_name
    except Exception:  # a job written by something else, in a form we cannot read
        return "?"


# ---- database -----------------------------------------------------------------------------------

def database_figures(now: datetime) -> DatabaseFigures:
    """Seven aggregate queries, each a range of an index."""
    try:
        figures = DatabaseFigures(up=True)
        figures.outbox = {state: 0 for state in MESSAGE_STATES}
        # Owed and in flight: every row, however old (an old one is the problem to see).
        for state, count, oldest in db.session.execute(
                select(OutboundMessage.state, func.count(), func.min(OutboundMessage.created_at))
                .where(OutboundMessage.state.in_(UNFINISHED_STATES)).group_by(OutboundMessage.state)):
            figures.outbox[state] = count
            figures.outbox_oldest[state] = _seconds(now, oldest)
        # Done: those that got there in the last day (years of delivered SMS would make every scrape a scan).
        for state, count in db.session.execute(
                select(OutboundMessage.state, func.count())
                .where(OutboundMessage.state.in_(DONE_STATES), OutboundMessage.updated_at >= now - RECENT)
                .group_by(OutboundMessage.state)):
            figures.outbox[state] = count
        figures.sms_failures_last_hour = db.session.scalar(
            select(func.count()).select_from(OutboundMessage)
            .where(OutboundMessage.state.in_(SMS_FAILED_STATES), OutboundMessage.updated_at >= now - timedelta(hours=1)))
        figures.open_tickets = {(priority, status): count for priority, status, count in db.session.execute(
            select(Ticket.priority, Ticket.status, func.count()).where(Ticket.status.in_(OPEN_STATUSES))
            .group_by(Ticket.priority, Ticket.status))}
        breached = db.session.execute(
            select(*(func.coalesce(func.sum(case((getattr(Ticket, f"{target}_breached").is_(True), 1), else_=0)), 0)
                     for target in ("acknowledge", "attend", "resolve")))
            .where(Ticket.status.in_(OPEN_STATUSES))).one()
        figures.in_breach = dict(zip(("acknowledge", "attend", "resolve"), (int(n) for n in breached)))
        overdue, oldest_due = db.session.execute(
            select(func.count(), func.min(TicketEscalation.next_due_at))
            .where(escalation.due_clause(now))).one()  # due and not yet fired: the same rule the scheduler fires by
        figures.escalations_overdue = overdue
        figures.oldest_overdue_seconds = _seconds(now, oldest_due) or 0.0
        beats = {row.name: row.beat_at for row in db.session.scalars(select(Heartbeat))}
        figures.heartbeat_ages = {name: _seconds(now, beats.get(name)) for name in heartbeats.SILENCE_LIMITS}
        db.session.commit()  # end the read transaction: a scrape must not hold a snapshot open
    except Exception as error:  # the database restarting or unreachable: say so, do not 500
        log.warning("database unreachable for the operations figures: %s", error)
        db.session.rollback()
        return DatabaseFigures(up=False, error=str(error).splitlines()[0] if str(error) else type(error).__name__)
    return figures


# ---- the Queues page ----------------------------------------------------------------------------

@dataclass
class FailedJob:
    id: str
    queue: str
    function: str
    arguments: str
    exception: str
    failed_at: datetime | None


def _summary(args, kwargs, limit: int = 120) -> str:
    text = ", ".join([repr(a) for a in args or ()] + [f"{k}={v!r}" for k, v in (kwargs or {}).items()])
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _tail(text: str | None, lines: int = 4) -> str:
    return "\n".join((text or "").strip().splitlines()[-lines:])


def failed_jobs(connection, limit: int = FAILED_JOBS_SHOWN) -> list[FailedJob]:
    """The newest failed jobs of every queue, with what they were asked to do and how they failed."""
    from rq.job import Job
    from rq.serializers import JSONSerializer

    found: list[FailedJob] = []
    for queue in _queues(connection):
        registry = queue.failed_job_registry
        ids = registry.get_job_ids(start=0, end=limit - 1, desc=True)
        for job in Job.fetch_many(ids, connection=connection, serializer=JSONSerializer):
            if job is None:
                continue  # expired between the two reads
            try:
                function, arguments = job.func_name, _summary(job.args, job.kwargs)
            except Exception:  # a job written by something else, in a form we cannot read
                function, arguments = "?", ""
            result = job.latest_result()
            found.append(FailedJob(
                id=job.id, queue=queue.name, function=function, arguments=arguments,
                exception=_tail(result.exc_string if result is not None else None),
                failed_at=_utc(job.ended_at or (result.created_at if result is not None else None))))
    found.sort(key=lambda j: (j.failed_at is not None, j.failed_at or EPOCH), reverse=True)
    return found[:limit]


def _queue_named(connection, name: str):
    for queue in _queues(connection):
        if queue.name == name:
            return queue
    return None


def _failed_job(connection, queue_name: str, job_id: str):
    from rq.job import Job
    from rq.serializers import JSONSerializer

    queue = _queue_named(connection, queue_name)
    if queue is None or job_id not in queue.failed_job_registry:
        return None, None
    job = Job.fetch_many([job_id], connection=connection, serializer=JSONSerializer)[0]
    return queue, job


def _call(job) -> str:
    try:
        return f"{job.func_name}({_summary(job.args, job.kwargs, limit=80)})"
    except Exception:
        return "?"


def requeue_failed(connection, queue_name: str, job_id: str) -> str | None:
    """Put a failed job back on its queue; returns what it calls (None: not a failed job any more).
    Safe for SMS: a job claims its outbox row before sending."""
    queue, job = _failed_job(connection, queue_name, job_id)
    if queue is None:
        return None
    queue.failed_job_registry.requeue(job_id)
    return _call(job) if job is not None else "?"


def delete_failed(connection, queue_name: str, job_id: str) -> str | None:
    """Forget a failed job; returns what it called. An SMS it was sending stays in the outbox, where
    the scheduler's sweep still sees it."""
    queue, job = _failed_job(connection, queue_name, job_id)
    if queue is None:
        return None
    queue.failed_job_registry.remove(job_id)
    if job is not None:
        job.delete(remove_from_queue=False)
    return _call(job) if job is not None else "?"


def troubled_messages(now: datetime, limit: int = STUCK_MESSAGES_SHOWN) -> list[OutboundMessage]:
    """SMS the sweep should have moved on: pending past a re-enqueue, sending past the stuck limit,
    and those that failed or went undelivered in the last day."""
    return list(db.session.scalars(
        select(OutboundMessage).options(joinedload(OutboundMessage.recipient))
        .where(or_(and_(OutboundMessage.state == "pending", OutboundMessage.created_at < now - notify.requeue_after()),
                   and_(OutboundMessage.state == "sending", OutboundMessage.claimed_at < now - notify.stuck_after()),
                   and_(OutboundMessage.state.in_(SMS_FAILED_STATES),
                        OutboundMessage.updated_at >= now - timedelta(days=1))))
        .order_by(OutboundMessage.updated_at.desc()).limit(limit)))


