"""For the people who run the service: GET /metrics for Prometheus, and the Queues page (the queue in
Redis, failed jobs to requeue or delete, workers, heartbeats, SMS that are stuck or failed)."""
from __future__ import annotations

import re

from flask import Blueprint, Response, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from dispatch.auth import roles_required
from dispatch.clock import now
from dispatch.services import audit, heartbeats, metrics, operations

bp = Blueprint("operations", __name__)

QUEUE_VIEWERS = ("supervisor", "admin")  # supervisors watch the control room's plumbing, read only
QUEUE_EDITORS = ("admin",)
# RQ job ids are uuid4 hex by default; anything else posted is not one of ours.
JOB_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
WORKER_STATE_LABELS = {"busy": _l("busy"), "idle": _l("idle"), "started": _l("starting"),
                       "suspended": _l("suspended"), "suspended_idle": _l("suspended")}


@bp.record_once
def _check_settings(state) -> None:
    """A mistyped METRICS_ALLOW_FROM stops the start, rather than every scrape failing later."""
    try:
        metrics.allowed_networks(state.app.config.get("METRICS_ALLOW_FROM"))
    except ValueError as error:
        raise RuntimeError(f"METRICS_ALLOW_FROM: {error}") from error


@bp.route("/metrics")
def prometheus():
    config = current_app.config
    allowed, status = metrics.may_scrape(
        authorization=request.headers.get("Authorization"), remote_addr=request.remote_addr,
        forwarded="X-Forwarded-For" in request.headers, token=config.get("METRICS_TOKEN"),
        allow_from=config.get("METRICS_ALLOW_FROM"), proxies=int(config.get("PROXY_FIX_X_FOR") or 0))
    if not allowed:
        body = ("metrics: wrong bearer token\n" if status == 401
                else "metrics: this address may not read them; see METRICS_ALLOW_FROM and METRICS_TOKEN\n")
        response = Response(body, status=status, mimetype="text/plain")
        if status == 401:
            response.headers["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return response
    response = Response(metrics.exposition(now()), mimetype=None, content_type=metrics.CONTENT_TYPE)
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.route("/admin/queues")
@roles_required(*QUEUE_VIEWERS)
def queues():
    moment = now()
    redis = operations.redis_figures()
    failed = []
    if redis.up:
        from dispatch.queue import redis_connection

        try:
            with redis_connection() as connection:
                failed = operations.failed_jobs(connection)
        except Exception:  # Redis went away between the two reads: the page still shows the rest
            redis = operations.RedisFigures(up=False, error=_("Redis stopped answering while this page was read."))
    beats = heartbeats.status(moment)
    return render_template(
        "operations/queues.html", redis=redis, failed=failed, beats=beats,
        ages={name: (moment - beat).total_seconds() if beat else None for name, (beat, _silent) in beats.items()},
        limits=heartbeats.SILENCE_LIMITS,
        messages=operations.troubled_messages(moment), may_edit=current_user.role in QUEUE_EDITORS,
        WORKER_STATE_LABELS=WORKER_STATE_LABELS)


def _job_action(action, audit_kind: str, done_message) -> Response:
    queue_name = request.form.get("queue", "")
    job_id = request.form.get("job_id", "")
    if not JOB_ID.match(job_id) or not queue_name:
        abort(400)
    from dispatch.queue import redis_connection

    try:
        with redis_connection() as connection:
            done = action(connection, queue_name, job_id)
    except Exception:
        current_app.logger.warning("queue action on job %s failed", job_id, exc_info=True)
        flash(_("Redis is not answering; nothing was changed."), "error")
    else:
        if done:
            try:
                audit.record(audit_kind, actor_id=current_user.id, subject=done,
                             detail={"queue": queue_name, "job_id": job_id})
            except Exception:  # the database is down: the job was still requeued or deleted; say so in the log
                current_app.logger.warning("%s %s by user %s not written to the audit trail", audit_kind, job_id,
                                           current_user.id, exc_info=True)
            flash(done_message(job_id), "success")
        else:
            flash(_("That job is no longer among the failed jobs (requeued, deleted or expired meanwhile)."), "error")
    return redirect(url_for("operations.queues"))


@bp.route("/admin/queues/failed/requeue", methods=["POST"])
@roles_required(*QUEUE_EDITORS)
def requeue():
    return _job_action(operations.requeue_failed, "job_requeued", lambda job_id: _("Job %(id)s is back on the queue.", id=job_id))


@bp.route("/admin/queues/failed/delete", methods=["POST"])
@roles_required(*QUEUE_EDITORS)
def delete():
    return _job_action(operations.delete_failed, "job_deleted", lambda job_id: _("Job %(id)s deleted.", id=job_id))
