"""Working the inbox, black box: closing, reopening and assigning
conversations (PATCH /conversations/{id}), read marks per member and per
API token (POST /conversations/{id}/read) and unread counts per
conversation and channel, list filters (assignee, unread, text search),
contacts (get, search, PATCH display name, tags, blocked, pinned; a
blocked contact's messages are kept but reopen nothing) and GET /stats.

Customers write through signed webhooks (test_sending.customer_writes);
times that a test needs in the past are set through admin_db.
"""
import datetime
import uuid

import pytest

from apiclient import Client, add_member, assert_error, new_token, signup
from test_sending import (customer_writes, digits, reply, text, whatsapp,
                          messenger)


def conv(client, cv_id):
    r = client.get(f"/api/v1/conversations/{cv_id}")
    assert r.status_code == 200, r.text
    return r.json()


def listed(client, **query):
    r = client.get("/api/v1/conversations", params=query)
    assert r.status_code == 200, r.text
    return [c["id"] for c in r.json()["data"]]


def patch(client, cv_id, body):
    return client.patch(f"/api/v1/conversations/{cv_id}", body)


# ---------------------------------------------------------------- status

def test_close_reopen_and_assign(server, fakes, admin_db):
    owner = signup(server.url)
    agent = add_member(server.url, owner, name="Ann Agent")
    ch = whatsapp(owner, fakes)
    cv, customer, _ = customer_writes(server, admin_db, owner, ch)
    assert cv["status"] == "open" and cv["assignee"] is None

    r = patch(owner, cv["id"], {"status": "closed"})
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "closed" and r.json()["closed_at"]
    assert cv["id"] in listed(owner, status="closed")
    assert cv["id"] not in listed(owner, status="open")
    r = patch(agent, cv["id"], {"status": "open"})
    assert r.json()["status"] == "open" and r.json()["closed_at"] is None

    r = patch(owner, cv["id"], {"assignee_id": agent.user_id})
    assert r.status_code == 200, r.text
    assert r.json()["assignee"] == {"id": agent.user_id, "name": "Ann Agent",
                                    "email": agent.email}
    assert r.json()["status"] == "open"
    assert listed(agent, assignee_id="me") == [cv["id"]]
    assert listed(owner, assignee_id=agent.user_id) == [cv["id"]]
    assert cv["id"] not in listed(owner, assignee_id="none")
    assert listed(owner, assignee_id="me") == []
    # Both at once; null unassigns.
    r = patch(agent, cv["id"], {"status": "closed", "assignee_id": None})
    assert r.json()["status"] == "closed" and r.json()["assignee"] is None
    assert cv["id"] in listed(owner, assignee_id="none")

    # A new message from the customer reopens it (as before).
    customer_writes(server, admin_db, owner, ch, customer=customer)
    assert conv(owner, cv["id"])["status"] == "open"

    audit = [a["action"] for a in owner.get("/api/v1/audit-log").json()[
        "data"]]
    assert "conversation_closed" in audit and "conversation_assigned" in audit


@pytest.mark.parametrize("body,field", [
    ({"status": "archived"}, "status"),
    ({"status": 1}, "status"),
    ({"assignee_id": "x"}, "assignee_id"),
    ({"assignee_id": str(uuid.uuid4())}, "assignee_id"),
    ({"channel_id": str(uuid.uuid4())}, "channel_id"),
])
def test_conversation_changes_are_checked(server, fakes, admin_db, body,
                                          field):
    owner = signup(server.url)
    ch = whatsapp(owner, fakes)
    cv, _, _ = customer_writes(server, admin_db, owner, ch)
    err = assert_error(patch(owner, cv["id"], body), 422, "VALIDATION_FAILED")
    assert field in err["details"]


def test_assignees_and_conversations_of_other_organizations(server, fakes,
                                                            admin_db):
    owner = signup(server.url)
    other = signup(server.url, org="Other")
    ch = whatsapp(owner, fakes)
    cv, _, _ = customer_writes(server, admin_db, owner, ch)
    err = assert_error(patch(owner, cv["id"], {"assignee_id":
                                               other.user_id}), 422)
    assert err["details"] == {"assignee_id": "is not a member"}
    assert_error(patch(other, cv["id"], {"status": "closed"}), 404)
    assert_error(other.post(f"/api/v1/conversations/{cv['id']}/read"), 404)
    assert conv(owner, cv["id"])["status"] == "open"


def test_reopening_beside_another_open_conversation_is_409(server, fakes,
                                                           admin_db):
    owner = signup(server.url)
    ch = whatsapp(owner, fakes)
    cv, customer, _ = customer_writes(server, admin_db, owner, ch)
    assert patch(owner, cv["id"], {"status": "closed"}).status_code == 200
    r = owner.post("/api/v1/messages", {
        "channel_id": ch["id"], "to": customer, "type": "text",
        "text": {"body": "New thread"}})
    assert r.status_code == 202, r.text
    assert r.json()["conversation_id"] != cv["id"]
    assert_error(patch(owner, cv["id"], {"status": "open"}), 409,
                 "CONVERSATION_OPEN")


def test_a_removed_member_is_unassigned(server, fakes, admin_db):
    owner = signup(server.url)
    agent = add_member(server.url, owner)
    ch = whatsapp(owner, fakes)
    cv, _, _ = customer_writes(server, admin_db, owner, ch)
    patch(owner, cv["id"], {"assignee_id": agent.user_id})
    assert owner.delete(f"/api/v1/members/{agent.user_id}").status_code in \
        (200, 204)
    assert conv(owner, cv["id"])["assignee"] is None


# ---------------------------------------------------------------- unread

def test_read_marks_are_per_member_and_per_token(server, fakes, admin_db):
    owner = signup(server.url)
    agent = add_member(server.url, owner)
    token, _ = new_token(owner)
    bot = Client(server.url, token=token, origin=False)
    ch = whatsapp(owner, fakes)
    cv, customer, _ = customer_writes(server, admin_db, owner, ch, "one")
    customer_writes(server, admin_db, owner, ch, "two", customer=customer)
    for who in (owner, agent, bot):
        assert conv(who, cv["id"])["unread"] == 2

    r = owner.post(f"/api/v1/conversations/{cv['id']}/read")
    assert r.status_code == 200 and r.json()["unread"] == 0
    assert conv(owner, cv["id"])["unread"] == 0
    assert conv(agent, cv["id"])["unread"] == 2
    assert listed(owner, unread="true") == []
    assert listed(agent, unread="true") == [cv["id"]]
    assert listed(owner, unread="false") == [cv["id"]]

    # Our own replies are never unread; the customer's next message is.
    reply(owner, cv["id"], text("On it"))
    assert conv(owner, cv["id"])["unread"] == 0
    customer_writes(server, admin_db, owner, ch, "three", customer=customer)
    assert conv(owner, cv["id"])["unread"] == 1
    assert conv(agent, cv["id"])["unread"] == 3
    assert bot.post(f"/api/v1/conversations/{cv['id']}/read").json()[
        "unread"] == 0
    assert conv(agent, cv["id"])["unread"] == 3
    assert_error(owner.get("/api/v1/conversations",
                           params={"unread": "yes"}), 400, "INVALID_QUERY")


def test_unread_counts_per_channel(server, fakes, admin_db):
    owner = signup(server.url)
    wa, fb = whatsapp(owner, fakes), messenger(owner, fakes)
    a, ca, _ = customer_writes(server, admin_db, owner, wa)
    customer_writes(server, admin_db, owner, wa, customer=ca)
    b, _, _ = customer_writes(server, admin_db, owner, wa)
    c, _, _ = customer_writes(server, admin_db, owner, fb)
    r = owner.get("/api/v1/conversations/unread")
    assert r.status_code == 200, r.text
    got = r.json()
    assert got["messages"] == 4 and got["conversations"] == 3
    assert sorted(got["channels"], key=lambda x: x["messages"]) == sorted([
        {"channel_id": wa["id"], "messages": 3, "conversations": 2},
        {"channel_id": fb["id"], "messages": 1, "conversations": 1}],
        key=lambda x: x["messages"])
    owner.post(f"/api/v1/conversations/{a['id']}/read")
    # Closed conversations do not count.
    patch(owner, c["id"], {"status": "closed"})
    got = owner.get("/api/v1/conversations/unread").json()
    assert got == {"messages": 1, "conversations": 1, "channels": [
        {"channel_id": wa["id"], "messages": 1, "conversations": 1}]}
    other = signup(server.url, org="Other")
    assert other.get("/api/v1/conversations/unread").json() == {
        "messages": 0, "conversations": 0, "channels": []}


# ---------------------------------------------------------------- search

def test_search_over_contact_names_and_message_text(server, fakes,
                                                    admin_db):
    owner = signup(server.url)
    ch = whatsapp(owner, fakes)
    a, ca, _ = customer_writes(server, admin_db, owner, ch,
                               "Where is parcel 7781?")
    b, cb, _ = customer_writes(server, admin_db, owner, ch,
                               "100% wrong size")
    ct_b = b["contact"]["id"]
    assert owner.patch(f"/api/v1/contacts/{ct_b}", {
        "display_name": "Zoë Müller"}).status_code == 200
    assert listed(owner, q="parcel 77") == [a["id"]]
    assert listed(owner, q="PARCEL") == [a["id"]]
    assert listed(owner, q="zoë") == [b["id"]]
    assert listed(owner, q=cb[-6:]) == [b["id"]]
    assert listed(owner, q="100%") == [b["id"]]
    assert listed(owner, q="%") == [b["id"]]        # a literal %
    assert listed(owner, q="_") == []
    assert sorted(listed(owner, q="  ")) == sorted([a["id"], b["id"]])
    # Our replies are searched too; other organizations never.
    reply(owner, b["id"], text("Exchange label attached"))
    assert listed(owner, q="exchange label") == [b["id"]]
    other = signup(server.url, org="Other")
    assert listed(other, q="parcel") == []
    assert_error(owner.get("/api/v1/conversations",
                           params={"q": "x" * 201}), 400, "INVALID_QUERY")


# ---------------------------------------------------------------- contacts

def test_contacts_get_update_and_filters(server, fakes, admin_db):
    owner = signup(server.url)
    agent = add_member(server.url, owner)
    ch = whatsapp(owner, fakes)
    cv, number, _ = customer_writes(server, admin_db, owner, ch)
    cid = cv["contact"]["id"]
    r = owner.get(f"/api/v1/contacts/{cid}")
    assert r.status_code == 200
    ct = r.json()
    assert ct["external_id"] == number and ct["display_name"] is None
    assert ct["tags"] == [] and ct["blocked"] is False
    assert ct["pinned"] is False

    r = agent.patch(f"/api/v1/contacts/{cid}", {
        "display_name": "  Big Customer ", "tags": ["vip", "b2b", "vip"],
        "pinned": True})
    assert r.status_code == 200, r.text
    ct = r.json()
    assert ct["display_name"] == "Big Customer"
    assert ct["tags"] == ["b2b", "vip"] and ct["pinned"] is True
    assert ct["name"] == "Test User"        # the provider's, unchanged
    # Fields left out stay; null display_name clears it.
    ct = agent.patch(f"/api/v1/contacts/{cid}", {"display_name": None}).json()
    assert ct["display_name"] is None and ct["tags"] == ["b2b", "vip"]
    assert conv(owner, cv["id"])["contact"]["tags"] == ["b2b", "vip"]

    other_cv, _, _ = customer_writes(server, admin_db, owner, ch)

    def ids(**q):
        return [c["id"] for c in owner.get("/api/v1/contacts",
                                           params=q).json()["data"]]
    assert ids(tag="vip") == [cid]
    assert ids(pinned="true") == [cid]
    assert other_cv["contact"]["id"] in ids(pinned="false")
    assert ids(q=number[-7:]) == [cid]
    assert ids(blocked="true") == []

    other = signup(server.url, org="Other")
    assert_error(other.get(f"/api/v1/contacts/{cid}"), 404, "NOT_FOUND")
    assert_error(other.patch(f"/api/v1/contacts/{cid}", {"pinned": False}),
                 404, "NOT_FOUND")


@pytest.mark.parametrize("body,field", [
    ({"display_name": ""}, "display_name"),
    ({"display_name": "x" * 201}, "display_name"),
    ({"tags": "vip"}, "tags"),
    ({"tags": [""]}, "tags"),
    ({"tags": [1]}, "tags"),
    ({"tags": ["t%d" % i for i in range(51)]}, "tags"),
    ({"blocked": "yes"}, "blocked"),
    ({"pinned": None}, "pinned"),
    ({"external_id": "1"}, "external_id"),
])
def test_contact_changes_are_checked(server, fakes, admin_db, body, field):
    owner = signup(server.url)
    ch = whatsapp(owner, fakes)
    cv, _, _ = customer_writes(server, admin_db, owner, ch)
    err = assert_error(owner.patch(f"/api/v1/contacts/{cv['contact']['id']}",
                                   body), 422, "VALIDATION_FAILED")
    assert field in err["details"]


def test_a_blocked_contact_is_kept_but_reopens_nothing(server, fakes,
                                                       admin_db):
    owner = signup(server.url)
    ch = whatsapp(owner, fakes)
    cv, number, _ = customer_writes(server, admin_db, owner, ch, "hi")
    cid = cv["contact"]["id"]
    patch(owner, cv["id"], {"status": "closed"})
    r = owner.patch(f"/api/v1/contacts/{cid}", {"blocked": True})
    assert r.json()["blocked"] is True
    # Saving the form again (blocked still true) is not a second block.
    r = owner.patch(f"/api/v1/contacts/{cid}",
                    {"blocked": True, "display_name": "Pest"})
    assert r.status_code == 200, r.text
    customer_writes(server, admin_db, owner, ch, "let me in", customer=number)
    after = conv(owner, cv["id"])
    assert after["status"] == "closed"
    thread = owner.get(f"/api/v1/conversations/{cv['id']}/messages").json()
    assert thread["data"][0]["text"] == "let me in"     # kept
    assert listed(owner, status="open", channel_id=ch["id"]) == []

    # A blocked contact with no conversation yet gets a closed one.
    blocked_new = "1555" + digits(7)
    with admin_db.cursor() as cur:
        cur.execute("INSERT INTO contacts (org_id, family, external_id, "
                    "blocked) VALUES (%s, 'whatsapp', %s, true)",
                    (owner.org_id, blocked_new))
    customer_writes(server, admin_db, owner, ch, "spam", customer=blocked_new)
    assert listed(owner, status="open", channel_id=ch["id"]) == []

    owner.patch(f"/api/v1/contacts/{cid}", {"blocked": False})
    customer_writes(server, admin_db, owner, ch, "sorry", customer=number)
    assert conv(owner, cv["id"])["status"] == "open"
    audit = [a["action"] for a in owner.get("/api/v1/audit-log").json()[
        "data"]]
    assert audit.count("contact_blocked") == 1
    assert audit.count("contact_unblocked") == 1


# ---------------------------------------------------------------- stats

def test_stats(server, fakes, admin_db):
    owner = signup(server.url)
    wa, fb = whatsapp(owner, fakes), messenger(owner, fakes)
    a, _, _ = customer_writes(server, admin_db, owner, wa, "q1")
    b, _, _ = customer_writes(server, admin_db, owner, wa, "q2")
    c, _, _ = customer_writes(server, admin_db, owner, fb, "q3")
    ids = [reply(owner, x["id"], text("answer")).json()["id"]
           for x in (a, a, b, c)]
    day = datetime.datetime.now(datetime.timezone.utc).date()
    yesterday = day - datetime.timedelta(days=1)
    with admin_db.cursor() as cur:
        # The customers asked at 10:00 yesterday; answers came after 60,
        # 120 and 600 seconds (a's second answer does not count).
        for conv_id, secs in ((a["id"], 60), (b["id"], 120),
                              (c["id"], 600)):
            cur.execute("UPDATE messages SET at = %s::date + time '10:00' "
                        "WHERE conversation_id = %s AND direction = 'in'",
                        (yesterday, conv_id))
            cur.execute("UPDATE messages SET at = %s::date + time '10:00' + "
                        "%s * interval '1 second' WHERE conversation_id = %s "
                        "AND direction = 'out'", (yesterday, secs, conv_id))
        cur.execute("UPDATE messages SET status = 'read', "
                    "sent_at = now(), delivered_at = now(), read_at = now() "
                    "WHERE id = %s", (ids[0],))
        cur.execute("UPDATE messages SET status = 'delivered', "
                    "sent_at = now(), delivered_at = now() WHERE id = %s",
                    (ids[1],))
        cur.execute("UPDATE messages SET status = 'sent', sent_at = now() "
                    "WHERE id = %s", (ids[2],))
        cur.execute("UPDATE messages SET status = 'failed', "
                    "error_code = '131026', error_title = 'Undeliverable' "
                    "WHERE id = %s", (ids[3],))
    r = owner.get("/api/v1/stats", params={"from": str(yesterday),
                                           "to": str(day)})
    assert r.status_code == 200, r.text
    s = r.json()
    assert s["from"] == str(yesterday) and s["to"] == str(day)
    per = {(d["day"], d["channel_id"]): (d["in"], d["out"])
           for d in s["per_day"]}
    assert per == {(str(yesterday), wa["id"]): (2, 3),
                   (str(yesterday), fb["id"]): (1, 1)}
    assert s["delivery"] == {"sent": 3, "delivered": 2, "read": 1,
                             "failed": 1, "queued": 0,
                             "delivery_rate": 0.6667, "read_rate": 0.3333}
    assert s["failures"] == [{"code": "131026", "title": "Undeliverable",
                              "count": 1}]
    assert s["first_response"] == {"median_seconds": 120.0, "answered": 3,
                                   "unanswered": 0}
    # One channel; a range without anything; the default range.
    one = owner.get("/api/v1/stats", params={
        "from": str(yesterday), "to": str(day), "channel_id": fb["id"]}).json()
    assert one["delivery"]["failed"] == 1 and one["delivery"]["sent"] == 0
    assert one["first_response"]["median_seconds"] == 600.0
    empty = owner.get("/api/v1/stats", params={"from": "2020-01-01",
                                               "to": "2020-01-31"}).json()
    assert empty["per_day"] == [] and empty["delivery"]["sent"] == 0
    assert empty["delivery"]["delivery_rate"] is None
    assert owner.get("/api/v1/stats").json()["to"] == str(day)
    other = signup(server.url, org="Other")
    assert other.get("/api/v1/stats", params={
        "from": str(yesterday)}).json()["per_day"] == []


@pytest.mark.parametrize("query", [
    {"from": "yesterday"}, {"from": "2025-02-30"},
    {"from": "2025-03-02", "to": "2025-03-01"},
    {"from": "2020-01-01", "to": "2025-01-01"}, {"channel_id": "x"}])
def test_stats_ranges_are_checked(server, query):
    owner = signup(server.url)
    assert_error(owner.get("/api/v1/stats", params=query), 400,
                 "INVALID_QUERY")
