"""What the phone shows. Everything a technician needs, the reply codes, and no more than two segments.

Message text only formats what it is given: it never calls a service or queries. The services work out
the values (the plan's link, the coverage gaps in hospital time) and pass them in.
"""
from __future__ import annotations

from datetime import datetime

from flask import current_app
from flask_babel import gettext as _

from dispatch.i18n import in_language_of, short_datetime
from dispatch.sms import segments

MAX_SEGMENTS = 2


def for_user(user, make, *args, **kwargs) -> str:
    """`make(*args)` in the recipient's language: every SMS body is built through this."""
    with in_language_of(user):
        return str(make(*args, **kwargs))


def _short_place(ticket) -> str:
    parts = [ticket.ward.display_name]
    if ticket.location:
        parts.append(ticket.location.display_name)
    if ticket.place_detail:
        parts.append(ticket.place_detail)
    return ", ".join(parts)


def fit_description(head: str, description: str, tail: str) -> str:
    """Keep the head and the reply codes whole; shorten the description to what fits."""
    whole = f"{head} {description} {tail}"
    if segments.count(whole) <= MAX_SEGMENTS:
        return whole
    mark = segments.ellipsis(whole)
    if segments.count(f"{head}{mark} {tail}") > MAX_SEGMENTS:
        # Even with no description the head is too long (a long place name turning the text to UCS-2):
        # shorten the head instead, so the reply codes and the plan's link still arrive whole.
        keep = segments.longest(
            len(head), lambda n: segments.count(f"{head[:n].rstrip()}{mark} {tail}") <= MAX_SEGMENTS)
        return f"{head[:keep].rstrip()}{mark} {tail}"
    keep = segments.longest(
        len(description), lambda n: segments.count(f"{head} {description[:n].rstrip()}{mark} {tail}") <= MAX_SEGMENTS)
    return f"{head} {description[:keep].rstrip()}{mark} {tail}"


def assignment(ticket, plan_link: str | None = None) -> str:
    """The job, for the technician given it; `plan_link` is the emergency plan's address when it has one."""
    head = _("P%(p)d #%(n)d %(trade)s, %(place)s:", p=ticket.priority, n=ticket.number, trade=ticket.trade.display_name,
             place=_short_place(ticket))
    if ticket.patient_at_risk:
        head = _("PATIENT AT RISK") + " " + head
    return fit_description(head, ticket.description, reply_tail(ticket, plan_link))


def reply_tail(ticket, plan_link: str | None = None) -> str:
    """The reply codes, and before them the emergency plan's link when the ticket has a plan: both are
    kept whole, the description gives way to them."""
    tail = _("Reply A %(n)d accept, R %(n)d reason refuse, S %(n)d on site, D %(n)d note done.", n=ticket.number)
    if ticket.photos:
        tail = _("Photos: %(link)s", link=photos_link(ticket)) + " " + tail
    if plan_link:
        tail = _("Plan: %(link)s", link=plan_link) + " " + tail
    return tail


def photos_link(ticket) -> str:
    """The ticket's photos, in an SMS. Like the plan's link it needs a login: the link alone shows nothing."""
    return f"{current_app.config['PUBLIC_URL'].rstrip('/')}/f/{ticket.id}"


def plan_attached(ticket, link: str) -> str:
    """For the technician who already has the job when it gets its emergency plan."""
    version = ticket.plan_version
    return segments.fit(_("P%(p)d #%(n)d emergency plan v%(v)d: %(link)s %(title)s", p=ticket.priority,
                          n=ticket.number, v=version.number, link=link, title=version.display_name), MAX_SEGMENTS)


def reassigned_away(ticket) -> str:
    return segments.fit(_("#%(n)d has been reassigned. No action needed from you.", n=ticket.number), MAX_SEGMENTS)


def cancelled(ticket, reason: str | None) -> str:
    return segments.fit(_("#%(n)d cancelled: %(reason)s. Do not attend.", n=ticket.number, reason=reason or "-"), MAX_SEGMENTS)


def refused(ticket, technician_name: str, reason: str | None) -> str:
    return segments.fit(
        _("#%(n)d P%(p)d %(trade)s, %(place)s refused by %(name)s: %(reason)s. Needs another technician.",
          n=ticket.number, p=ticket.priority, trade=ticket.trade.display_name, place=_short_place(ticket),
          name=technician_name, reason=reason or "-"), MAX_SEGMENTS)


def licence_lapsed(name: str, number: str, how: str, day, job_numbers: list[int]) -> str:
    """To the supervisors, once per licence that lapsed while its holder had open jobs it covered."""
    jobs = ", ".join(f"#{n}" for n in job_numbers[:8]) + ("…" if len(job_numbers) > 8 else "")
    if how == "revoked":
        text = _("LICENCE LAPSED: %(name)s's licence %(number)s was revoked on %(date)s. Open jobs they may no longer "
                 "work: %(jobs)s. Reassign them.", name=name, number=number, date=day.isoformat(), jobs=jobs)
    else:
        text = _("LICENCE LAPSED: %(name)s's licence %(number)s expired on %(date)s. Open jobs they may no longer "
                 "work: %(jobs)s. Reassign them.", name=name, number=number, date=day.isoformat(), jobs=jobs)
    return segments.fit(text, MAX_SEGMENTS)


def test_message(name: str) -> str:
    return _("Dispatch test message for %(name)s. No reply needed.", name=name)


def escalation(ticket, waiting_for: str) -> str:
    who = ticket.assignee.full_name if ticket.assignee else _("nobody")
    if waiting_for == "attend":
        what = _("acknowledged by %(who)s but nobody on site yet", who=who)
    else:
        what = _("not acknowledged (assigned: %(who)s)", who=who)
    return segments.fit(_("ESCALATION P%(p)d #%(n)d %(trade)s, %(place)s: %(what)s. %(desc)s",
                          p=ticket.priority, n=ticket.number, trade=ticket.trade.display_name, place=_short_place(ticket),
                          what=what, desc=ticket.description), MAX_SEGMENTS)


def page(ticket, holder_name: str) -> str:
    """An escalation step paging one more technician for a job someone else holds but has not accepted."""
    head = _("P%(p)d #%(n)d %(trade)s, %(place)s, not yet accepted by %(name)s:", p=ticket.priority, n=ticket.number,
             trade=ticket.trade.display_name, place=_short_place(ticket), name=holder_name)
    if ticket.patient_at_risk:
        head = _("PATIENT AT RISK") + " " + head
    return fit_description(head, ticket.description,
                            _("Reply A %(n)d to take it; the first to accept has the job.", n=ticket.number))


def page_taken(ticket, name: str) -> str:
    """To everyone else paged, once someone accepted."""
    return segments.fit(_("#%(n)d accepted by %(name)s. No action needed from you.", n=ticket.number, name=name),
                        MAX_SEGMENTS)


def nobody_on_call(ticket) -> str:
    """For the supervisor, once per burst: reports of a trade nobody licensed is on call for."""
    return segments.fit(_("NOBODY ON CALL for %(trade)s: P%(p)d #%(n)d %(place)s waits for the dispatcher, as will "
                          "further %(trade)s reports (no more SMS for this burst). %(desc)s", trade=ticket.trade.display_name,
                          p=ticket.priority, n=ticket.number, place=_short_place(ticket), desc=ticket.description),
                        MAX_SEGMENTS)


def voice_job(ticket) -> str:
    return _("Dispatch emergency job %(n)s. %(trade)s at %(place)s. %(desc)s.",
             n=" ".join(str(ticket.number)), trade=ticket.trade.display_name, place=_short_place(ticket), desc=ticket.description[:200])


def voice_escalation(ticket, waiting_for: str) -> str:
    return _("Dispatch escalation for job %(n)s, priority %(p)d. %(text)s",
             n=" ".join(str(ticket.number)), p=ticket.priority, text=escalation(ticket, waiting_for))


def coverage_gaps(gaps: list[tuple[str, datetime, datetime]]) -> str:
    """(trade name, start, end) per gap, the times already in hospital time."""
    lines = [f"{trade} {short_datetime(starts)}-{short_datetime(ends)}" for trade, starts, ends in gaps]
    if not lines:
        return _("Dispatch on-call cover: no gaps in the next 14 days.")
    return segments.fit(_("Dispatch on-call gaps (next 14 days): %(gaps)s", gaps="; ".join(lines)), 3)
