"""The local provider ``make run`` starts: real sign-in through it, and never in production."""

from __future__ import annotations

import random
from urllib.parse import urlsplit

import pytest
import requests

from devtools import oidc

# The mock provider calls an Authlib server API that Authlib has deprecated; that
# warning comes from the mock's code on its own thread and is not ours to fix.
pytestmark = pytest.mark.filterwarnings("ignore:get_jwt_config:DeprecationWarning")


@pytest.fixture(scope="module")
def local_provider():
    with oidc.serve(0) as server:  # any free port, chosen by the system as it binds
        yield server


@pytest.fixture
def dev_app(app, local_provider, monkeypatch):
    monkeypatch.setitem(app.config, "OIDC_ISSUER", oidc.issuer(local_provider.server_port))
    monkeypatch.setitem(app.config, "OIDC_CLIENT_ID", oidc.CLIENT_ID)
    monkeypatch.setitem(app.config, "OIDC_CLIENT_SECRET", oidc.CLIENT_SECRET)
    app.extensions.pop("cme_oidc_clients", None)
    return app


def sign_in_as(client, subject: str):
    """Click the demo account's button on the provider's page, as a newcomer would."""
    login = client.get("/login")
    assert login.status_code == 302
    authorize_url = login.headers["Location"]
    with requests.Session() as browser:
        form = browser.get(authorize_url, timeout=10)
        assert form.status_code == 200
        assert f'value="{subject}"' in form.text  # offered as a ready-made account
        answer = browser.post(authorize_url, data={"sub": subject}, allow_redirects=False,
                              timeout=10)
    assert answer.status_code == 302, answer.text
    callback = urlsplit(answer.headers["Location"])
    return client.get(f"{callback.path}?{callback.query}")


def test_listens_on_loopback_only(local_provider):
    assert local_provider.server_address[0] == "127.0.0.1"


def test_demo_physician_signs_in(dev_app, client, make):
    learner = make.learner(email="morgan.hale@example.org", first_name="Morgan",
                           last_name="Hale")
    response = sign_in_as(client, "morgan.hale")
    assert response.status_code == 302, response.get_data(as_text=True)
    user = client.signed_in_user()
    assert user.learner_id == learner.id
    assert user.is_staff is False



def test_demo_staff_member_signs_in_as_staff(dev_app, client):
    assert sign_in_as(client, "casey.staff").status_code == 302
    user = client.signed_in_user()
    assert user.is_staff is True
    assert user.learner_id is None



def test_unverified_demo_account_is_refused(dev_app, client, make):
    make.learner(email="morgan.hale@example.org")
    response = sign_in_as(client, "unverified.hale")
    assert response.status_code == 403


def test_sign_out_goes_through_the_provider(dev_app, client, make, local_provider):
    make.learner(email="elena.marsh@example.org")
    sign_in_as(client, "elena.marsh")
    target = client.post("/logout").headers["Location"]
    issuer = oidc.issuer(local_provider.server_port)
    assert target.startswith(f"{issuer}/oauth2/end_session?")
    page = requests.get(target, timeout=10)
    assert page.status_code == 200
    assert "id_token_hint" in page.text


def test_demo_users_are_the_featured_demo_learners():
    from webapp.credits import demo

    featured = {person.email for person in demo.people(random.Random(1), 0)  # noqa: S311
                if person.learner_id in demo.FEATURED.values()}
    offered = {user.claims()["email"] for user in oidc.DEMO_USERS
               if user.claims()["email_verified"] and not user.groups}
    assert offered == featured


def test_never_in_production(monkeypatch):
    monkeypatch.setenv("APP_ENV", "production")
    with pytest.raises(RuntimeError, match="production"):
        oidc.build_app()


def test_devserver_refuses_production(monkeypatch):
    from devtools import devserver

    monkeypatch.setenv("APP_ENV", "production")
    monkeypatch.setattr("sys.argv", ["devserver"])
    with pytest.raises(SystemExit, match="production"):
        devserver.main()
