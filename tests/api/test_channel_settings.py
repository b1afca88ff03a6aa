"""A channel's settings and account errors, black-box against a real kore,
the real PostgreSQL and the fake providers (tests/fakes):

- PATCH /api/v1/channels/{id} {send_rate}: the rate shown by GET (the
  adapter's default until changed), its validation (strings, negatives,
  zero, huge, fractions, null, other types: a 422 naming send_rate),
  with and without new credentials; a name or a rate alone never asks
  the provider, so a channel whose token was revoked can be renamed;
- roles and tenancy: agents get 403 before any validation, another
  organization's channel is 404;
- the dispatcher honours a rate changed through the API at once;
- GET /api/v1/channels/{id}/errors: what WhatsApp said about the account
  (webhook value.errors), newest first, paginated, per channel and per
  organization.
"""
import time

import psycopg2
import pytest

from apiclient import Client, add_member, assert_error, new_token, signup
import webhooks as wh
from test_channels import (ADAPTERS, CHANNELS, KINDS, Example, WhatsAppCloud,
                           add_token, audit_actions, connect,
                           no_provider_calls)
from test_dispatcher import dispatchers, sends_of, wait_status
from test_dispatcher_failures import many_customers
from test_sending import reply, text, whatsapp
from test_webhooks import APP_SECRET, hook

assert dispatchers    # a fixture, imported for the test below

HOSTILE_RATES = ["80", "", -1, 0, 1001, 10 ** 15, 2 ** 63 - 1, -2 ** 63,
                 2.5, 80.0, 1e3, None, True, [80], {"per_second": 80}]


def plugin_rates(server):
    r = Client(server.url).get("/api/v1/plugins")
    return {p["name"]: p["send_rate"] for p in r.json()["data"]}


def audit_events(client, action):
    r = client.get("/api/v1/audit-log", params={"limit": 200})
    return [e for e in r.json()["data"] if e["action"] == action]


def db_rate(admin_db, channel_id):
    with admin_db.cursor() as cur:
        cur.execute("SELECT send_rate FROM channels WHERE id = %s",
                    (channel_id,))
        return cur.fetchone()[0]


# ---------------------------------------------------------------- send_rate

@pytest.mark.parametrize("adapter", ADAPTERS)
def test_send_rate_starts_at_the_adapters_default(server, fakes, adapter):
    owner = signup(server.url)
    ch = connect(owner, KINDS[adapter](fakes))
    assert ch["send_rate"] == plugin_rates(server)[adapter]
    assert owner.get(f"{CHANNELS}/{ch['id']}").json()["send_rate"] == \
        ch["send_rate"]


def test_send_rate_is_set_without_asking_the_provider(server, fakes,
                                                      admin_db):
    owner = signup(server.url)
    ch = connect(owner, WhatsAppCloud(fakes))
    url = f"{CHANNELS}/{ch['id']}"
    untouched = no_provider_calls(fakes)
    r = owner.patch(url, {"send_rate": 1000})
    assert r.status_code == 200, r.text
    changed = r.json()
    assert changed["send_rate"] == 1000
    assert changed["name"] == ch["name"] and changed["status"] == "connected"
    assert changed["credentials"] == ch["credentials"]
    assert changed["webhook"] == ch["webhook"]
    assert changed["updated_at"] > ch["updated_at"]
    assert owner.get(url).json() == changed
    assert owner.get(CHANNELS).json()["data"] == [changed]
    assert db_rate(admin_db, ch["id"]) == 1000
    r = owner.patch(url, {"send_rate": 1})
    assert r.status_code == 200 and r.json()["send_rate"] == 1
    assert untouched()
    [second, first] = audit_events(owner, "channel_updated")
    assert first["details"] == {"name": ch["name"], "send_rate": 1000}
    assert second["details"]["send_rate"] == 1
    assert first["target"] == ch["id"]


@pytest.mark.parametrize("value", HOSTILE_RATES)
def test_send_rate_validation(server, fakes, admin_db, value):
    owner = signup(server.url)
    ch = connect(owner, Example(fakes))
    untouched = no_provider_calls(fakes)
    r = owner.patch(f"{CHANNELS}/{ch['id']}", {"send_rate": value})
    body = assert_error(r, 422, "VALIDATION_FAILED")
    assert set(body["details"]) == {"send_rate"}, body
    assert "1 to 1000" in body["details"]["send_rate"]
    assert "send_rate" in body["error"]
    assert owner.get(f"{CHANNELS}/{ch['id']}").json() == ch
    assert db_rate(admin_db, ch["id"]) == ch["send_rate"]
    assert untouched()


@pytest.mark.parametrize("raw, status", [
    (b'{"send_rate": 8e1}', 422),           # a real, however whole
    (b'{"send_rate": 1E3}', 422),
    (b'{"send_rate": 080}', 400),           # not JSON
    (b'{"send_rate": 1' + b'0' * 30 + b'}', 400),    # past any integer
    (b'{"send_rate": 5, "send_rate": 6}', 400),      # duplicate key
])
def test_send_rate_in_raw_bodies(server, fakes, raw, status):
    owner = signup(server.url)
    ch = connect(owner, Example(fakes))
    r = owner.patch(f"{CHANNELS}/{ch['id']}", data=raw,
                    headers={"Content-Type": "application/json"})
    assert_error(r, status, "VALIDATION_FAILED" if status == 422 else
                 "INVALID_JSON")
    assert owner.get(f"{CHANNELS}/{ch['id']}").json() == ch


def test_send_rate_with_the_name_and_empty_patches(server, fakes):
    owner = signup(server.url)
    ch = connect(owner, Example(fakes))
    url = f"{CHANNELS}/{ch['id']}"
    untouched = no_provider_calls(fakes)
    r = owner.patch(url, {"name": "  Night shift  ", "send_rate": 7})
    assert r.status_code == 200, r.text
    assert (r.json()["name"], r.json()["send_rate"]) == ("Night shift", 7)
    # A bad rate keeps a good name from being saved too.
    r = owner.patch(url, {"name": "Day shift", "send_rate": -7})
    assert_error(r, 422, "VALIDATION_FAILED")
    assert owner.get(url).json()["name"] == "Night shift"
    # Nothing given, or the same again: nothing changes, nothing audited.
    before = len(audit_events(owner, "channel_updated"))
    for body in ({}, {"name": None}, {"send_rate": 7, "name": "Night shift"},
                 {"unknown": 1}):
        r = owner.patch(url, body)
        assert r.status_code == 200, r.text
        assert r.json()["send_rate"] == 7
    assert len(audit_events(owner, "channel_updated")) == before
    assert untouched()


@pytest.mark.parametrize("adapter", ADAPTERS)
def test_a_revoked_channel_can_be_renamed_and_slowed(server, fakes, adapter):
    """Renaming asked the provider before: a channel whose token was
    revoked could not be renamed. Now only credentials are tested."""
    owner = signup(server.url)
    acct = KINDS[adapter](fakes)
    ch = connect(owner, acct)
    url = f"{CHANNELS}/{ch['id']}"
    fakes.revoke_token(acct.token)
    assert owner.post(url + "/test").json()["status"] == "error"
    untouched = no_provider_calls(fakes)
    r = owner.patch(url, {"name": "Old number", "send_rate": 3})
    assert r.status_code == 200, r.text
    assert r.json()["name"] == "Old number" and r.json()["send_rate"] == 3
    # Still in error, with the provider's words: nothing was re-checked.
    assert r.json()["status"] == "error"
    assert r.json()["status_message"].startswith("Credentials rejected")
    assert untouched()
    if adapter == "360dialog":
        assert acct.webhook() is not None       # registration untouched


def test_send_rate_with_new_credentials(server, fakes):
    owner = signup(server.url)
    acct = WhatsAppCloud(fakes)
    ch = connect(owner, acct)
    url = f"{CHANNELS}/{ch['id']}"
    new = add_token(acct)
    r = owner.patch(url, {"credentials": {"access_token": new},
                          "send_rate": 200, "name": "Rotated"})
    assert r.status_code == 200, r.text
    assert (r.json()["send_rate"], r.json()["name"]) == (200, "Rotated")
    assert r.json()["credentials"]["access_token"] == acct.hint(new)
    assert len(acct.sent(new)) == 1
    actions = audit_actions(owner)
    assert "channel_credentials_updated" in actions
    assert "channel_updated" in actions


@pytest.mark.parametrize("value", ["fast", -5, 5000, 1.5, None])
def test_a_bad_rate_with_credentials_asks_no_provider(server, fakes, value):
    """The rate is checked before the provider is asked, and 360dialog is
    not told a new webhook secret the channel would then not keep."""
    owner = signup(server.url)
    acct = KINDS["360dialog"](fakes)
    ch = connect(owner, acct)
    hook_before = acct.webhook()
    new = add_token(acct)
    untouched = no_provider_calls(fakes)
    r = owner.patch(f"{CHANNELS}/{ch['id']}", {
        "credentials": {"api_key": new}, "send_rate": value})
    body = assert_error(r, 422, "VALIDATION_FAILED")
    assert set(body["details"]) == {"send_rate"}
    assert untouched()
    assert acct.webhook() == hook_before and acct.webhook(new) is None
    assert owner.get(f"{CHANNELS}/{ch['id']}").json() == ch


def test_agents_cannot_change_settings(server, fakes):
    owner = signup(server.url)
    ch = connect(owner, Example(fakes))
    url = f"{CHANNELS}/{ch['id']}"
    agent = add_member(server.url, owner, "agent")
    token, _ = new_token(owner, role="agent")
    bot = Client(server.url, token=token, origin=False)
    for who in (agent, bot):
        # Who is asking comes first: a 403 before any 422.
        for body in ({"send_rate": 10}, {"send_rate": "x"},
                     {"name": "Mine", "send_rate": -1},
                     {"send_rate": 10, "credentials": {"token": "t"}}):
            assert_error(who.patch(url, body), 403, "FORBIDDEN")
    assert owner.get(url).json() == ch
    admin_token, _ = new_token(owner, role="admin")
    admin_bot = Client(server.url, token=admin_token, origin=False)
    r = admin_bot.patch(url, {"send_rate": 9})
    assert r.status_code == 200 and r.json()["send_rate"] == 9


def test_another_organizations_channel_is_404(server, fakes, admin_db):
    alice = signup(server.url)
    ch = connect(alice, Example(fakes))
    bob = signup(server.url)
    url = f"{CHANNELS}/{ch['id']}"
    for body in ({"send_rate": 10}, {"send_rate": "x"}, {"name": "Bob's"},
                 {"send_rate": 10, "credentials": {"token": "t"}}):
        assert_error(bob.patch(url, body), 404, "NOT_FOUND")
    assert_error(bob.get(url + "/errors"), 404, "NOT_FOUND")
    assert db_rate(admin_db, ch["id"]) == ch["send_rate"]
    assert alice.get(url).json()["name"] == ch["name"]


def test_the_dispatcher_honours_a_new_rate_at_once(server, fakes, admin_db,
                                                   dispatchers):
    """A number slowed to 2/s, with a backlog: its sends go half a second
    apart. Raised to 100/s through the API while it drains, the rest go
    at once, without restarting the dispatcher."""
    owner = signup(server.url)
    ch = whatsapp(owner, fakes)
    assert owner.patch(f"{CHANNELS}/{ch['id']}",
                       {"send_rate": 2}).status_code == 200
    convs = many_customers(server, owner, ch, 12)
    ids = [reply(owner, cv["id"], text("m %d" % i)).json()["id"]
           for i, cv in enumerate(convs)]
    dispatchers()
    deadline = time.time() + 10
    while len(sends_of(fakes, ch)) < 3 and time.time() < deadline:
        time.sleep(0.02)
    slow = [r.time for r in sends_of(fakes, ch)]
    assert len(slow) >= 3
    assert all(b - a >= 0.45 for a, b in zip(slow, slow[1:])), slow
    changed = time.time()
    r = owner.patch(f"{CHANNELS}/{ch['id']}", {"send_rate": 100})
    assert r.status_code == 200 and r.json()["send_rate"] == 100
    for mid in ids:
        wait_status(owner, mid, timeout=10)
    # What was left (about nine at 2/s would take over four seconds)
    # went within a second or so of the change.
    assert time.time() - changed < 2.5
    reqs = sends_of(fakes, ch)
    assert sorted(r.json()["biz_opaque_callback_data"] for r in reqs) == \
        sorted(ids)


# ---------------------------------------------------------------- errors

def post_errors(server, pnid, *errors):
    status, _ = wh.post(hook(server), wh.whatsapp_payload(
        pnid, errors=list(errors)), app_secret=APP_SECRET)
    assert status == 200


def test_account_errors_are_listed_newest_first(server, fakes):
    owner = signup(server.url)
    ch = whatsapp(owner, fakes)
    url = f"{CHANNELS}/{ch['id']}/errors"
    r = owner.get(url)
    assert r.status_code == 200 and r.json() == {"data": [],
                                                 "next_cursor": None}
    post_errors(server, ch["pnid"], wh.whatsapp_error(
        131042, "Business eligibility payment issue", "Check billing"))
    post_errors(server, ch["pnid"], wh.whatsapp_error(
        131031, "Business account locked", "Contact support"))
    # A redelivery of the same body is not a second error.
    post_errors(server, ch["pnid"], wh.whatsapp_error(
        131031, "Business account locked", "Contact support"))
    r = owner.get(url)
    assert r.status_code == 200, r.text
    data = r.json()["data"]
    assert [(e["error_code"], e["error_title"]) for e in data] == [
        ("131031", "Business account locked"),
        ("131042", "Business eligibility payment issue")]
    assert set(data[0]) == {"id", "error_code", "error_title", "at",
                            "received_at"}
    assert data[0]["id"].isdigit() and data[0]["at"] and \
        data[0]["received_at"]
    assert r.json()["next_cursor"] is None
    # Pages of one.
    r = owner.get(url, params={"limit": 1})
    assert [e["error_code"] for e in r.json()["data"]] == ["131031"]
    cursor = r.json()["next_cursor"]
    r = owner.get(url, params={"limit": 1, "cursor": cursor})
    assert [e["error_code"] for e in r.json()["data"]] == ["131042"]
    assert r.json()["next_cursor"] is None
    for bad in ({"cursor": "abc"}, {"limit": 0}, {"limit": 201}):
        assert_error(owner.get(url, params=bad), 400, "INVALID_QUERY")
    # Any member reads them, like the channel.
    agent = add_member(server.url, owner, "agent")
    assert agent.get(url).json()["data"] == data


def test_account_errors_stay_with_their_channel_and_tenant(server, fakes):
    alice = signup(server.url)
    mine = whatsapp(alice, fakes)
    other = whatsapp(alice, fakes)
    bob = signup(server.url)
    bobs = whatsapp(bob, fakes)
    post_errors(server, bobs["pnid"], wh.whatsapp_error(
        131031, "Business account locked", "Contact support"))
    post_errors(server, other["pnid"], wh.whatsapp_error(
        131042, "Payment issue", "Check billing"))
    assert alice.get(f"{CHANNELS}/{mine['id']}/errors").json()["data"] == []
    [e] = alice.get(f"{CHANNELS}/{other['id']}/errors").json()["data"]
    assert e["error_code"] == "131042"
    assert_error(alice.get(f"{CHANNELS}/{bobs['id']}/errors"), 404,
                 "NOT_FOUND")
    [e] = bob.get(f"{CHANNELS}/{bobs['id']}/errors").json()["data"]
    assert e["error_code"] == "131031"


def test_the_app_role_reads_no_errors_without_a_tenant(server, fakes,
                                                      app_db_url, admin_db):
    """Row-level security: a query that forgets the tenant sees nothing,
    though the table holds rows."""
    owner = signup(server.url)
    ch = whatsapp(owner, fakes)
    post_errors(server, ch["pnid"], wh.whatsapp_error(
        131031, "Business account locked", "Contact support"))
    with admin_db.cursor() as cur:
        cur.execute("SELECT count(*) FROM channel_errors")
        assert cur.fetchone()[0] > 0
    with psycopg2.connect(app_db_url) as conn, conn.cursor() as cur:
        cur.execute("SELECT count(*) FROM channel_errors")
        assert cur.fetchone()[0] == 0
