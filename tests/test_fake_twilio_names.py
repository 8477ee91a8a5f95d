"""`make run` tells the local fake of Twilio whose number is whose and the hospital's time zone
(`flask fake-twilio-names`), so its phone page reads like the app: names, and hospital time."""
from __future__ import annotations

import requests

from models import User, db
from tests.test_sms_outbox import SPARKY, assign, file_fault


def test_the_app_names_its_staff_and_its_time_zone_at_the_fake(app, hospital, fake_twilio, live_app, worker):
    db.session.get(User, hospital.users["volt"].id).active = False  # left the hospital: not named
    db.session.commit()
    result = app.test_cli_runner().invoke(args=["fake-twilio-names", "--wait", "5"])
    assert result.exit_code == 0, result.output
    names = requests.get(f"{fake_twilio.url}/_fake/names", timeout=5).json()["names"]
    assert names[SPARKY] == "Wang Sparky (technician)"
    assert hospital.users["volt"].phone not in names
    assert set(names) == {u.phone for u in db.session.query(User).filter(User.active.is_(True), User.phone.is_not(None))}
    assert fake_twilio.state.setting("TIMEZONE") == app.config["HOSPITAL_TIMEZONE"] == "Asia/Shanghai"

    ticket = file_fault(hospital)
    assign(hospital, ticket.id)
    assert worker() == ["sent"]
    index = requests.get(f"{fake_twilio.url}/phone", timeout=5).text
    assert '<span class="name">Wang Sparky (technician)</span>' in index


def test_without_a_fake_the_command_says_so(app, db):
    app.config["TWILIO_API_BASE_URL"] = None
    result = app.test_cli_runner().invoke(args=["fake-twilio-names"])
    assert result.exit_code != 0 and "TWILIO_API_BASE_URL is not set" in result.output
