"""Staff records: accounts, phone numbers and licences."""
from __future__ import annotations

from datetime import date

import phonenumbers
from flask_babel import gettext as _
from sqlalchemy import select

from dispatch.clock import now as clock_now
from dispatch.errors import NotFoundError, ValidationError
from dispatch.services import audit
from dispatch.services.unit_of_work import write_transaction
from models import ROLES, Licence, LicenceType, User, Ward


def normalise_phone(raw: str | None, default_region: str = "CN") -> str | None:
    """A valid number in E.164 (+8613800138000), or ValidationError naming the phone field."""
    if raw is None or not raw.strip():
        return None
    try:
        number = phonenumbers.parse(raw.strip(), default_region)
    except phonenumbers.NumberParseException:
        raise ValidationError(_("Not a phone number."), field="phone") from None
    if not phonenumbers.is_valid_number(number):
        raise ValidationError(_("Not a valid phone number."), field="phone")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def create_user(*, username: str, full_name: str, role: str, password: str, ward_id: int | None = None,
                phone: str | None = None, locale: str | None = None, actor_id: int | None = None) -> User:
    """A new account; `actor_id` is who made it (None: the command line or the demo seed), for the audit trail."""
    if role not in ROLES:
        raise ValidationError(_("Unknown role."), field="role")
    username = (username or "").strip()
    if not username or len(username) > 80:
        raise ValidationError(_("A username of 1 to 80 characters is required."), field="username")
    if len(password or "") < 8:
        raise ValidationError(_("The password needs at least 8 characters."), field="password")
    if role == "nurse" and ward_id is None:
        raise ValidationError(_("A nurse belongs to a ward."), field="ward")
    if role == "technician" and not phone:
        raise ValidationError(_("A technician needs a mobile number for jobs by SMS."), field="phone")
    phone = normalise_phone(phone)
    with write_transaction() as session:
        if session.scalar(select(User).where(User.username == username)):
            raise ValidationError(_("That username is taken."), field="username")
        if ward_id is not None and session.get(Ward, ward_id) is None:
            raise ValidationError(_("No such ward."), field="ward")
        user = User(username=username, full_name=full_name.strip(), role=role, ward_id=ward_id, phone=phone,
                    locale=locale, active=True)
        user.set_password(password)
        session.add(user)
        session.flush()
        audit.add(session, "user_created", actor_id=actor_id, subject_id=user.id, subject=user.username,
                  detail={"role": role})
    return user


def add_licence(technician_id: int, licence_type_id: int, *, number: str, issuer: str, issued_on: date,
                expires_on: date) -> Licence:
    if expires_on < issued_on:
        raise ValidationError(_("A licence cannot expire before it is issued."), field="expires_on")
    with write_transaction() as session:
        technician = session.get(User, technician_id)
        if technician is None or technician.role != "technician":
            raise ValidationError(_("Licences belong to technicians."), field="technician_id")
        if session.get(LicenceType, licence_type_id) is None:
            raise ValidationError(_("Unknown licence type."), field="licence_type_id")
        licence = Licence(technician_id=technician_id, licence_type_id=licence_type_id, number=number.strip(),
                          issuer=issuer.strip(), issued_on=issued_on, expires_on=expires_on)
        session.add(licence)
    return licence


def revoke_licence(technician_id: int, licence_id: int, actor_id: int, reason: str) -> Licence:
    """Withdraw a licence from this moment on (a failed inspection, a disciplinary finding): from now the
    holder may not be given, acknowledge or start jobs it covered; the licence stays on record with who
    withdrew it and why, and open jobs it covered are flagged by the scheduler's next round."""
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError(_("Say why the licence is revoked."), field="reason")
    if len(reason) > 200:
        raise ValidationError(_("Keep the reason under 200 characters."), field="reason")
    with write_transaction() as session:
        licence = session.get(Licence, licence_id)
        if licence is None or licence.technician_id != technician_id:
            raise NotFoundError(_("No such licence."))
        if licence.revoked_at is not None:
            raise ValidationError(_("Licence %(number)s was already revoked.", number=licence.number), field="reason")
        licence.revoked_at, licence.revoked_by_id, licence.revoked_reason = clock_now(), actor_id, reason
    return licence
