"""Inbound webhooks, black box: real kore, real PostgreSQL, the fake
providers (tests/fakes), and payloads built, serialized and signed as Meta
and 360dialog send them (tests/fakes/webhooks.py).

Channels are connected through the API against the fakes, each test with
accounts of its own (random ids), so tests do not see each other's
deliveries. What the server stored is read back through the API
(conversations, messages, contacts) and, for the global journal that the
tenant API never shows, through admin_db.

The database outage (503, then the redelivery applies once) is in
test_webhooks_outage.py, against a cluster of its own.
"""
import datetime
import http.client
import json
import os
import random
import re
import select
import subprocess
import threading
import time
import uuid

import psycopg2
import pytest
import requests

from apiclient import assert_error, signup
import webhooks as wh

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
APP_SECRET = os.environ.get("META_APP_SECRET", "dev-app-secret")
VERIFY_TOKEN = os.environ.get("META_VERIFY_TOKEN", "dev-verify-token")


# ---------------------------------------------------------------- helpers

def digits(n=15):
    return str(random.randint(1, 9)) + "".join(
        random.choice("0123456789") for _ in range(n - 1))


def hook(server, adapter="meta"):
    return f"{server.url}/api/v1/webhooks/{adapter}"


def post(server, payload, secret=APP_SECRET, adapter="meta", headers=None):
    """Signed as Meta signs (secret=None: no signature)."""
    return wh.post(hook(server, adapter), payload, app_secret=secret,
                   headers=headers)


def connect(client, adapter, creds, name=None):
    r = client.post("/api/v1/channels", {
        "adapter": adapter, "name": name or adapter + " " + digits(4),
        "credentials": creds})
    assert r.status_code == 201, r.text
    return r.json()


def whatsapp(client, fakes, app_secret=None, pnid=None):
    """A fresh Cloud API number at the fakes, connected by client; the
    channel, with ["pnid"]."""
    pnid = pnid or digits()
    waba, token = digits(), "EAAG-" + uuid.uuid4().hex
    fakes.add_whatsapp_number(pnid, waba, "1555" + digits(7), "Shop", token)
    creds = {"phone_number_id": pnid, "business_account_id": waba,
             "access_token": token}
    if app_secret:
        creds["app_secret"] = app_secret
    ch = connect(client, "whatsapp_cloud", creds)
    ch["pnid"] = pnid
    return ch


def messenger(client, fakes):
    page, token = digits(), "EAAG-page-" + uuid.uuid4().hex
    fakes.add_page(page, "Page " + page, token)
    ch = connect(client, "messenger", {"page_id": page,
                                       "page_access_token": token})
    ch["page"] = page
    return ch


def instagram(client, fakes):
    ig, token = "1784" + digits(13), "IGAA-" + uuid.uuid4().hex
    fakes.add_instagram_account(ig, "shop." + ig[-5:], token)
    ch = connect(client, "instagram", {"account_id": ig,
                                       "access_token": token})
    ch["ig"] = ig
    return ch


def d360(client, fakes):
    """A 360dialog number, connected: the channel with ["pnid"] and
    ["webhook"] (the URL and secret header the server registered)."""
    key, pnid = "d360-" + uuid.uuid4().hex, digits()
    fakes.add_d360_channel(key, pnid, digits())
    ch = connect(client, "360dialog", {"api_key": key})
    ch["pnid"] = pnid
    ch["webhook"] = fakes.d360_webhook(key)
    assert ch["webhook"]["url"].endswith("/api/v1/webhooks/360dialog")
    return ch


def conversations(client, **query):
    r = client.get("/api/v1/conversations", params=query)
    assert r.status_code == 200, r.text
    return r.json()


def thread(client, conversation_id, **query):
    r = client.get(f"/api/v1/conversations/{conversation_id}/messages",
                   params=query)
    assert r.status_code == 200, r.text
    return r.json()["data"]


def every_page(client, path, limit):
    """Every item of a paginated list, page by page."""
    items, query = [], {"limit": limit}
    while True:
        r = client.get(path, params=query)
        assert r.status_code == 200, r.text
        items += r.json()["data"]
        assert len(r.json()["data"]) <= limit
        if r.json()["next_cursor"] is None:
            return items
        query["cursor"] = r.json()["next_cursor"]


def only_conversation(client, channel):
    data = conversations(client, channel_id=channel["id"])["data"]
    assert len(data) == 1, data
    return data[0]


def messages_of(client, channel):
    """Every message of the channel, oldest first (as each thread orders
    them: by the provider's time, then arrival)."""
    out = []
    for cv in conversations(client, channel_id=channel["id"])["data"]:
        out.extend(reversed(thread(client, cv["id"], limit=200)))
    return sorted(out, key=lambda m: m["at"])


def keys_journal(admin_db, routing_key):
    """[(delivery_id, outcome, result, error)] of a routing key."""
    with admin_db.cursor() as cur:
        cur.execute("SELECT delivery_id, outcome, result, error "
                    "FROM webhook_delivery_keys WHERE routing_key = %s "
                    "ORDER BY delivery_id", (routing_key,))
        return cur.fetchall()


def count(admin_db, sql, *args):
    with admin_db.cursor() as cur:
        cur.execute(sql, args)
        return cur.fetchone()[0]


def stored_anything(admin_db, marker):
    """Whether any delivery body or message holds marker."""
    return count(admin_db, "SELECT count(*) FROM webhook_deliveries "
                 "WHERE strpos(body, %s) > 0", marker) + count(
        admin_db, "SELECT count(*) FROM messages WHERE strpos(text, %s) > 0",
        marker) > 0


def outgoing(admin_db, channel, org_id, text="Our reply", pmid=None,
             contact=wh.USER_NUMBER):
    """A message as our sender leaves it (direction out, sent): the outbox
    is another issue, so it is written here. Returns its id."""
    with admin_db.cursor() as cur:
        cur.execute("""
            WITH ct AS (
                INSERT INTO contacts (org_id, family, external_id)
                VALUES (%(org)s, %(family)s, %(contact)s)
                ON CONFLICT (org_id, family, external_id)
                DO UPDATE SET updated_at = now() RETURNING id),
            cv AS (
                INSERT INTO conversations (org_id, channel_id, contact_id)
                SELECT %(org)s, %(chan)s, id FROM ct
                ON CONFLICT (org_id, contact_id, channel_id)
                WHERE status = 'open' DO UPDATE SET updated_at = now()
                RETURNING id, contact_id)
            INSERT INTO messages (org_id, conversation_id, channel_id,
                contact_id, direction, sender, type, text,
                provider_message_id, status, sent_at, at)
            SELECT %(org)s, cv.id, %(chan)s, cv.contact_id, 'out', 'agent',
                'text', %(text)s, %(pmid)s,
                CASE WHEN %(pmid)s::text IS NULL THEN 'queued'
                    ELSE 'sent' END, now(), now() - interval '1 minute'
            FROM cv RETURNING id""", {
            "org": org_id, "family": channel["family"],
            "contact": contact, "chan": channel["id"], "text": text,
            "pmid": pmid})
        return str(cur.fetchone()[0])


def message_row(admin_db, message_id):
    with admin_db.cursor() as cur:
        cur.execute("SELECT status, provider_message_id, sent_at, "
                    "delivered_at, read_at, failed_at, error_code, "
                    "error_title FROM messages WHERE id = %s",
                    (message_id,))
        row = cur.fetchone()
    keys = ("status", "provider_message_id", "sent_at", "delivered_at",
            "read_at", "failed_at", "error_code", "error_title")
    return dict(zip(keys, row))


# ---------------------------------------------------------------- handshake

def test_handshake_answers_the_bare_challenge(server):
    status, body = wh.verify(hook(server), VERIFY_TOKEN, "1158201444")
    assert (status, body) == (200, b"1158201444")
    r = requests.get(hook(server), params={
        "hub.mode": "subscribe", "hub.verify_token": VERIFY_TOKEN,
        "hub.challenge": "42"})
    assert r.headers["content-type"].startswith("text/plain")
    assert r.headers["x-content-type-options"] == "nosniff"
    # Each Meta adapter's own path answers too.
    for adapter in ("whatsapp_cloud", "messenger", "instagram"):
        assert wh.verify(hook(server, adapter), VERIFY_TOKEN, "7") == \
            (200, b"7")


def test_handshake_refusals(server):
    assert wh.verify(hook(server), "wrong-token")[0] == 403
    assert wh.verify(hook(server), VERIFY_TOKEN + "x")[0] == 403
    assert wh.verify(hook(server), VERIFY_TOKEN, mode="unsubscribe")[0] \
        == 403
    r = requests.get(hook(server), params={"hub.challenge": "1"})
    assert_error(r, 403, "VERIFICATION_FAILED")
    r = requests.get(hook(server), params={
        "hub.mode": "subscribe", "hub.verify_token": VERIFY_TOKEN,
        "hub.challenge": "<script>alert(1)</script>"})
    assert_error(r, 400, "INVALID_CHALLENGE")
    # 360dialog registers by API call: no handshake.
    assert_error(requests.get(hook(server, "360dialog")), 405,
                 "METHOD_NOT_ALLOWED")
    assert_error(requests.get(hook(server, "nosuchadapter")), 404,
                 "NOT_FOUND")
    assert_error(requests.get(hook(server, "Bad-Name")), 404, "NOT_FOUND")
    assert_error(requests.put(hook(server), data=b"{}"), 405,
                 "METHOD_NOT_ALLOWED")


# ---------------------------------------------------------------- WhatsApp

def test_whatsapp_text_lands_in_the_owning_organization(server, fakes,
                                                          admin_db):
    owner = signup(server.url)
    ch = whatsapp(owner, fakes)
    msg = wh.whatsapp_text("h\u00e9llo/w\u00f6rld \U0001f600")
    status, _ = post(server, wh.whatsapp_payload(ch["pnid"],
                                                 messages=[msg]))
    assert status == 200

    cv = only_conversation(owner, ch)
    assert cv["status"] == "open"
    assert cv["channel"] == {"id": ch["id"], "adapter": "whatsapp_cloud",
                             "family": "whatsapp", "name": ch["name"]}
    assert cv["contact"]["external_id"] == wh.USER_NUMBER
    assert cv["contact"]["name"] == "Test User"
    assert cv["last_message"]["text"] == "h\u00e9llo/w\u00f6rld \U0001f600"
    [m] = thread(owner, cv["id"])
    assert m["direction"] == "in" and m["sender"] == "contact"
    assert m["type"] == "text" and m["status"] == "received"
    assert m["provider_message_id"] == msg["id"]      # "+", "/", "=" intact
    assert m["at"].startswith(
        datetime.datetime.utcfromtimestamp(
            int(msg["timestamp"])).strftime("%Y-%m-%dT%H:%M:%S"))
    contacts = owner.get("/api/v1/contacts").json()["data"]
    assert [c["external_id"] for c in contacts] == [wh.USER_NUMBER]

    [(_, outcome, result, error)] = keys_journal(admin_db, ch["pnid"])
    assert (outcome, result, error) == ("routed", {"message": 1}, None)


def test_every_message_type_is_stored(server, fakes):
    owner = signup(server.url)
    ch = whatsapp(owner, fakes)
    ours = wh.new_wamid()
    msgs = [
        wh.whatsapp_text("plain"),
        wh.whatsapp_media("image", media_id="111", caption="a cat"),
        wh.whatsapp_media("document", media_id="222", filename="a.pdf"),
        wh.whatsapp_media("audio", media_id="333", voice=True),
        wh.whatsapp_media("video", media_id="444"),
        wh.whatsapp_media("sticker", media_id="555"),
        wh.whatsapp_location(52.52, 13.405, name="Berlin", address="Mitte"),
        wh.whatsapp_contacts_card("Jane Doe"),
        wh.whatsapp_button_reply("yes_1", "Yes", ours),
        wh.whatsapp_list_reply("row_2", "Row two", ours, "second"),
        wh.whatsapp_template_button("STOP", "Stop promotions", ours),
        wh.whatsapp_reaction(ours, "\u2764\ufe0f"),
        wh.whatsapp_reaction(ours, ""),
        wh.whatsapp_unsupported(),
    ]
    assert post(server, wh.whatsapp_payload(ch["pnid"],
                                            messages=msgs))[0] == 200
    got = {m["provider_message_id"]: m for m in messages_of(owner, ch)}
    assert len(got) == len(msgs)
    by = [got[m["id"]] for m in msgs]
    assert [m["type"] for m in by] == [
        "text", "image", "document", "audio", "video", "sticker",
        "location", "contacts", "interactive", "interactive", "button",
        "reaction", "reaction", "unsupported"]
    image = by[1]
    assert image["content"]["media_id"] == "111"
    assert image["content"]["mime_type"] == "image/jpeg"
    assert image["text"] == "a cat"
    assert by[2]["content"]["filename"] == "a.pdf"
    assert by[3]["content"]["voice"] is True
    assert by[6]["content"]["latitude"] == 52.52
    assert by[6]["content"]["name"] == "Berlin"
    assert by[7]["content"]["contacts"][0]["name"]["formatted_name"] == \
        "Jane Doe"
    assert by[8]["content"]["id"] == "yes_1" and by[8]["reply_to"] == ours
    assert by[9]["content"]["reply_type"] == "list_reply"
    assert by[10]["content"]["payload"] == "STOP"
    assert by[11]["content"] == {"target_message_id": ours,
                                 "emoji": "\u2764\ufe0f", "action": "react"}
    assert by[12]["content"]["action"] == "unreact"
    assert by[13]["content"]["error_code"] == "131051"


def test_a_batch_for_two_organizations_lands_in_each(server, fakes):
    alice, bob = signup(server.url), signup(server.url)
    a, b = whatsapp(alice, fakes), whatsapp(bob, fakes)
    pa = wh.whatsapp_payload(a["pnid"], messages=[
        wh.whatsapp_text("for alice", sender="15550000001")])
    pb = wh.whatsapp_payload(b["pnid"], messages=[
        wh.whatsapp_text("for bob 1", sender="15550000002"),
        wh.whatsapp_text("for bob 2", sender="15550000002")])
    assert post(server, wh.merge(pa, pb))[0] == 200

    assert [m["text"] for m in messages_of(alice, a)] == ["for alice"]
    assert sorted(m["text"] for m in messages_of(bob, b)) == [
        "for bob 1", "for bob 2"]
    # Neither sees the other's conversations, by list or by id.
    assert conversations(alice)["data"][0]["channel"]["id"] == a["id"]
    assert len(conversations(alice)["data"]) == 1
    cv_b = only_conversation(bob, b)
    assert_error(alice.get(f"/api/v1/conversations/{cv_b['id']}"), 404,
                 "NOT_FOUND")
    assert_error(alice.get(f"/api/v1/conversations/{cv_b['id']}/messages"),
                 404, "NOT_FOUND")
    assert [c["external_id"] for c in
            alice.get("/api/v1/contacts").json()["data"]] == ["15550000001"]


def test_two_numbers_of_one_waba_in_two_organizations(server, fakes):
    """Routing is by phone_number_id, never by the WABA id."""
    alice, bob = signup(server.url), signup(server.url)
    a, b = whatsapp(alice, fakes), whatsapp(bob, fakes)
    waba = digits()
    pa = wh.whatsapp_payload(a["pnid"], waba_id=waba,
                             messages=[wh.whatsapp_text("one")])
    pb = wh.whatsapp_payload(b["pnid"], waba_id=waba,
                             messages=[wh.whatsapp_text("two")])
    payload = {"object": "whatsapp_business_account", "entry": [
        {"id": waba, "changes": pa["entry"][0]["changes"] +
         pb["entry"][0]["changes"]}]}
    assert post(server, payload)[0] == 200
    assert [m["text"] for m in messages_of(alice, a)] == ["one"]
    assert [m["text"] for m in messages_of(bob, b)] == ["two"]


# ---------------------------------------------------------------- exactly once

def test_redelivered_and_rebatched_events_change_nothing(server, fakes,
                                                          admin_db):
    owner = signup(server.url)
    ch = whatsapp(owner, fakes)
    m1, m2 = wh.whatsapp_text("first"), wh.whatsapp_text("second")
    payload = wh.whatsapp_payload(ch["pnid"], messages=[m1])
    assert post(server, payload)[0] == 200
    cv = only_conversation(owner, ch)
    assert post(server, payload)[0] == 200
    # Re-batched: the old message again, with a new one, twice in a body.
    again = wh.whatsapp_payload(ch["pnid"], messages=[m2, m1, m2])
    assert post(server, again)[0] == 200
    assert sorted(m["text"] for m in messages_of(owner, ch)) == [
        "first", "second"]
    after = only_conversation(owner, ch)
    assert after["id"] == cv["id"]
    outcomes = [(o, r) for _, o, r, _ in keys_journal(admin_db, ch["pnid"])]
    assert outcomes == [("routed", {"message": 1}),
                        ("routed", {"duplicate": 1}),
                        ("routed", {"message": 1, "duplicate": 1})]


def test_concurrent_duplicate_deliveries_insert_one_row(server, fakes,
                                                         admin_db):
    owner = signup(server.url)
    ch = whatsapp(owner, fakes)
    # A new contact too: the contact and conversation upserts race as well.
    payload = wh.whatsapp_payload(ch["pnid"], messages=[
        wh.whatsapp_text("once", sender=digits(11)),
        wh.whatsapp_text("twice?", sender=digits(11))])
    body = wh.meta_json(payload)
    statuses = []

    def deliver():
        statuses.append(post(server, body)[0])

    threads = [threading.Thread(target=deliver) for _ in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert statuses == [200] * 12
    assert sorted(m["text"] for m in messages_of(owner, ch)) == [
        "once", "twice?"]
    assert count(admin_db, "SELECT count(*) FROM contacts WHERE org_id = %s",
                 owner.org_id) == 2
    assert count(admin_db, "SELECT count(*) FROM conversations "
                 "WHERE org_id = %s", owner.org_id) == 2
    assert [o for _, o, _, _ in keys_journal(admin_db, ch["pnid"])] == \
        ["routed"] * 12


# ---------------------------------------------------------------- statuses

def test_statuses_only_move_forward(server, fakes, admin_db):
    owner = signup(server.url)
    ch = whatsapp(owner, fakes)
    wamid = wh.new_wamid()
    mid = outgoing(admin_db, ch, owner.org_id, pmid=wamid)

    def status(s, ts, **kw):
        assert post(server, wh.whatsapp_payload(ch["pnid"], statuses=[
            wh.whatsapp_status(wamid, s, timestamp=str(ts), **kw)]))[0] \
            == 200
        return message_row(admin_db, mid)

    base = int(time.time())
    assert status("delivered", base + 1)["status"] == "delivered"
    row = status("read", base + 2)
    assert row["status"] == "read"
    assert row["read_at"].timestamp() == base + 2
    # Late, out of order: nothing changes.
    assert status("delivered", base + 3) == row
    assert status("sent", base + 4) == row
    # The thread shows the status and its times.
    [m] = thread(owner, only_conversation(owner, ch)["id"])
    assert m["status"] == "read" and m["direction"] == "out"
    assert m["delivered_at"] is not None and m["read_at"] is not None


def test_failed_keeps_the_provider_error(server, fakes, admin_db):
    owner = signup(server.url)
    ch = whatsapp(owner, fakes)
    wamid = wh.new_wamid()
    mid = outgoing(admin_db, ch, owner.org_id, pmid=wamid)
    assert post(server, wh.whatsapp_payload(ch["pnid"], statuses=[
        wh.whatsapp_status(wamid, "sent"),
        wh.whatsapp_status(wamid, "failed")]))[0] == 200
    row = message_row(admin_db, mid)
    assert row["status"] == "failed"
    assert row["error_code"] == "131047"
    assert row["error_title"] == "Re-engagement message"
    assert row["failed_at"] is not None
    # Failed is final.
    assert post(server, wh.whatsapp_payload(ch["pnid"], statuses=[
        wh.whatsapp_status(wamid, "delivered")]))[0] == 200
    assert message_row(admin_db, mid) == row
    [m] = thread(owner, only_conversation(owner, ch)["id"])
    assert m["error"] == {"code": "131047", "title": "Re-engagement message"}


def test_status_before_our_send_recorded_the_id(server, fakes, admin_db):
    """biz_opaque_callback_data carries our message id (client_ref)."""
    owner = signup(server.url)
    ch = whatsapp(owner, fakes)
    mid = outgoing(admin_db, ch, owner.org_id, pmid=None)
    wamid = wh.new_wamid()
    assert post(server, wh.whatsapp_payload(ch["pnid"], statuses=[
        wh.whatsapp_status(wamid, "sent", biz_opaque_callback_data=mid)]))[0] \
        == 200
    row = message_row(admin_db, mid)
    assert (row["status"], row["provider_message_id"]) == ("sent", wamid)


def test_status_of_a_message_we_never_sent_is_journaled(server, fakes,
                                                         admin_db):
    owner = signup(server.url)
    ch = whatsapp(owner, fakes)
    wamid = wh.new_wamid()
    assert post(server, wh.whatsapp_payload(ch["pnid"], statuses=[
        wh.whatsapp_status(wamid, "delivered")]))[0] == 200
    [(_, outcome, result, _)] = keys_journal(admin_db, ch["pnid"])
    assert outcome == "routed"
    assert result == {"status_unknown": 1, "unknown_messages": [wamid]}
    assert conversations(owner)["data"] == []


def test_messenger_watermarks(server, fakes, admin_db):
    owner = signup(server.url)
    ch = messenger(owner, fakes)
    psid = digits(16)
    mid = outgoing(admin_db, ch, owner.org_id, pmid=wh.new_mid(),
                   contact=psid)
    assert post(server, wh.messenger_payload(
        ch["page"], wh.delivery_event(ch["page"], psid)))[0] == 200
    assert message_row(admin_db, mid)["status"] == "delivered"
    assert post(server, wh.messenger_payload(
        ch["page"], wh.messenger_read_event(ch["page"], psid)))[0] == 200
    assert message_row(admin_db, mid)["status"] == "read"
    assert post(server, wh.messenger_payload(
        ch["page"], wh.delivery_event(ch["page"], psid)))[0] == 200
    assert message_row(admin_db, mid)["status"] == "read"


# ---------------------------------------------------------------- echoes

def test_echo_of_our_own_send_is_not_a_customer_message(server, fakes,
                                                        admin_db):
    owner = signup(server.url)
    ch = messenger(owner, fakes)
    psid = digits(16)
    mid = outgoing(admin_db, ch, owner.org_id, pmid=None, contact=psid)
    echo_mid = wh.new_mid()
    echo = wh.echo_event(ch["page"], psid, "Our reply", metadata=mid,
                         mid=echo_mid)
    assert post(server, wh.messenger_payload(ch["page"], echo))[0] == 200
    msgs = messages_of(owner, ch)
    assert len(msgs) == 1
    assert msgs[0]["id"] == mid and msgs[0]["direction"] == "out"
    assert msgs[0]["provider_message_id"] == echo_mid
    # Its redelivery, and an echo naming a provider id we have: nothing.
    assert post(server, wh.messenger_payload(ch["page"], echo))[0] == 200
    assert post(server, wh.messenger_payload(ch["page"], wh.echo_event(
        ch["page"], psid, "Our reply", mid=echo_mid)))[0] == 200
    assert len(messages_of(owner, ch)) == 1


def test_echo_from_the_providers_app_is_recorded_as_outgoing(server, fakes):
    owner = signup(server.url)
    ch = messenger(owner, fakes)
    psid = digits(16)
    assert post(server, wh.messenger_payload(ch["page"], wh.message_event(
        ch["page"], psid, "hello page")))[0] == 200
    echo = wh.echo_event(ch["page"], psid, "typed in Meta's inbox",
                         app_id=None)
    assert post(server, wh.messenger_payload(ch["page"], echo))[0] == 200
    msgs = messages_of(owner, ch)
    assert [(m["direction"], m["sender"], m["text"]) for m in msgs] == [
        ("in", "contact", "hello page"),
        ("out", "provider_app", "typed in Meta's inbox")]
    assert len({m["conversation_id"] for m in msgs}) == 1
    # The contact is the customer, not the Page.
    assert [c["external_id"] for c in
            owner.get("/api/v1/contacts").json()["data"]] == [psid]


# ---------------------------------------------------------------- Messenger, Instagram

def test_messenger_and_instagram_events(server, fakes):
    owner = signup(server.url)
    page, ig = messenger(owner, fakes), instagram(owner, fakes)
    psid, igsid = digits(16), digits(16)
    first = wh.new_mid()
    pm = wh.messenger_payload(
        page["page"],
        wh.message_event(page["page"], psid, "hi", mid=first),
        wh.postback_event(page["page"], psid, "Get started", "START"),
        wh.reaction_event(page["page"], psid, first),
        wh.message_event(page["page"], psid, attachments=[
            wh.attachment("image", "https://cdn.example/x.jpg")]))
    pi = wh.instagram_payload(
        ig["ig"],
        wh.story_reply_event(ig["ig"], igsid, "nice story",
                             "https://cdn.example/story", "story-1"),
        wh.message_event(ig["ig"], igsid, attachments=[
            wh.attachment("story_mention", "https://cdn.example/m")]))
    # One URL for both objects: each payload goes to its adapter.
    assert post(server, pm)[0] == 200
    assert post(server, pi)[0] == 200
    assert sorted(m["type"] for m in messages_of(owner, page)) == [
        "image", "postback", "reaction", "text"]
    types = sorted(m["type"] for m in messages_of(owner, ig))
    assert types == ["story_mention", "story_reply"]
    # Filters: by adapter, by channel.
    assert {c["channel"]["adapter"] for c in
            conversations(owner, adapter="instagram")["data"]} == \
        {"instagram"}
    assert len(conversations(owner)["data"]) == 2


def test_instagram_unsend_marks_the_message_deleted(server, fakes):
    owner = signup(server.url)
    ch = instagram(owner, fakes)
    igsid, mid = digits(16), "aWdf" + uuid.uuid4().hex
    assert post(server, wh.instagram_payload(ch["ig"], wh.message_event(
        ch["ig"], igsid, "oops", mid=mid)))[0] == 200
    unsend = wh.event(ch["ig"], igsid, "message",
                      {"mid": mid, "is_deleted": True})
    for _ in range(2):
        assert post(server, wh.instagram_payload(ch["ig"], unsend))[0] == 200
    msgs = messages_of(owner, ch)
    assert [(m["type"], m["text"]) for m in msgs] == [
        ("text", "oops"), ("deleted", None)]
    assert msgs[0]["deleted_at"] is not None
    assert msgs[1]["content"] == {"target_message_id": mid}


def test_meta_adapter_paths_take_their_own_object(server, fakes):
    owner = signup(server.url)
    ch = messenger(owner, fakes)
    payload = wh.messenger_payload(ch["page"], wh.message_event(
        ch["page"], digits(16), "via /messenger"))
    assert post(server, payload, adapter="messenger")[0] == 200
    assert [m["text"] for m in messages_of(owner, ch)] == ["via /messenger"]


# ---------------------------------------------------------------- contacts, conversations

def test_contact_by_business_scoped_user_id(server, fakes):
    owner = signup(server.url)
    ch = whatsapp(owner, fakes)
    bsuid = "US." + digits(20)
    phone = digits(11)
    # Number and BSUID, then (username adopted) the BSUID alone.
    assert post(server, wh.whatsapp_payload(ch["pnid"], messages=[
        wh.whatsapp_text("with number", sender=phone,
                         from_user_id=bsuid)]))[0] == 200
    assert post(server, wh.whatsapp_payload(ch["pnid"], messages=[
        wh.whatsapp_text("username only", sender=None,
                         from_user_id=bsuid)]))[0] == 200
    contacts = owner.get("/api/v1/contacts").json()["data"]
    assert len(contacts) == 1
    assert (contacts[0]["external_id"], contacts[0]["user_id"]) == \
        (phone, bsuid)
    assert len(messages_of(owner, ch)) == 2

    # BSUID first, the number later: still one contact, keyed by number.
    bsuid2 = "US." + digits(20)
    phone2 = digits(11)
    for m in (wh.whatsapp_text("a", sender=None, from_user_id=bsuid2),
              wh.whatsapp_text("b", sender=phone2, from_user_id=bsuid2)):
        assert post(server, wh.whatsapp_payload(ch["pnid"],
                                                messages=[m]))[0] == 200
    contacts = owner.get("/api/v1/contacts").json()["data"]
    assert len(contacts) == 2
    assert (contacts[0]["external_id"], contacts[0]["user_id"]) == \
        (phone2, bsuid2)


def test_a_new_inbound_message_reopens_the_conversation(server, fakes,
                                                        admin_db):
    owner = signup(server.url)
    ch = whatsapp(owner, fakes)
    assert post(server, wh.whatsapp_payload(ch["pnid"], messages=[
        wh.whatsapp_text("one")]))[0] == 200
    cv = only_conversation(owner, ch)
    with admin_db.cursor() as cur:
        cur.execute("UPDATE conversations SET status = 'closed', "
                    "closed_at = now() WHERE id = %s", (cv["id"],))
    assert conversations(owner, status="closed")["data"][0]["id"] == cv["id"]
    assert conversations(owner, status="open")["data"] == []
    assert post(server, wh.whatsapp_payload(ch["pnid"], messages=[
        wh.whatsapp_text("two")]))[0] == 200
    again = only_conversation(owner, ch)
    assert again["id"] == cv["id"] and again["status"] == "open"
    assert again["closed_at"] is None
    assert [m["text"] for m in thread(owner, cv["id"])] == ["two", "one"]


def test_pagination(server, fakes):
    owner = signup(server.url)
    ch = whatsapp(owner, fakes)
    base = int(time.time()) - 1000
    senders = [digits(11) for _ in range(5)]
    msgs = [wh.whatsapp_text(f"m{i}", sender=s, timestamp=str(base + i))
            for i, s in enumerate(senders)]
    msgs += [wh.whatsapp_text(f"x{i}", sender=senders[0],
                              timestamp=str(base + 10 + i))
             for i in range(5)]
    assert post(server, wh.whatsapp_payload(ch["pnid"],
                                            messages=msgs))[0] == 200
    seen = every_page(owner, "/api/v1/conversations", 2)
    assert len(seen) == 5
    assert [c["contact"]["external_id"] for c in seen] == [
        senders[0], senders[4], senders[3], senders[2], senders[1]]
    first = seen[0]["id"]
    texts = [m["text"] for m in every_page(
        owner, f"/api/v1/conversations/{first}/messages", 4)]
    assert texts == ["x4", "x3", "x2", "x1", "x0", "m0"]
    assert_error(owner.get("/api/v1/conversations",
                           params={"cursor": "nope"}), 400, "INVALID_QUERY")
    assert_error(owner.get("/api/v1/conversations",
                           params={"status": "snoozed"}), 400,
                 "INVALID_QUERY")
    assert_error(owner.get("/api/v1/conversations",
                           params={"channel_id": "x"}), 400, "INVALID_QUERY")
    assert_error(owner.get(f"/api/v1/conversations/{uuid.uuid4()}"), 404,
                 "NOT_FOUND")
    assert_error(requests.get(server.url + "/api/v1/conversations"), 401,
                 "UNAUTHENTICATED")


def test_live_notification_carries_org_and_ids(server, fakes, app_db_url):
    owner = signup(server.url)
    ch = whatsapp(owner, fakes)
    listener = psycopg2.connect(app_db_url)
    listener.autocommit = True
    try:
        with listener.cursor() as cur:
            cur.execute("LISTEN inbox_events")
        assert post(server, wh.whatsapp_payload(ch["pnid"], messages=[
            wh.whatsapp_text("ping")]))[0] == 200
        got = []
        deadline = time.time() + 5
        while time.time() < deadline and not got:
            select.select([listener], [], [], 0.5)
            listener.poll()
            while listener.notifies:
                n = json.loads(listener.notifies.pop(0).payload)
                if n["org_id"] == owner.org_id:
                    got.append(n)
        [n] = got
        cv = only_conversation(owner, ch)
        [m] = thread(owner, cv["id"])
        assert n == {"org_id": owner.org_id, "kind": "message",
                     "conversation_id": cv["id"], "message_id": m["id"],
                     "channel_id": ch["id"]}
    finally:
        listener.close()


# ---------------------------------------------------------------- authentication

def test_signature_missing_malformed_or_wrong_stores_nothing(server, fakes,
                                                             admin_db):
    owner = signup(server.url)
    ch = whatsapp(owner, fakes)
    marker = "marker-" + uuid.uuid4().hex
    body = wh.meta_json(wh.whatsapp_payload(ch["pnid"], messages=[
        wh.whatsapp_text(marker)]))
    good = wh.sign(body, APP_SECRET)
    url = hook(server)

    def send(sig, data=body):
        headers = {"Content-Type": "application/json"}
        if sig is not None:
            headers["X-Hub-Signature-256"] = sig
        return requests.post(url, data=data, headers=headers)

    assert_error(send(None), 401, "SIGNATURE_MISSING")
    # An empty header value is refused by kore itself (400).
    assert send("").status_code in (400, 401)
    for bad in ("sha256=", "sha256=" + "0" * 63, "sha256=" + "0" * 65,
                "sha1=" + good[7:47], "SHA256=" + good[7:],
                "sha256=" + good[7:-1] + "g", good + " ", "sha256 =" +
                good[7:], good + "," + good):
        assert send(bad).status_code == 401, bad
    assert_error(send("sha256=" + "0" * 64), 403, "SIGNATURE_INVALID")
    assert_error(send(wh.sign(body, "another-app-secret")), 403,
                 "SIGNATURE_INVALID")
    # Re-encoded: the same JSON in other bytes no longer matches.
    reencoded = json.dumps(json.loads(body), ensure_ascii=False,
                           indent=1).encode()
    assert_error(send(good, reencoded), 403, "SIGNATURE_INVALID")
    assert_error(send(good, body + b" "), 403, "SIGNATURE_INVALID")
    assert not stored_anything(admin_db, marker)
    assert keys_journal(admin_db, ch["pnid"]) == []
    # The very same bytes, correctly signed, go through.
    assert send(good).status_code == 200
    assert stored_anything(admin_db, marker)


def test_unescaped_utf8_body_verifies_through_the_escaped_form(server,
                                                               fakes):
    """Meta signs the \\uXXXX form (providers.md §1.2)."""
    owner = signup(server.url)
    ch = whatsapp(owner, fakes)
    escaped = wh.meta_json(wh.whatsapp_payload(ch["pnid"], messages=[
        wh.whatsapp_text("gr\u00fc\u00df dich")]))
    raw = escaped.decode().replace("\\u00fc", "\u00fc").replace(
        "\\u00df", "\u00df").encode()
    status, _ = wh.post(hook(server), raw, headers={
        "X-Hub-Signature-256": wh.sign(escaped, APP_SECRET)})
    assert status == 200
    assert [m["text"] for m in messages_of(owner, ch)] == [
        "gr\u00fc\u00df dich"]


def test_tenant_own_app_secret(server, fakes, admin_db):
    alice, bob = signup(server.url), signup(server.url)
    secret = uuid.uuid4().hex                      # 32 hex digits
    a = whatsapp(alice, fakes, app_secret=secret)
    b = whatsapp(bob, fakes)
    assert post(server, wh.whatsapp_payload(a["pnid"], messages=[
        wh.whatsapp_text("own app")]), secret=secret)[0] == 200
    assert [m["text"] for m in messages_of(alice, a)] == ["own app"]
    # Alice's secret does not let her write into Bob's number.
    both = wh.merge(
        wh.whatsapp_payload(a["pnid"], messages=[wh.whatsapp_text("mine")]),
        wh.whatsapp_payload(b["pnid"], messages=[wh.whatsapp_text("forged")]))
    assert post(server, both, secret=secret)[0] == 200
    assert sorted(m["text"] for m in messages_of(alice, a)) == [
        "mine", "own app"]
    assert messages_of(bob, b) == []
    [(_, outcome, _, _)] = keys_journal(admin_db, b["pnid"])
    assert outcome == "rejected"
    # Nobody's secret at all.
    assert post(server, wh.whatsapp_payload(a["pnid"], messages=[
        wh.whatsapp_text("x")]), secret=uuid.uuid4().hex)[0] == 403
    # The platform's secret still covers an own-app number.
    assert post(server, wh.whatsapp_payload(a["pnid"], messages=[
        wh.whatsapp_text("platform")]))[0] == 200
    assert len(messages_of(alice, a)) == 3


# ---------------------------------------------------------------- 360dialog

def test_360dialog_delivery_with_its_channel_secret(server, fakes,
                                                    admin_db):
    owner = signup(server.url)
    ch = d360(owner, fakes)
    msg = wh.whatsapp_text("via 360")
    status, _ = wh.post_d360(ch["webhook"], wh.whatsapp_payload(
        ch["pnid"], messages=[msg]))
    assert status == 200
    [m] = messages_of(owner, ch)
    assert (m["text"], m["provider_message_id"]) == ("via 360", msg["id"])
    # The secret never reaches the journal.
    secret = list(ch["webhook"]["headers"].values())[0]
    assert count(admin_db, "SELECT count(*) FROM webhook_deliveries "
                 "WHERE strpos(headers::text, %s) > 0", secret) == 0
    # No signature needed, none checked: a Meta signature is no substitute.
    status, _ = wh.post(hook(server, "360dialog"), wh.whatsapp_payload(
        ch["pnid"], messages=[wh.whatsapp_text("x")]), app_secret=APP_SECRET)
    assert status == 401


def test_360dialog_secret_refusals(server, fakes, admin_db):
    alice, bob = signup(server.url), signup(server.url)
    a, b = d360(alice, fakes), d360(bob, fakes)
    marker = "marker-" + uuid.uuid4().hex
    url = hook(server, "360dialog")

    def send(headers, pnid=None, data=None):
        body = data if data is not None else wh.meta_json(
            wh.whatsapp_payload(pnid or a["pnid"], messages=[
                wh.whatsapp_text(marker)]))
        return requests.post(url, data=body, headers=dict(
            {"Content-Type": "application/json"}, **headers))

    (name, secret), = a["webhook"]["headers"].items()
    assert_error(send({}), 401, "WEBHOOK_SECRET_MISSING")
    assert_error(send({name: "short"}), 401, "WEBHOOK_SECRET_MALFORMED")
    assert_error(send({name: secret[:-1] + "!"}), 401,
                 "WEBHOOK_SECRET_MALFORMED")
    wrong = secret[:-1] + ("A" if secret[-1] != "A" else "B")
    assert_error(send({name: wrong}), 403, "WEBHOOK_FORBIDDEN")
    # Alice's secret with Bob's number, alone or next to her own.
    assert_error(send({name: secret}, pnid=b["pnid"]), 403,
                 "WEBHOOK_FORBIDDEN")
    mixed = wh.meta_json(wh.merge(
        wh.whatsapp_payload(a["pnid"], messages=[wh.whatsapp_text(marker)]),
        wh.whatsapp_payload(b["pnid"], messages=[wh.whatsapp_text(marker)])))
    assert_error(send({name: secret}, data=mixed), 403, "WEBHOOK_FORBIDDEN")
    # An unknown number is not hers either.
    assert_error(send({name: secret}, pnid=digits()), 403,
                 "WEBHOOK_FORBIDDEN")
    # A body that does not parse: 400 only with a secret of ours.
    assert_error(send({name: secret}, data=b'{"object":'), 400,
                 "INVALID_JSON")
    assert_error(send({name: wrong}, data=b'{"object":'), 403,
                 "WEBHOOK_FORBIDDEN")
    assert not stored_anything(admin_db, marker)
    assert messages_of(bob, b) == [] and messages_of(alice, a) == []
    assert send({name: secret}).status_code == 200
    assert [m["text"] for m in messages_of(alice, a)] == [marker]


# ---------------------------------------------------------------- bodies

@pytest.mark.parametrize("body,reason", [
    (b'{"object":"whatsapp_business_account","entry":[', "truncated"),
    (b'{"object":"page","object":"instagram","entry":[]}', "duplicate"),
    (b'[{"object":"page"}]', "array root"),
    (b'"page"', "string root"),
    (b'{"object":"page","entry":[{"id":"\xff\xfe"}]}', "not UTF-8"),
    (b'{"object":"page","entry":[{"id":"\xed\xa0\x80"}]}', "surrogate"),
    (b'{"object":"page","x":' + b"[" * 5000 + b"]" * 5000 + b"}",
     "deep nesting"),
    (b"", "empty"),
    (b"\x00{}", "NUL"),
])
def test_malformed_bodies_are_400(server, body, reason):
    status, answer = post(server, body)
    if body == b"":
        # kore refuses a POST without a body itself (411).
        assert status in (400, 411), reason
        return
    assert status == 400, (reason, answer)
    assert json.loads(answer)["error_code"] == "INVALID_JSON"


def test_awkward_but_well_formed_bodies_are_2xx(server, fakes, admin_db):
    owner = signup(server.url)
    ch = whatsapp(owner, fakes)
    huge = "x" * (3 * 1024 * 1024)
    deep = {"a": []}
    cur = deep["a"]
    for _ in range(200):
        cur.append([])
        cur = cur[0]
    cases = [
        {"object": "something_else", "entry": [{"id": "1"}]},
        {"object": "whatsapp_business_account"},
        {"object": "whatsapp_business_account", "entry": "nope"},
        {"object": "whatsapp_business_account", "entry": [{"changes": [
            {"field": "messages", "value": {"messages": [
                {"id": "no metadata"}]}}]}]},
        {"no": "object"},
        dict(wh.whatsapp_payload(ch["pnid"]), deep=deep),
        wh.whatsapp_payload(ch["pnid"], messages=[wh.whatsapp_text(huge)]),
    ]
    for payload in cases:
        status, answer = post(server, payload)
        assert status == 200, (payload if len(str(payload)) < 300 else
                               "huge", answer)
    [m] = messages_of(owner, ch)
    assert m["text"] == huge[:len(m["text"])] and \
        count(admin_db, "SELECT length(text) FROM messages WHERE id = %s",
              m["id"]) == len(huge)


def test_oversized_body_is_413(server):
    body = b'{"object":"page","pad":"' + b"x" * (4 * 1024 * 1024) + b'"}'
    status, answer = post(server, body)
    assert status == 413
    assert json.loads(answer)["error_code"] == "PAYLOAD_TOO_LARGE"
    # Above kore's http_body_max (8 MiB) kore answers by itself as soon
    # as it sees Content-Length, and closes: still 413.
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    conn.putrequest("POST", "/api/v1/webhooks/meta")
    conn.putheader("Content-Type", "application/json")
    conn.putheader("Content-Length", str(9 * 1024 * 1024))
    conn.endheaders()
    assert conn.getresponse().status == 413
    conn.close()


def many(head, unit, tail, limit=4 * 1024 * 1024):
    """head, then unit (%-formatted with its index when it has a %) as
    often as fits in limit bytes with tail, comma-separated; and how
    often."""
    parts, n, i = [head], len(head) + len(tail), 0
    while True:
        u = (b"," if i else b"") + (unit % i if b"%" in unit else unit)
        if n + len(u) > limit:
            break
        parts.append(u)
        n += len(u)
        i += 1
    parts.append(tail)
    return b"".join(parts), i


@pytest.mark.parametrize("shape", ["numbers", "statuses"])
def test_bodies_of_many_small_values_up_to_the_limit_are_200(server, shape):
    # The most nodes, or the most events, a body within the limit can
    # hold: ~2 million one-digit numbers (~33 bytes of the plugin's parse
    # tree per byte of body), or ~50,000 minimal statuses (~23 bytes per
    # byte, with their events). Past the default arena of a plugin call
    # both; the webhook's call is sized from the body, so they parse and
    # are acknowledged (no 500, which providers would retry for days).
    wa = (b'{"object":"whatsapp_business_account","entry":[{"id":"1",'
          b'"changes":[{"field":"messages","value":{"messaging_product":'
          b'"whatsapp","metadata":{"phone_number_id":"%s"},"statuses":['
          % digits().encode())
    if shape == "numbers":
        body, n = many(b'{"object":"whatsapp_business_account","entry":[',
                       b"1", b"]}")
        events = 0
    else:
        body, n = many(wa, b'{"id":"wamid.%x","status":"read",'
                       b'"timestamp":"1700000000","recipient_id":"1"}',
                       b"]}}]}]}")
        events = n
    assert len(body) <= 4 * 1024 * 1024
    status, answer = post(server, body)
    assert status == 200, answer[:300]
    assert json.loads(answer)["events"] == events


def test_body_of_near_empty_events_is_413(server):
    # ~150,000 messages of an id and a sender: each becomes a full
    # normalized event, 12 bytes of events per byte of body, past what a
    # parse may hold. A clear 413 in the error shape, not a 500.
    head = (b'{"object":"whatsapp_business_account","entry":[{"id":"1",'
            b'"changes":[{"field":"messages","value":{"metadata":'
            b'{"phone_number_id":"%s"},"messages":[' % digits().encode())
    body, _ = many(head, b'{"id":"%x","from":"1"}', b"]}}]}]}")
    status, answer = post(server, body)
    assert status == 413, answer[:300]
    assert json.loads(answer)["error_code"] == "PAYLOAD_TOO_LARGE"
    # The worker is fine: the next delivery is taken.
    status, _ = post(server, {"object": "whatsapp_business_account",
                              "entry": []})
    assert status == 200


def test_wide_bodies_are_parsed_in_linear_time(server):
    # Signed bodies whose look-ups were quadratic in the plugin: 100,000
    # keys beside messages[] (each message looked value's members up
    # again), and 20,000 contacts beside 20,000 messages (each message
    # scanned every contact): seconds of a worker each.
    pad = b"".join(b',"k%d":1' % i for i in range(100000))
    contacts = b",".join(b'{"wa_id":"x%d"}' % i for i in range(20000))
    for extra in (pad, b',"contacts":[' + contacts + b"]"):
        head = (b'{"object":"whatsapp_business_account","entry":[{"id":"1",'
                b'"changes":[{"field":"messages","value":{"metadata":'
                b'{"phone_number_id":"%s"}' % digits().encode() + extra +
                b',"messages":[')
        body, n = many(head, b'{"id":"m%x","from":"1","timestamp":"1",'
                       b'"type":"text","text":{"body":"a"}}', b"]}}]}]}",
                       limit=3 * 1024 * 1024)
        started = time.monotonic()
        status, answer = post(server, body)
        assert status == 200, answer[:300]
        assert json.loads(answer)["events"] == n
        assert time.monotonic() - started < 5


# ---------------------------------------------------------------- replay

def inboxctl(*args):
    env = dict(os.environ)
    return subprocess.run([os.path.join(ROOT, "app/inboxctl"), *args],
                          env=env, capture_output=True, text=True,
                          timeout=60)


def test_unrouted_then_connected_then_replayed_once(server, fakes,
                                                    admin_db):
    owner = signup(server.url)
    pnid = digits()
    msg = wh.whatsapp_text("before connecting")
    assert post(server, wh.whatsapp_payload(pnid, messages=[msg]))[0] == 200
    [(delivery, outcome, _, _)] = keys_journal(admin_db, pnid)
    assert outcome == "unrouted"

    r = inboxctl("replay-webhooks", "--list")
    assert r.returncode == 0, r.stderr
    assert re.search(rf"\b{delivery}\b.*\b{pnid}\b.*unrouted", r.stdout), \
        r.stdout

    ch = whatsapp(owner, fakes, pnid=pnid)
    assert messages_of(owner, ch) == []
    r = inboxctl("replay-webhooks", "--routing-key", pnid)
    assert r.returncode == 0, r.stderr
    assert "routed" in r.stdout
    [m] = messages_of(owner, ch)
    assert m["provider_message_id"] == msg["id"]
    [(_, outcome, result, _)] = keys_journal(admin_db, pnid)
    assert (outcome, result) == ("routed", {"message": 1})
    # Again, and the live redelivery: still once.
    assert inboxctl("replay-webhooks", "--routing-key",
                    pnid).returncode == 0
    assert post(server, wh.whatsapp_payload(pnid, messages=[msg]))[0] == 200
    assert len(messages_of(owner, ch)) == 1


def test_failed_key_is_journaled_and_replayable(server, fakes, admin_db):
    """One key failing to apply neither loses the delivery nor holds
    back the other keys."""
    alice, bob = signup(server.url), signup(server.url)
    a, b = whatsapp(alice, fakes), whatsapp(bob, fakes)
    # Make Bob's key fail: a message type our schema refuses.
    bad = wh.whatsapp_text("boom")
    payload = wh.merge(
        wh.whatsapp_payload(a["pnid"], messages=[wh.whatsapp_text("fine")]),
        wh.whatsapp_payload(b["pnid"], messages=[bad]))
    with admin_db.cursor() as cur:
        cur.execute("ALTER TABLE messages ADD CONSTRAINT test_no_boom_"
                    + bob.org_id.replace("-", "") +
                    " CHECK (org_id <> %s OR text <> 'boom')", (bob.org_id,))
    try:
        assert post(server, payload)[0] == 200
    finally:
        with admin_db.cursor() as cur:
            cur.execute("ALTER TABLE messages DROP CONSTRAINT test_no_boom_"
                        + bob.org_id.replace("-", ""))
    assert [m["text"] for m in messages_of(alice, a)] == ["fine"]
    assert messages_of(bob, b) == []
    [(delivery, outcome, _, error)] = keys_journal(admin_db, b["pnid"])
    assert outcome == "failed" and "23514" in error
    r = inboxctl("replay-webhooks", "--delivery", str(delivery))
    assert r.returncode == 0, r.stderr
    assert [m["text"] for m in messages_of(bob, b)] == ["boom"]
    assert [m["text"] for m in messages_of(alice, a)] == ["fine"]
    [(_, outcome, _, _)] = keys_journal(admin_db, b["pnid"])
    assert outcome == "routed"


def test_deleting_a_channel_deletes_its_conversations(server, fakes,
                                                      admin_db):
    owner = signup(server.url)
    ch = whatsapp(owner, fakes)
    assert post(server, wh.whatsapp_payload(ch["pnid"], messages=[
        wh.whatsapp_text("hello")]))[0] == 200
    cv = only_conversation(owner, ch)
    # Disconnected: the account's events wait, unrouted.
    assert owner.post(f"/api/v1/channels/{ch['id']}/disconnect").status_code \
        == 200
    assert post(server, wh.whatsapp_payload(ch["pnid"], messages=[
        wh.whatsapp_text("while disconnected")]))[0] == 200
    assert keys_journal(admin_db, ch["pnid"])[-1][1] == "unrouted"
    assert len(thread(owner, cv["id"])) == 1
    assert owner.delete(f"/api/v1/channels/{ch['id']}").status_code == 204
    assert_error(owner.get(f"/api/v1/conversations/{cv['id']}"), 404,
                 "NOT_FOUND")
    assert count(admin_db, "SELECT count(*) FROM messages WHERE org_id = %s",
                 owner.org_id) == 0
