"""Whether the first directory sign-in may take over a local account of the same name, against the real
servers: LDAP may (the bind proves the directory account) unless the administrator switched it off; OpenID
Connect links by `sub` only, and takes over a local account by name only with the administrator's setting and
a verified email claim, or when the administrator linked it on the staff page. Refusals say why and are
audited."""
from __future__ import annotations

from sqlalchemy import select

from models import AuditEvent, db
from tests.conftest import text_of
from tests.factories import make_user
from tests.test_directory_ldap import account, ldap_app, sign_in  # noqa: F401 (ldap_app is a fixture)
from tests.test_directory_oidc import at_the_provider, come_back, oidc_app, start  # noqa: F401 (oidc_app too)


def refusals(username: str) -> list[dict]:
    return [e.detail for e in db.session.scalars(select(AuditEvent).where(
        AuditEvent.kind == "directory_sign_in_refused", AuditEvent.subject == username).order_by(AuditEvent.id))]


def oidc_sign_in(app, login: str):
    client = app.test_client()
    return come_back(client, at_the_provider(start(client), login, "oidc-pass-1"))


def test_ldap_takes_over_a_local_account_of_the_same_name_and_says_so_in_the_audit(ldap_app):
    before = make_user("wliu", "technician", phone="+8613800138999")
    db.session.commit()
    assert sign_in(ldap_app.test_client(), "wliu", "ldap-pass-1").status_code == 302
    user = account("wliu")
    assert (user.id, user.directory, user.phone) == (before.id, "ldap", "+8613800138999")
    linked = db.session.scalars(select(AuditEvent).where(AuditEvent.kind == "directory_linked")).all()
    assert [e.detail for e in linked] == [{"source": "ldap", "by": "username"}]


def test_ldap_takeover_can_be_switched_off(ldap_app):
    ldap_app.config["LDAP_ADOPT_LOCAL_ACCOUNTS"] = False
    make_user("wliu", "technician")
    db.session.commit()
    response = sign_in(ldap_app.test_client(), "wliu", "ldap-pass-1")
    assert "already exists" in text_of(response.get_data(as_text=True))
    assert account("wliu").directory is None
    assert refusals("wliu")[0]["source"] == "ldap"


def test_oidc_never_takes_over_a_local_account_by_its_name_by_default(oidc_app):
    local = make_user("mwong", "nurse")
    db.session.commit()
    response = oidc_sign_in(oidc_app, "mwong")
    page = text_of(response.get_data(as_text=True))
    assert response.status_code == 401 and "ask the administrator to link it on the staff page" in page
    assert account("mwong").directory is None and account("mwong").id == local.id
    assert refusals("mwong")[0]["source"] == "oidc"


def test_oidc_takes_over_by_name_only_when_allowed_and_the_email_is_verified(oidc_app):
    oidc_app.config["OIDC_ADOPT_LOCAL_ACCOUNTS"] = True
    make_user("mwong", "nurse")  # the provider says mwong's address is verified
    make_user("tchen", "dispatcher")  # ...and that tchen's is not
    db.session.commit()
    assert oidc_sign_in(oidc_app, "mwong").status_code == 302
    assert (account("mwong").directory, account("mwong").directory_key) == ("oidc", "mwong")
    assert oidc_sign_in(oidc_app, "tchen").status_code == 401
    assert account("tchen").directory is None and len(refusals("tchen")) == 1


def test_a_verified_email_finds_the_local_account_named_by_it(oidc_app):
    oidc_app.config["OIDC_ADOPT_LOCAL_ACCOUNTS"] = True
    local = make_user("mwong@hospital.test", "nurse")
    db.session.commit()
    assert oidc_sign_in(oidc_app, "mwong").status_code == 302
    assert account("mwong@hospital.test").id == local.id and local.directory == "oidc"


def test_the_administrator_links_a_local_account_and_the_next_sign_in_keeps_it(oidc_app, login_as):
    local = make_user("tchen", "dispatcher", phone="+8613800138777")
    db.session.commit()
    admin = login_as("admin")
    assert "Link to a directory account" in text_of(admin.get(f"/admin/staff/{local.id}").get_data(as_text=True))
    assert admin.post(f"/admin/staff/{local.id}/directory-link",
                      data={"directory": "oidc", "directory_key": "tchen"}).status_code == 302
    assert oidc_sign_in(oidc_app, "tchen").status_code == 302
    user = account("tchen")
    assert (user.id, user.directory, user.phone) == (local.id, "oidc", "+8613800138777")
    linked = db.session.scalars(select(AuditEvent).where(AuditEvent.kind == "directory_linked")).all()
    assert [e.detail for e in linked] == [{"source": "oidc", "by": "administrator"}]


def test_linking_is_the_administrators_and_refuses_a_taken_identifier(oidc_app, login_as, hospital):
    first, second = make_user("tchen", "dispatcher"), make_user("tchen2", "dispatcher")
    db.session.commit()
    assert login_as("manager").post(f"/admin/staff/{first.id}/directory-link",
                                    data={"directory": "oidc", "directory_key": "tchen"}).status_code == 403
    admin = login_as("admin")
    admin.post(f"/admin/staff/{first.id}/directory-link", data={"directory": "oidc", "directory_key": "tchen"})
    page = admin.post(f"/admin/staff/{second.id}/directory-link", data={"directory": "oidc", "directory_key": "tchen"},
                      follow_redirects=True)
    assert "already linked to tchen" in text_of(page.get_data(as_text=True))
    assert account("tchen2").directory is None
    page = admin.post(f"/admin/staff/{second.id}/directory-link", data={"directory": "x", "directory_key": ""},
                      follow_redirects=True)
    assert page.status_code == 200 and account("tchen2").directory is None
