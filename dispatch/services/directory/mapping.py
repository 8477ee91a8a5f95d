"""The administrator's mapping of directory groups to Dispatch roles (and, for nurses, wards)."""
from __future__ import annotations

from flask_babel import gettext as _
from sqlalchemy import select

from dispatch.errors import NotFoundError, ValidationError
from dispatch.services.unit_of_work import write_transaction
from models import DirectoryGroup, Ward, db

# Roles a directory group may give (an alarm panel's integration account is never a person in the directory).
MAPPABLE_ROLES = ("nurse", "dispatcher", "technician", "supervisor", "manager", "admin")
# Someone in several mapped groups gets the one highest here (a charge nurse who also sits in the control room
# is a dispatcher); among nurses' groups the ward of the first one mapped wins.
PRECEDENCE = ("admin", "manager", "supervisor", "dispatcher", "technician", "nurse")


def all_groups() -> list[DirectoryGroup]:
    return list(db.session.scalars(select(DirectoryGroup).order_by(DirectoryGroup.role, DirectoryGroup.name_key)))


def add_group(*, name: str, role: str, ward_id: int | None) -> DirectoryGroup:
    name = (name or "").strip()
    if not name or len(name) > 255:
        raise ValidationError(_("A group name of 1 to 255 characters is required."), field="name")
    if role not in MAPPABLE_ROLES:
        raise ValidationError(_("Unknown role."), field="role")
    if role == "nurse" and ward_id is None:
        raise ValidationError(_("A nurses' group gives a ward: choose it."), field="ward_id")
    if role != "nurse":
        ward_id = None
    with write_transaction() as session:
        if ward_id is not None and session.get(Ward, ward_id) is None:
            raise ValidationError(_("No such ward."), field="ward_id")
        if session.scalar(select(DirectoryGroup).where(DirectoryGroup.name_key == name.lower())):
            raise ValidationError(_("That group is mapped already."), field="name")
        group = DirectoryGroup(name=name, name_key=name.lower(), role=role, ward_id=ward_id)
        session.add(group)
    return group


def remove_group(group_id: int) -> None:
    with write_transaction() as session:
        group = session.get(DirectoryGroup, group_id)
        if group is None:
            raise NotFoundError(_("No such group mapping."))
        session.delete(group)


def group_keys(groups) -> set[str]:
    """What a person's groups are matched on: each as given, and for a DN (cn=Ward 3A Nurses,ou=groups,...)
    its first value too, so the administrator may type either; ignoring case, as directories do."""
    keys = set()
    for group in groups:
        text = str(group).strip()
        if not text:
            continue
        keys.add(text.lower())
        first = text.split(",", 1)[0]
        if "=" in first and "," in text:
            keys.add(first.split("=", 1)[1].strip().lower())
    return keys


def role_for(session, groups) -> tuple[str, int | None] | None:
    """(role, ward id) that these groups give, or None when no mapped group is among them."""
    keys = group_keys(groups)
    if not keys:
        return None
    matched = session.scalars(select(DirectoryGroup).where(DirectoryGroup.name_key.in_(keys))
                              .order_by(DirectoryGroup.id)).all()
    if not matched:
        return None
    best = min(matched, key=lambda g: PRECEDENCE.index(g.role))
    return best.role, best.ward_id if best.role == "nurse" else None
