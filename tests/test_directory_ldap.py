"""Signing in with LDAP / Active Directory, against a real OpenLDAP (tests/directory_servers.py): search as the
service account then bind as the person, over StartTLS or LDAPS with the certificate checked; groups mapped to
roles and wards; accounts created, kept in step and switched off at sign-in and by the nightly sync; local
passwords only for local and break-glass accounts; every change in the audit trail."""
from __future__ import annotations

import uuid
from datetime import datetime, timezone

import pytest
from sqlalchemy import select

from dispatch import create_app
from dispatch.errors import DirectorySignInRefused, DirectoryUnavailableError
from dispatch.services.directory import accounts, ldap, mapping, nightly
from dispatch.services.scheduler import Rounds
from models import AuditEvent, Licence, LicenceType, User, db
from tests.conftest import csrf_token, text_of
from tests.directory_servers import free_port
from tests.factories import make_user
from tests.test_security_config import production

NURSES, CONTROL_ROOM = "Dispatch-Nurses-Ward-3A", "Dispatch-Control-Room"


def _address() -> str:
    # An address of the test's own: the login limiter counts per address in the shared Redis.
    n = uuid.uuid4().int
    return f"10.{n % 250}.{(n >> 8) % 250}.{(n >> 16) % 250 + 1}"


def sign_in(client, username: str, password: str, **query):
    environ = {"REMOTE_ADDR": _address()}
    page = client.get("/login", query_string=query, environ_overrides=environ).get_data(as_text=True)
    return client.post("/login", query_string=query, environ_overrides=environ,
                       data={"username": username, "password": password, "csrf_token": csrf_token(page)})


@pytest.fixture
def ldap_app(app, hospital, directory, redis_conn):
    app.config.update(directory.settings())
    mapping.add_group(name=NURSES, role="nurse", ward_id=hospital.ward3.id)
    # The administrator may type a group's whole DN, in any case, as well as its name.
    mapping.add_group(name=f"CN={CONTROL_ROOM},OU=groups,DC=hospital,DC=test", role="dispatcher", ward_id=None)
    return app


def account(username: str) -> User | None:
    db.session.expire_all()
    return db.session.scalar(select(User).where(User.username == username))


def events(kind: str, username: str) -> list[AuditEvent]:
    return db.session.scalars(select(AuditEvent).where(AuditEvent.kind == kind, AuditEvent.subject == username)
                              .order_by(AuditEvent.id)).all()


def test_first_sign_in_over_starttls_creates_the_account_with_the_groups_role_and_ward(ldap_app, hospital):
    client = ldap_app.test_client()
    response = sign_in(client, "lzhang", "ldap-pass-1")
    assert (response.status_code, response.headers["Location"]) == (302, "/")  # her start page, as for a password
    user = account("lzhang")
    assert (user.role, user.ward_id, user.full_name, user.directory, user.directory_key, user.active) == \
        ("nurse", hospital.ward3.id, "Li Zhang", "ldap", "lzhang", True)
    assert events("user_created", "lzhang")[0].detail == {"role": "nurse", "source": "ldap"}
    assert events("login_succeeded", "lzhang")[0].detail == {"via": "ldap"}
    assert client.get("/report", follow_redirects=True).status_code == 200  # signed in


def test_a_group_named_by_its_whole_dn_maps_too(ldap_app):
    assert sign_in(ldap_app.test_client(), "wliu", "ldap-pass-1").status_code == 302
    assert account("wliu").role == "dispatcher"


def test_groups_can_be_found_by_searching_where_there_is_no_member_of_attribute(ldap_app, hospital):
    ldap_app.config.update(LDAP_GROUP_ATTRIBUTE="")  # a directory without the memberOf overlay
    person = ldap.authenticate("lzhang", "ldap-pass-1")
    assert person.groups == (f"cn={NURSES},ou=groups,dc=hospital,dc=test",)
    assert sign_in(ldap_app.test_client(), "lzhang", "ldap-pass-1").status_code == 302
    assert (account("lzhang").role, account("lzhang").ward_id) == ("nurse", hospital.ward3.id)


def test_ldaps_works_and_the_certificate_is_checked(ldap_app, directory):
    ldap_app.config.update(LDAP_URL=directory.ldaps_url, LDAP_START_TLS=False)
    assert sign_in(ldap_app.test_client(), "lzhang", "ldap-pass-1").status_code == 302
    # Without the CA that signed the directory's certificate, the server is not believed: no password is sent.
    ldap_app.config.update(LDAP_CA_FILE=None)
    response = sign_in(ldap_app.test_client(), "wliu", "ldap-pass-1")
    assert response.status_code == 200
    assert "hospital directory cannot be reached" in text_of(response.get_data(as_text=True))
    assert account("wliu") is None


def test_starttls_checks_the_certificate_too(ldap_app):
    ldap_app.config.update(LDAP_CA_FILE=None)
    with pytest.raises(DirectoryUnavailableError):
        ldap.authenticate("lzhang", "ldap-pass-1")


def test_a_wrong_password_is_refused_and_creates_nothing(ldap_app):
    response = sign_in(ldap_app.test_client(), "lzhang", "not-her-password")
    assert response.status_code == 200
    assert "Wrong username or password." in text_of(response.get_data(as_text=True))
    assert account("lzhang") is None
    failed = db.session.scalars(select(AuditEvent).where(AuditEvent.kind == "login_failed")).all()
    assert [e.detail for e in failed] == [{"reason": "directory_refused", "via": "ldap"}]


def test_an_empty_password_is_never_an_anonymous_bind(ldap_app):
    with pytest.raises(DirectorySignInRefused):
        ldap.authenticate("lzhang", "")


def test_a_username_cannot_inject_into_the_search_filter(ldap_app):
    with pytest.raises(DirectorySignInRefused):
        ldap.authenticate("*", "ldap-pass-1")
    with pytest.raises(DirectorySignInRefused):
        ldap.authenticate("lzhang)(uid=*", "ldap-pass-1")


def test_someone_the_directory_has_disabled_cannot_sign_in(ldap_app):
    response = sign_in(ldap_app.test_client(), "hgone", "ldap-pass-1")
    assert "disabled in the directory" in text_of(response.get_data(as_text=True))
    assert account("hgone") is None


def test_disabling_in_the_directory_switches_the_account_off_at_the_next_sign_in(ldap_app, directory):
    assert sign_in(ldap_app.test_client(), "lzhang", "ldap-pass-1").status_code == 302
    directory.disable("lzhang")
    response = sign_in(ldap_app.test_client(), "lzhang", "ldap-pass-1")
    assert "disabled in the directory" in text_of(response.get_data(as_text=True))
    user = account("lzhang")
    assert (user.active, user.disabled_by_directory) == (False, True)
    assert events("user_deactivated", "lzhang")[0].detail == {"source": "ldap", "reason": "disabled_in_directory"}


def test_someone_in_no_mapped_group_cannot_sign_in(ldap_app):
    response = sign_in(ldap_app.test_client(), "plain", "ldap-pass-1")
    assert "not in any group that gives access" in text_of(response.get_data(as_text=True))
    assert account("plain") is None


def test_a_group_change_changes_the_role_but_never_the_phone_licences_or_shifts(ldap_app, directory, hospital):
    assert sign_in(ldap_app.test_client(), "wliu", "ldap-pass-1").status_code == 302
    user = account("wliu")
    user.phone = "+8613800138123"
    db.session.add(Licence(technician_id=user.id, licence_type_id=db.session.scalars(select(LicenceType)).first().id,
                           number="L-1", issuer="Board", issued_on=datetime(2025, 1, 1).date(),
                           expires_on=datetime(2030, 1, 1).date()))
    db.session.commit()
    directory.move_to_group("wliu", CONTROL_ROOM, NURSES)
    assert sign_in(ldap_app.test_client(), "wliu", "ldap-pass-1").status_code == 302
    user = account("wliu")
    assert (user.role, user.ward_id, user.phone, len(user.licences)) == \
        ("nurse", hospital.ward3.id, "+8613800138123", 1)
    assert events("role_changed", "wliu")[0].detail == {"from": "dispatcher", "to": "nurse", "source": "ldap"}


def test_the_highest_mapped_role_wins(ldap_app, hospital):
    with pytest.raises(Exception, match="mapped already"):
        mapping.add_group(name=NURSES.upper(), role="supervisor", ward_id=None)  # one mapping per group
    assert mapping.role_for(db.session, [f"cn={NURSES},ou=groups,dc=hospital,dc=test",
                                         f"cn={CONTROL_ROOM},ou=groups,dc=hospital,dc=test"]) == ("dispatcher", None)


def test_a_directory_person_cannot_sign_in_with_a_local_password_unless_break_glass(ldap_app, directory, login_as):
    assert sign_in(ldap_app.test_client(), "lzhang", "ldap-pass-1").status_code == 302
    user = account("lzhang")
    user.set_password("a-local-password")  # say one was left from before the directory
    db.session.commit()
    response = sign_in(ldap_app.test_client(), "lzhang", "a-local-password")
    assert "Wrong username or password." in text_of(response.get_data(as_text=True))
    # The administrator marks her break-glass, with the local password she will use.
    admin = login_as("admin")
    page = admin.post(f"/admin/staff/{user.id}/break-glass", data={"break_glass": "y", "password": "break-glass-pass"})
    assert page.status_code == 302
    assert account("lzhang").break_glass
    assert events("break_glass_changed", "lzhang")[0].detail == {"break_glass": True}
    # The directory goes down: her break-glass password still works; a plain directory person is told why not.
    ldap_app.config.update(LDAP_URL=f"ldap://127.0.0.1:{free_port()}", LDAP_TIMEOUT=2)
    assert sign_in(ldap_app.test_client(), "lzhang", "break-glass-pass").status_code == 302
    response = sign_in(ldap_app.test_client(), "wliu", "ldap-pass-1")
    assert response.status_code == 200
    assert "hospital directory cannot be reached" in text_of(response.get_data(as_text=True))
    failed = events("login_failed", "wliu")
    assert failed[-1].detail == {"reason": "directory_unavailable", "via": "ldap"}


def test_break_glass_for_a_directory_account_needs_a_password_and_an_administrator(ldap_app, login_as, hospital):
    assert sign_in(ldap_app.test_client(), "lzhang", "ldap-pass-1").status_code == 302
    user = account("lzhang")
    with pytest.raises(Exception, match="local password"):
        accounts.set_break_glass(hospital.user("admin"), user.id, allowed=True, password="")
    with pytest.raises(Exception, match="Only an administrator"):
        accounts.set_break_glass(hospital.user("manager"), user.id, allowed=True, password="long-enough-1")
    assert login_as("manager").post(f"/admin/staff/{user.id}/break-glass",
                                    data={"break_glass": "y", "password": "x" * 10}).status_code == 403


def test_local_accounts_still_sign_in_with_their_password_when_the_directory_is_down(ldap_app, hospital):
    ldap_app.config.update(LDAP_URL=f"ldap://127.0.0.1:{free_port()}", LDAP_TIMEOUT=2)
    from tests.conftest import PASSWORD

    assert sign_in(ldap_app.test_client(), "admin", PASSWORD).status_code == 302


def test_a_local_account_of_the_same_name_is_taken_over_keeping_its_phone(ldap_app, hospital):
    make_user("wliu", "technician", phone="+8613800138999")
    db.session.commit()
    before = account("wliu").id
    assert sign_in(ldap_app.test_client(), "wliu", "ldap-pass-1").status_code == 302
    user = account("wliu")
    assert (user.id, user.directory, user.role, user.phone) == (before, "ldap", "dispatcher", "+8613800138999")


def test_a_break_glass_local_account_of_the_same_name_is_not_taken_over(ldap_app):
    user = make_user("wliu", "dispatcher", break_glass=True)
    db.session.commit()
    # At the login form his directory password is simply not his local one...
    response = sign_in(ldap_app.test_client(), "wliu", "ldap-pass-1")
    assert "Wrong username or password." in text_of(response.get_data(as_text=True))
    # ...and the directory's word cannot take the account over either.
    with pytest.raises(DirectorySignInRefused, match="already exists"):
        accounts.sign_in(ldap.authenticate("wliu", "ldap-pass-1"))
    assert account("wliu").directory is None and user.id == account("wliu").id


def test_directory_sign_ins_are_throttled_like_local_ones(ldap_app):
    client = ldap_app.test_client()
    name = "lzhang"
    address = _address()
    ldap_app.config["LOGIN_RATE_LIMIT"] = "5/minute"
    for _ in range(5):
        page = client.get("/login", environ_overrides={"REMOTE_ADDR": _address()}).get_data(as_text=True)
        client.post("/login", data={"username": name, "password": "wrong", "csrf_token": csrf_token(page)},
                    environ_overrides={"REMOTE_ADDR": _address()})
    page = client.get("/login", environ_overrides={"REMOTE_ADDR": address}).get_data(as_text=True)
    response = client.post("/login", data={"username": name, "password": "ldap-pass-1", "csrf_token": csrf_token(page)},
                           environ_overrides={"REMOTE_ADDR": address})
    assert response.status_code == 429
    assert account("lzhang") is None


def _two_accounts(app) -> None:
    for name in ("lzhang", "wliu"):
        assert sign_in(app.test_client(), name, "ldap-pass-1").status_code == 302


def test_the_sync_command_switches_off_the_disabled_and_the_vanished(ldap_app, directory):
    _two_accounts(ldap_app)
    directory.disable("lzhang")
    directory.remove("wliu")
    result = ldap_app.test_cli_runner().invoke(args=["directory-sync"])
    assert result.exit_code == 0, result.output
    assert "2 directory account(s) checked." in result.output
    assert "switched off: lzhang" in result.output and "switched off: wliu" in result.output
    assert not account("lzhang").active and not account("wliu").active
    assert events("user_deactivated", "wliu")[0].detail == {"source": "ldap", "reason": "not_in_directory"}


def test_the_sync_switches_back_on_whom_the_directory_switched_off_but_not_whom_an_admin_did(ldap_app, directory,
                                                                                           hospital):
    _two_accounts(ldap_app)
    directory.disable("lzhang")
    nightly.sync_now()
    directory.reset()  # the directory enables her again
    wliu = account("wliu")
    wliu.active = False  # the administrator switched him off in Dispatch
    db.session.commit()
    result = nightly.sync_now()
    assert result.switched_on == ["lzhang"]
    assert account("lzhang").active and not account("wliu").active


def test_the_sync_changes_nothing_when_the_directory_cannot_be_read(ldap_app, directory):
    _two_accounts(ldap_app)
    ldap_app.config.update(LDAP_URL=f"ldap://127.0.0.1:{free_port()}", LDAP_TIMEOUT=2)
    result = ldap_app.test_cli_runner().invoke(args=["directory-sync"])
    assert result.exit_code != 0
    assert "cannot be reached" in result.output
    assert account("lzhang").active and account("wliu").active


def test_the_sync_refuses_an_empty_answer_rather_than_switch_everyone_off(ldap_app, directory):
    _two_accounts(ldap_app)
    ldap_app.config.update(LDAP_USER_BASE="ou=groups,dc=hospital,dc=test")  # a wrong base finds nobody
    with pytest.raises(DirectoryUnavailableError):
        nightly.sync_now()
    assert account("lzhang").active


def test_the_scheduler_syncs_once_a_night_at_the_set_hour(ldap_app, directory, clock):
    _two_accounts(ldap_app)
    directory.remove("wliu")
    rounds = Rounds()
    # 01:30 in Shanghai: before DIRECTORY_SYNC_HOUR (2).
    clock.set(datetime(2026, 3, 10, 17, 30, tzinfo=timezone.utc))
    assert not nightly.sync_if_due(clock.now())
    clock.set(datetime(2026, 3, 10, 18, 5, tzinfo=timezone.utc))
    rounds._directory_sync(clock.now())
    assert not account("wliu").active
    directory.remove("lzhang")
    assert not nightly.sync_if_due(clock.now())  # done for tonight
    assert account("lzhang").active


def test_the_scheduler_tries_again_later_when_the_directory_is_down(ldap_app, directory, clock):
    _two_accounts(ldap_app)
    directory.remove("wliu")
    good_url = ldap_app.config["LDAP_URL"]
    ldap_app.config.update(LDAP_URL=f"ldap://127.0.0.1:{free_port()}", LDAP_TIMEOUT=2)
    clock.set(datetime(2026, 3, 10, 18, 5, tzinfo=timezone.utc))
    rounds = Rounds()
    rounds._directory_sync(clock.now())  # logged, not raised
    assert account("wliu").active
    ldap_app.config.update(LDAP_URL=good_url)
    clock.advance(minutes=5)
    rounds._directory_sync(clock.now())
    assert account("wliu").active  # waits ten minutes before trying again
    clock.advance(minutes=6)
    rounds._directory_sync(clock.now())
    assert not account("wliu").active


def test_production_refuses_ldap_in_clear_unless_explicitly_allowed():
    clear = {"LDAP_URL": "ldap://dc1.hospital.local", "LDAP_USER_BASE": "ou=people,dc=hospital,dc=local"}
    with pytest.raises(RuntimeError, match="in clear"):
        create_app(production(**clear))
    assert create_app(production(**clear, LDAP_START_TLS=True))
    assert create_app(production(**clear, LDAP_ALLOW_INSECURE=True))
    assert create_app(production(**{**clear, "LDAP_URL": "ldaps://dc1.hospital.local"}))
    with pytest.raises(RuntimeError, match="LDAP_USER_BASE"):
        create_app(production(LDAP_URL="ldaps://dc1.hospital.local"))


def test_the_administrator_maps_groups_on_a_page(app, hospital, login_as):
    admin = login_as("admin")
    assert "No group is mapped" in text_of(admin.get("/admin/directory-groups").get_data(as_text=True))
    refused = admin.post("/admin/directory-groups", data={"name": "Ward 3A Nurses", "role": "nurse", "ward_id": 0})
    assert refused.status_code == 422
    assert "choose it" in text_of(refused.get_data(as_text=True))
    assert admin.post("/admin/directory-groups", data={"name": "Ward 3A Nurses", "role": "nurse",
                                                       "ward_id": hospital.ward3.id}).status_code == 302
    page = text_of(admin.get("/admin/directory-groups").get_data(as_text=True))
    assert "Ward 3A Nurses Nurse Ward 3" in page
    group = mapping.all_groups()[0]
    # Without the form's token (a forged cross-site form) nothing is removed.
    forged = admin.client.post(f"/admin/directory-groups/{group.id}/delete")
    assert forged.status_code == 400 and len(mapping.all_groups()) == 1
    assert admin.post(f"/admin/directory-groups/{group.id}/delete").status_code == 302
    assert mapping.all_groups() == []
    assert login_as("manager").get("/admin/directory-groups").status_code == 403


def test_the_audit_trail_shows_what_the_directory_did(ldap_app, directory, login_as):
    assert sign_in(ldap_app.test_client(), "lzhang", "ldap-pass-1").status_code == 302
    directory.disable("lzhang")
    sign_in(ldap_app.test_client(), "lzhang", "ldap-pass-1")
    page = text_of(login_as("admin").get("/admin/audit").get_data(as_text=True))
    assert "Logged in" in page and "through the directory (LDAP)" in page
    assert "Account switched off the directory Li Zhang" in page and "disabled in the directory" in page
    assert "Account created the directory Li Zhang" in page
