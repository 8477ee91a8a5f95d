"""Keeping the staff list: editing people, who may grant which role, and the test SMS that proves a
mobile number works before the night it is needed."""
from __future__ import annotations

from flask_babel import gettext as _
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from dispatch.errors import NotFoundError, PermissionDeniedError, ValidationError
from dispatch.services import audit, notify, staff
from dispatch.services.unit_of_work import write_transaction
from dispatch.sms import text as sms_text
from models import ROLES, Licence, OutboundMessage, User, Ward, db

ROLE_ORDER = {role: i for i, role in enumerate(("technician", "supervisor", "dispatcher", "manager", "admin", "nurse"))}


def staff_list() -> list[User]:
    """Technicians first (they carry licences and phones), then everyone else, by name."""
    people = db.session.scalars(select(User).options(
        selectinload(User.licences).selectinload(Licence.licence_type), selectinload(User.ward))).all()
    return sorted(people, key=lambda u: (not u.active, ROLE_ORDER.get(u.role, 9), u.full_name.lower()))


def _may_touch_admin(actor: User, *roles: str) -> None:
    # A manager keeps the staff list but cannot make anyone (themselves included) an administrator.
    if "admin" in roles and actor.role != "admin":
        raise PermissionDeniedError(_("Only an administrator can give, change or remove the administrator role."))


def create_staff(actor: User, **fields) -> User:
    """staff.create_user, after checking the actor may give that role."""
    _may_touch_admin(actor, fields.get("role", ""))
    return staff.create_user(**fields, actor_id=actor.id)


def update_user(actor: User, user_id: int, *, full_name: str, role: str, phone: str | None, ward_id: int | None,
                active: bool) -> User:
    """Change a person's name, role, mobile (normalised to E.164), ward and whether they may log in."""
    full_name = (full_name or "").strip()
    if not full_name or len(full_name) > 120:
        raise ValidationError(_("A name of 1 to 120 characters is required."), field="full_name")
    if role not in ROLES:
        raise ValidationError(_("Unknown role."), field="role")
    phone = staff.normalise_phone(phone)
    with write_transaction() as session:
        user = session.get(User, user_id)
        if user is None:
            raise NotFoundError(_("No such person."))
        _may_touch_admin(actor, user.role, role)
        if user.id == actor.id and (role != user.role or not active):
            raise ValidationError(_("You cannot change your own role or switch off your own account."), field="role")
        if role == "nurse" and ward_id is None:
            raise ValidationError(_("A nurse belongs to a ward."), field="ward_id")
        if ward_id is not None and session.get(Ward, ward_id) is None:
            raise ValidationError(_("No such ward."), field="ward_id")
        if role == "technician" and not phone:
            raise ValidationError(_("A technician needs a mobile number for jobs by SMS."), field="phone")
        if role != user.role:
            audit.add(session, "role_changed", actor_id=actor.id, subject_id=user.id, subject=user.username,
                      detail={"from": user.role, "to": role})
        if bool(active) != user.active:
            audit.add(session, "user_reactivated" if active else "user_deactivated", actor_id=actor.id,
                      subject_id=user.id, subject=user.username)
        user.full_name, user.role, user.active = full_name, role, bool(active)
        user.ward_id = ward_id if role == "nurse" else None
        if phone != user.phone:
            # A new number has not said STOP; Twilio tells us again if it does.
            user.phone, user.sms_opted_out = phone, False
    return user


def send_test_sms(user_id: int) -> OutboundMessage:
    """Owe one test SMS to this person; the worker sends it and its delivery state comes back."""
    with write_transaction() as session:
        user = session.get(User, user_id)
        if user is None:
            raise NotFoundError(_("No such person."))
        if not user.phone:
            raise ValidationError(_("%(name)s has no mobile number.", name=user.full_name), field="phone")
        message = notify.owe_sms(session, recipient=user, body=sms_text.for_user(user, sms_text.test_message, user.full_name), kind="test")
    return message


def latest_test_messages(user_ids: list[int]) -> dict[int, OutboundMessage]:
    """Each person's most recent test SMS, for its delivery state."""
    if not user_ids:
        return {}
    latest = (select(func.max(OutboundMessage.id)).where(OutboundMessage.kind == "test",
                                                         OutboundMessage.recipient_id.in_(user_ids))
              .group_by(OutboundMessage.recipient_id))
    messages = db.session.scalars(select(OutboundMessage).where(OutboundMessage.id.in_(latest)))
    return {m.recipient_id: m for m in messages}
