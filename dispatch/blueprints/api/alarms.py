"""Alarm intake: building-management and medical-gas panels report faults with an integration token."""
from __future__ import annotations

from flask import current_app, g
from flask.views import MethodView

from dispatch.blueprints.api.schemas import AlarmResultSchema, AlarmSchema
from dispatch.blueprints.api.views import blp, errors
from dispatch.extensions import limiter
from dispatch.services.alarms import receive_alarm


def _alarm_limit() -> str:
    return current_app.config["ALARM_RATE_LIMIT"]


@blp.route("/alarms")
class Alarms(MethodView):
    decorators = [limiter.limit(_alarm_limit)]

    @blp.arguments(AlarmSchema)
    @blp.response(200, AlarmResultSchema, description="A repeat or a clear, recorded on the point's open ticket")
    @blp.alt_response(201, schema=AlarmResultSchema, description="A new alarm: a ticket was opened", success=True)
    @errors(400, 401, 403, 422, 429)
    def post(self, data):
        """Report an alarm (integration accounts). Active: opens a ticket, or counts a repeat on the point's
        open ticket. Cleared: recorded on that ticket, which stays open until a technician resolves it.
        An unmapped point answers 422 naming it, and is recorded for the administrator to map."""
        result = receive_alarm(g.api_user, source=data["source"], point_id=data["point_id"], asset_id=data["asset_id"],
                               condition=data["condition"], severity=data["severity"], state=data["state"],
                               occurred_at=data["time"])
        body = {"outcome": result.outcome, "alarm_id": result.alarm_id, "occurrences": result.occurrences,
                "ticket": result.ticket}
        return body, 201 if result.outcome == "opened" else 200
