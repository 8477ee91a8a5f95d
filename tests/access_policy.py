"""Who may open or send what: one line per endpoint of the app, the product's access rules written out in full.

The access matrix (tests/test_access_matrix.py) checks every line against every role and nobody, and fails when
an endpoint of `app.url_map` has no line here or a line names an endpoint that is gone; the CSRF tests
(tests/test_csrf.py) take an allowed person for each form from it. The role sets are spelled out here rather
than read from dispatch.services.access, so a change there shows up as a failure to look at, not as a new truth.
"""
from __future__ import annotations

from dataclasses import dataclass, field

# One person per role, in the hospital of tests/factories.py (furnish_hospital adds the alarm panel "bms").
PEOPLE = {
    "nurse": "nurse.icu",
    "dispatcher": "dispatcher",
    "supervisor": "supervisor",
    "technician": "sparky",
    "manager": "manager",
    "admin": "admin",
    "integration": "bms",
}
WEB_ROLES = ("nurse", "dispatcher", "supervisor", "technician", "manager", "admin")  # the alarm panel has no pages
API_ROLES = WEB_ROLES + ("integration",)


def roles(*names: str) -> frozenset[str]:
    unknown = set(names) - set(API_ROLES)
    assert not unknown, f"not a role: {unknown}"
    return frozenset(names)


EVERYONE = roles(*WEB_ROLES)
EVERY_TOKEN = roles(*API_ROLES)
CONTROL_ROOM = roles("dispatcher", "supervisor", "admin")
REPORTERS = roles("nurse", "dispatcher", "supervisor", "admin")
REVIEWERS = roles("manager", "admin")
SEES_ALL = roles("dispatcher", "supervisor", "manager", "admin")
ONCALL = roles("dispatcher", "technician", "supervisor", "manager", "admin")
ROTA_KEEPERS = roles("supervisor", "manager", "admin")
PLANNERS = ROTA_KEEPERS
READ_PLANS = ONCALL
COMPLIANCE_READERS = roles("supervisor", "manager", "admin")
COMPLIANCE_EDITORS = REVIEWERS
STOCK_READERS = roles("dispatcher", "supervisor", "manager", "admin")
STOREKEEPERS = roles("supervisor", "admin")
# Who works a job: its technician, or the control room recording it for them (a phone call).
WORKS = roles("technician", "dispatcher", "supervisor", "admin")
# Who confirms or reopens: the reporting ward, or the control room on the ward's word.
CONFIRMS = roles("nurse", "dispatcher", "supervisor", "admin")

# What nobody logged in gets.
LOGIN = "sent to the login page"
BEARER = "401 JSON asking for a bearer token"
SIGNED = "403 without Twilio's signature"
PUBLIC = "open to anyone: 200"
NOT_SET_UP = "404 to anyone: a feature this hospital has not set up (sign-in with OpenID Connect)"


@dataclass(frozen=True)
class Access:
    """One endpoint. `get`: who gets the page (`ok`); `post`: who may send it (not sent by the matrix: it would
    change things; everyone else is sent it and refused). `scope="ticket"`: the URL names a ticket, and who
    may not see that ticket gets 404, as for a missing one; `acts` then narrows who may act on a ticket they
    see (403 for the rest; a mapping gives it per `action`). `scope="swap"`: a swap request, 404 to anyone
    but the two technicians in it."""

    get: frozenset[str] | None = None
    post: frozenset[str] | None = None
    anonymous: str = LOGIN
    ok: int = 200
    scope: str | None = None
    acts: frozenset[str] | dict[str, frozenset[str]] | None = None
    api: bool = False
    json: dict = field(default_factory=dict)  # the body an API POST sends (valid, so only the role decides)


def page(who, ok=200, **kw) -> Access:
    return Access(get=who, ok=ok, **kw)


def form(who, post=None, **kw) -> Access:
    """A page with its own form: GET and POST on one URL."""
    return Access(get=who, post=who if post is None else post, **kw)


def action(who, **kw) -> Access:
    return Access(post=who, **kw)


WORK_ACTIONS = ("acknowledge", "refuse", "attend", "hold", "resume", "make_safe", "resolve")
ACTS_BY_ACTION = {**{name: WORKS for name in WORK_ACTIONS}, "confirm": CONFIRMS, "reopen": CONFIRMS,
                  # A nurse may withdraw only a ticket nobody has yet; the matrix's ICU job has a technician on site.
                  "cancel": CONTROL_ROOM}
API_ACTS_BY_ACTION = {name.replace("_", "-"): who for name, who in ACTS_BY_ACTION.items()}

POLICY: dict[str, Access] = {
    # --- logging in, the language, the start page ---------------------------------------------------
    "auth.login": Access(get=EVERYONE, post=EVERYONE, ok=302, anonymous=PUBLIC),  # logged in: off to the start page
    "auth.language": action(EVERYONE, anonymous=PUBLIC),
    "auth.logout": action(EVERYONE),
    "auth.home": page(EVERYONE, ok=302),
    # The read-only hospital has no OpenID provider: tests/test_directory_oidc.py sign in through one.
    "auth.oidc_start": page(EVERYONE, ok=404, anonymous=NOT_SET_UP),
    "auth.oidc_callback": page(EVERYONE, ok=404, anonymous=NOT_SET_UP),
    "static": page(EVERYONE, anonymous=PUBLIC),
    # Prometheus: by address or its own token, not by login (tests/test_operations.py); the test client is local.
    "operations.prometheus": page(EVERYONE, anonymous=PUBLIC),
    # --- the ward ------------------------------------------------------------------------------------
    "report.new": form(REPORTERS),
    "report.asset_label": page(REPORTERS, ok=302),  # the QR label: on to the report form, filled in
    "report.asset_label_image": page(CONTROL_ROOM),
    "report.tickets": page(REPORTERS),
    "incidents.ongoing": page(REPORTERS),
    "incidents.comment": action(REPORTERS),
    # --- a ticket ------------------------------------------------------------------------------------
    "tickets.detail": page(EVERYONE, scope="ticket"),
    "tickets.act": action(EVERYONE, scope="ticket", acts=ACTS_BY_ACTION),
    "tickets.comment": action(EVERYONE, scope="ticket"),
    "tickets.add_parts": action(EVERYONE, scope="ticket", acts=WORKS),
    "tickets.return_part": action(EVERYONE, scope="ticket", acts=WORKS | STOREKEEPERS),
    "plans.ticket_plan": page(EVERYONE, scope="ticket"),
    "plans.tick": action(EVERYONE, scope="ticket", acts=WORKS),
    "plans.attach": action(CONTROL_ROOM, scope="ticket"),
    "planned.checklist": action(EVERYONE, scope="ticket", acts=WORKS),
    # Photos: added by anyone who sees the ticket (before/after: its technician, checked by the service);
    # each image by its random id, to those who see its ticket (the matrix's photo is on the ICU job).
    "photos.add": action(EVERYONE, scope="ticket"),
    "photos.ticket_photos": page(EVERYONE, scope="ticket"),
    "photos.image": page(EVERYONE),
    "photos.thumbnail": page(EVERYONE),
    # QR labels: the report form and a filer's follow link need no login; printing and withdrawing do.
    "qr.report": Access(get=EVERYONE, post=EVERYONE, anonymous=PUBLIC),
    "qr.follow": page(EVERYONE, anonymous=PUBLIC),
    "qr.kiosk": page(roles("nurse"), ok=302),  # a ward PC: on to its ward's short form
    "qr.wards": page(CONTROL_ROOM),
    "qr.ward_labels": page(CONTROL_ROOM),
    "qr.ward_pdf": page(CONTROL_ROOM),
    "qr.revoke": action(roles("supervisor", "admin")),
    "qr.false_report": action(CONTROL_ROOM, scope="ticket"),
    # --- the control room ----------------------------------------------------------------------------
    "board.index": page(CONTROL_ROOM),
    "board.rows": page(CONTROL_ROOM),
    "board.assign": action(CONTROL_ROOM, scope="ticket"),
    "board.priority": action(CONTROL_ROOM, scope="ticket"),
    "incidents.group": action(CONTROL_ROOM),
    "incidents.ungroup": action(CONTROL_ROOM, scope="ticket"),
    "incidents.resolve": action(CONTROL_ROOM),
    # --- technicians ---------------------------------------------------------------------------------
    "technician.jobs": page(roles("technician")),
    # --- on call -------------------------------------------------------------------------------------
    "oncall.index": page(ONCALL),
    "oncall.mine": page(ONCALL),
    "oncall.subscribe": action(ONCALL),
    "oncall.ask_swap": action(roles("technician")),
    "oncall.answer_swap": action(roles("technician"), scope="swap"),
    # Calendar apps cannot log in: the unguessable link is the key (a wrong one is 404, below).
    "oncall.calendar": page(EVERYONE, anonymous=PUBLIC),
    "oncall.rota_page": page(ONCALL),
    "oncall.export_rota": page(ROTA_KEEPERS),
    "oncall.add_shift": action(ROTA_KEEPERS),
    "oncall.remove_shift": action(ROTA_KEEPERS),
    "oncall.import_rota": action(ROTA_KEEPERS),
    "oncall.overrides": form(ROTA_KEEPERS),
    "oncall.remove_override": action(ROTA_KEEPERS),
    "oncall.gaps": page(roles("dispatcher", "supervisor", "manager", "admin")),
    "oncall.escalation": page(roles("supervisor", "manager", "admin")),
    "oncall.new_policy": form(REVIEWERS),
    "oncall.edit_policy": form(REVIEWERS),
    "oncall.delete_policy": action(REVIEWERS),
    # --- planned maintenance and emergency plans -------------------------------------------------------
    "planned.schedules": page(READ_PLANS),
    "planned.schedule": page(READ_PLANS),
    "planned.calendar": page(READ_PLANS),
    "planned.edit": form(PLANNERS),
    "planned.skip": action(PLANNERS),
    "planned.set_active": action(PLANNERS),
    "plans.index": page(READ_PLANS),
    # Inspection rounds and test records: read by all but nurses, filled in by those who work jobs, defined
    # by managers and admins.
    "checks.index": page(READ_PLANS),
    "checks.compliance": page(READ_PLANS),
    "checks.detail": page(READ_PLANS),
    "checks.record": page(READ_PLANS),
    "checks.fill": form(WORKS),
    "checks.edit": form(REVIEWERS),
    "plans.show": page(READ_PLANS),
    "plans.new": form(PLANNERS),
    "plans.edit": form(PLANNERS),
    # --- statutory equipment, required activities and the inspector's binder ---------------------------
    "compliance.index": page(COMPLIANCE_READERS),
    "compliance.asset": form(COMPLIANCE_READERS, post=COMPLIANCE_EDITORS),
    "compliance.add_certificate": action(COMPLIANCE_EDITORS),
    "compliance.report": page(COMPLIANCE_READERS),
    "compliance.task_done": action(COMPLIANCE_EDITORS),
    "compliance.required": form(COMPLIANCE_READERS, post=COMPLIANCE_EDITORS),
    "compliance.not_required": action(COMPLIANCE_EDITORS),
    "compliance.cause": action(COMPLIANCE_EDITORS),
    "compliance.binder_page": page(REVIEWERS),
    # The binder with no period asked for: the form again, saying what is missing.
    "compliance.binder_pdf_file": page(REVIEWERS, ok=302),
    "compliance.binder_xlsx_file": page(REVIEWERS, ok=302),
    "api.Certificates": page(COMPLIANCE_READERS, anonymous=BEARER, api=True),
    "api.RequiredCompliance": page(COMPLIANCE_READERS, anonymous=BEARER, api=True),
    "api.RequiredOccurrences": page(COMPLIANCE_READERS, anonymous=BEARER, api=True),
    # --- permits to work and utility interruptions (the service checks the AP / CP licence at each action) ------
    "permits.index": page(ONCALL),
    "permits.show": page(ONCALL),
    "permits.printout": page(ONCALL),
    "permits.new": form(SEES_ALL, scope="ticket"),
    **{f"permits.{name}": action(ONCALL) for name in ("issue", "accept", "cancel", "withdraw")},
    "interruptions.index": page(ONCALL),
    "interruptions.new": form(SEES_ALL),
    "interruptions.edit": form(SEES_ALL),
    # --- stock ---------------------------------------------------------------------------------------
    "stock.index": page(STOCK_READERS),
    "stock.part": page(STOCK_READERS),
    "stock.reorder": page(STOCK_READERS),
    "stock.reorder_export": page(STOCK_READERS),
    "stock.new_part": form(STOREKEEPERS),
    "stock.edit_part": form(STOREKEEPERS),
    "stock.receive": action(STOREKEEPERS),
    "stock.adjust": action(STOREKEEPERS),
    "stock.stores": form(STOREKEEPERS),
    # --- reports -------------------------------------------------------------------------------------
    "reports.index": page(REVIEWERS, ok=302),
    **{f"reports.{name}": page(REVIEWERS) for name in (
        "compliance", "compliance_export", "tickets", "tickets_export", "breaches", "breaches_export", "workload",
        "workload_export", "repeats", "repeats_export", "licences", "licences_export", "planned", "planned_export",
        "costs", "costs_export", "budget", "budget_export")},
    "reports.record_cause": action(CONTROL_ROOM | REVIEWERS, scope="ticket"),
    "reports.causes": form(REVIEWERS),
    "reports.change_cause": action(REVIEWERS),
    "reports.budget_edit": form(REVIEWERS),
    # The leadership report: supervisors read it; managers and admins also generate a month again.
    "reports.leadership": Access(get=roles("supervisor", "manager", "admin"), post=REVIEWERS),
    "reports.leadership_report": page(roles("supervisor", "manager", "admin")),
    "reports.leadership_pdf": page(roles("supervisor", "manager", "admin")),
    # --- administration ------------------------------------------------------------------------------
    "admin.staff_list": page(REVIEWERS),
    "admin.new_person": form(REVIEWERS),
    "admin.person": form(REVIEWERS),
    "admin.add_licence": action(REVIEWERS),
    "admin.test_sms": action(REVIEWERS),
    "admin.revoke_licence": action(REVIEWERS),
    "admin.audit_log": page(roles("admin")),
    "admin.directory_groups": form(roles("admin")),
    "admin.remove_directory_group": action(roles("admin")),
    "admin.break_glass": action(roles("admin")),
    "admin.directory_link": action(roles("admin")),
    "operations.queues": page(roles("supervisor", "admin")),
    "operations.requeue": action(roles("admin")),
    "operations.delete": action(roles("admin")),
    "integrations.points": page(roles("admin")),
    "integrations.edit": form(roles("admin")),
    "integrations.delete": action(roles("admin")),
    # --- Twilio's webhooks: the signature is the key, a session cookie is nothing ------------------------
    "sms.inbound": action(frozenset(), anonymous=SIGNED),
    "sms.status_callback": action(frozenset(), anonymous=SIGNED),
    "voice.call_answered": action(frozenset(), anonymous=SIGNED),
    "voice.call_digits": action(frozenset(), anonymous=SIGNED),
    "voice.call_status": action(frozenset(), anonymous=SIGNED),
    # --- the JSON API: bearer tokens only --------------------------------------------------------------
    "api.Tickets": Access(get=EVERY_TOKEN, post=REPORTERS | roles("integration"), anonymous=BEARER, api=True,
                          json={"ward_id": "{icu}", "trade": "power", "description": "No power to bed 2"}),
    "api.TicketResource": page(EVERY_TOKEN, anonymous=BEARER, api=True, scope="ticket"),
    "api.Candidates": page(CONTROL_ROOM, anonymous=BEARER, api=True, scope="ticket"),
    "api.Assign": action(EVERY_TOKEN, anonymous=BEARER, api=True, scope="ticket", acts=CONTROL_ROOM,
                         json={"technician_id": "{person}"}),
    **{f"api.Transition_{name}": action(EVERY_TOKEN, anonymous=BEARER, api=True, scope="ticket", acts=who,
                                         json={"note": "Done", "rating": 5}) for name, who in ACTS_BY_ACTION.items()},
    "api.Permits": page(ONCALL, anonymous=BEARER, api=True),
    "api.PermitResource": page(ONCALL, anonymous=BEARER, api=True),
    "api.TicketPermits": action(EVERY_TOKEN, anonymous=BEARER, api=True, scope="ticket", acts=SEES_ALL, json={
        "work": "Free the car", "isolation_points": ["Motor room isolator"], "precautions": ["Barriers"],
        "ward_ids": [1], "valid_from": "2026-03-10T10:00:00+08:00", "valid_until": "2026-03-10T12:00:00+08:00"}),
    **{f"api.Permit{name}": action(EVERY_TOKEN, anonymous=BEARER, api=True, acts=ONCALL, json=body)
       for name, body in (("Issue", {}), ("Accept", {}), ("Cancel", {"restored": "Lift back in service"}))},
    "api.Interruptions": Access(get=ONCALL, post=SEES_ALL, anonymous=BEARER, api=True, json={
        "utility": "water", "planned": True, "starts_at": "2026-03-12T09:00:00+08:00", "cause": "Valve change",
        "ward_ids": [1]}),  # the shape is checked before the role: any ward id will do
    "api.Alarms": action(roles("integration", "admin"), anonymous=BEARER, api=True, json={
        "source": "BMS", "point_id": "AHU-1/filter", "condition": "Filter blocked", "severity": "major",
        "time": "2026-03-10T09:59:00+08:00", "state": "active"}),
    "api.CheckForms": page(READ_PLANS, anonymous=BEARER, api=True),
    "api.CheckRecords": Access(get=READ_PLANS, post=WORKS, anonymous=BEARER, api=True,
                               json={"answers": [{"reading": 8.5}]}),
    "api.CheckCompliance": page(READ_PLANS, anonymous=BEARER, api=True),
    # The API's document and its browser are public: they describe, they do not answer.
    "api-docs.openapi_json": page(EVERYONE, anonymous=PUBLIC),
    "api-docs.openapi_swagger_ui": page(EVERYONE, anonymous=PUBLIC),
    "api_docs_files.static": page(EVERYONE, anonymous=PUBLIC),
}

# Endpoints whose forms carry no CSRF token, and why: the API takes bearer tokens (no cookie, so no cross-site
# request can carry one); Twilio signs its webhooks.
CSRF_EXEMPT_BLUEPRINTS = {"api": "bearer tokens", "sms": "Twilio's signature", "voice": "Twilio's signature"}

# Where the hospital of tests/factories.py fills in each URL variable (the keys of ReadOnlyHospital.ids).
URL_VALUES = {
    "ticket_id": "icu_ticket", "number": "icu_ticket", "code": "asset_code", "user_id": "person",
    "incident_id": "incident", "point_id": "alarm_point", "policy_id": "policy", "request_id": "own_swap",
    "override_id": "override", "shift_id": "shift", "token": "calendar_token", "plan_id": "plan",
    "schedule_id": "schedule", "cause_id": "cause", "report_id": "leadership_report", "message_id": "message",
    "part_id": "part", "line_id": "part_line", "licence_id": "licence",
    "asset_id": "asset", "report_key": "certificate_report", "notice_id": "notice",
    "occurrence_id": "required_occurrence",
    "permit_id": "permit", "interruption_id": "interruption",
    "public_id": "photo", "label": "qr_label", "follow_token": "qr_follow", "ward_id": "icu", "object_id": "bed",
    "form_id": "check_form", "record_id": "check_record",
}
FIXED_VALUES = {"answer": "withdraw", "step": 1, "fmt": "csv", "kind": "location",
                # no directory group is mapped in the read-only hospital: only the administrator gets past the guard
                "group_id": 987654}
MISSING = 987654  # no such ticket


def url_values(endpoint: str, arguments, ids: dict) -> dict:
    values = {}
    for name in arguments:
        if name == "filename":
            values[name] = "swagger-ui.css" if endpoint == "api_docs_files.static" else "css/app.css"
        elif name == "number" and endpoint == "plans.show":
            values[name] = ids["plan_version"]  # /plans/<id>/v/<number>: a version, not a ticket
        elif name in FIXED_VALUES:
            values[name] = FIXED_VALUES[name]
        elif name != "action":
            values[name] = ids[URL_VALUES[name]]
    return values


def may_see_ticket(role: str, which: str) -> bool:
    """The ICU job is the ICU nurse's ward's and sparky's; the Ward 3 fault is neither's; the alarm panel
    reported none of them. Nobody sees a missing ticket."""
    if which == "missing":
        return False
    return role in SEES_ALL or (which == "icu" and role in ("nurse", "technician"))


def expected(access: Access, method: str, role: str, *, visible: bool = True, action_name: str | None = None):
    """'ok' (GET), 'allowed' (POST: not sent), or the status a refusal must have."""
    who = access.get if method == "GET" else access.post
    if role not in who:
        return 403
    if access.scope and not visible:
        return 404
    acts = access.acts
    if isinstance(acts, dict):
        acts = acts[action_name]
    if acts is not None and role not in acts:
        return 403
    return "ok" if method == "GET" else "allowed"


def build_path(rule, values: dict) -> str:
    return rule.build(values, append_unknown=False)[1]


def pages_for(app, role: str, ids: dict) -> list[str]:
    """Every page the policy opens to this role, with the hospital's ids filled in: where a crawl starts."""
    urls = []
    for rule in app.url_map.iter_rules():
        access = POLICY.get(rule.endpoint)
        if access is None or access.api or "GET" not in rule.methods or access.get is None or role not in access.get:
            continue
        urls.append(build_path(rule, url_values(rule.endpoint, rule.arguments, ids)))
    return sorted(urls)
