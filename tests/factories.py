"""Building blocks for tests: a small hospital with wards, trades, staff and licences."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from dispatch.seed import seed_reference_data
from models import Building, Licence, LicenceType, Location, Site, Trade, User, Ward, db
from tests.conftest import PASSWORD


@dataclass
class Hospital:
    icu: Ward
    ward3: Ward
    trades: dict[str, Trade]
    users: dict[str, User]

    def user(self, username: str) -> User:
        return db.session.get(User, self.users[username].id)


def make_user(username: str, role: str, **fields) -> User:
    user = User(username=username, full_name=fields.pop("full_name", username.replace(".", " ").title()), role=role,
                active=True, **fields)
    user.set_password(PASSWORD)
    db.session.add(user)
    return user


def give_licence(tech: User, licence_code: str, issued: date, expires: date) -> Licence:
    licence_type = db.session.query(LicenceType).filter_by(code=licence_code).one()
    licence = Licence(technician=tech, licence_type=licence_type, number=f"L-{tech.username}-{licence_code}",
                      issuer="Test bureau", issued_on=issued, expires_on=expires)
    db.session.add(licence)
    return licence


def build_hospital() -> Hospital:
    """ICU (critical) and Ward 3 (general); electricians with valid, expiring-today and expired
    licences; a plumber; one nurse per ward; the control room, a manager and an admin."""
    trades = seed_reference_data()
    site = Site(name="Test campus")
    building = Building(site=site, name="Block A")
    icu = Ward(building=building, name="ICU", criticality="icu")
    ward3 = Ward(building=building, name="Ward 3", criticality="general")
    db.session.add_all([site, building, icu, ward3, Location(ward=icu, name="Bed 1"), Location(ward=ward3, name="Bay 2")])
    db.session.flush()
    # The frozen clock starts 2026-03-10 (hospital time).
    today = date(2026, 3, 10)
    users = {
        "nurse.icu": make_user("nurse.icu", "nurse", ward=icu),
        "nurse.ward3": make_user("nurse.ward3", "nurse", ward=ward3),
        "dispatcher": make_user("dispatcher", "dispatcher"),
        "dispatcher2": make_user("dispatcher2", "dispatcher"),
        "supervisor": make_user("supervisor", "supervisor"),
        "manager": make_user("manager", "manager"),
        "admin": make_user("admin", "admin"),
        "sparky": make_user("sparky", "technician", full_name="Wang Sparky", phone="+8613900000001"),
        "volt": make_user("volt", "technician", full_name="Li Volt", phone="+8613900000002"),
        "lapsed": make_user("lapsed", "technician", full_name="Zhao Lapsed", phone="+8613900000003"),
        "plumb": make_user("plumb", "technician", full_name="Liu Plumb", phone="+8613900000004"),
    }
    give_licence(users["sparky"], "lv-electrician", today - timedelta(days=400), today + timedelta(days=300))
    give_licence(users["volt"], "lv-electrician", today - timedelta(days=400), today)  # last valid day is today
    give_licence(users["lapsed"], "lv-electrician", today - timedelta(days=800), today - timedelta(days=1))
    give_licence(users["plumb"], "plumbing", today - timedelta(days=100), today + timedelta(days=600))
    db.session.commit()
    return Hospital(icu=icu, ward3=ward3, trades=trades, users=users)
