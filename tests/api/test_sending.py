"""Sending, the API half: POST /conversations/{id}/messages (a reply) and
POST /messages (a new conversation) queue a message and answer 202, or
refuse before anything is queued. Black box against a real kore, the
real PostgreSQL and the fake providers; no dispatcher runs here, so what
the API queued stays queued (test_dispatcher*.py sends).

Covered: each message type accepted where the channel's plugin can send
it and a clear 422 where it cannot, malformed bodies, the order of
answers (401, 404, 422), Idempotency-Key (a retry, a different body,
concurrent identical calls), the 24-hour customer-care window, channels
that are not connected, reply_to and reactions naming our own ids, and
tenancy (another organization's conversation or channel is a 404).

Each test makes its own organizations, provider accounts and customers,
so tests do not see each other's messages.
"""
import datetime
import random
import threading
import uuid

import pytest

from apiclient import add_member, assert_error, new_token, signup, Client
import webhooks as wh
from test_webhooks import APP_SECRET, connect, hook

ADAPTERS = ("whatsapp_cloud", "360dialog", "messenger", "instagram",
            "example")


def digits(n=15):
    return str(random.randint(1, 9)) + "".join(
        random.choice("0123456789") for _ in range(n - 1))


# ---------------------------------------------------------------- helpers

# Channels at the fakes, each with accounts of its own; the channel as
# the API returned it, plus the account's ids and its secret ("token",
# or "key" for 360dialog), so tests can check what the provider got.

def whatsapp(client, fakes):
    pnid, waba, token = digits(), digits(), "EAAG-" + uuid.uuid4().hex
    fakes.add_whatsapp_number(pnid, waba, "1555" + digits(7), "Shop", token)
    ch = connect(client, "whatsapp_cloud", {
        "phone_number_id": pnid, "business_account_id": waba,
        "access_token": token})
    ch.update(pnid=pnid, waba=waba, token=token)
    return ch


def d360(client, fakes):
    key, pnid = "d360-" + uuid.uuid4().hex, digits()
    fakes.add_d360_channel(key, pnid, digits())
    ch = connect(client, "360dialog", {"api_key": key})
    ch.update(pnid=pnid, key=key, webhook=fakes.d360_webhook(key))
    return ch


def messenger(client, fakes):
    page, token = digits(), "EAAG-page-" + uuid.uuid4().hex
    fakes.add_page(page, "Page " + page, token)
    ch = connect(client, "messenger", {"page_id": page,
                                       "page_access_token": token})
    ch.update(page=page, token=token)
    return ch


def instagram(client, fakes):
    ig, token = "1784" + digits(13), "IGAA-" + uuid.uuid4().hex
    fakes.add_instagram_account(ig, "shop." + ig[-5:], token)
    ch = connect(client, "instagram", {"account_id": ig,
                                       "access_token": token})
    ch.update(ig=ig, token=token)
    return ch


def example_channel(client, fakes):
    account, token = digits(9), "ex-" + uuid.uuid4().hex
    fakes.add_example_account(account, token, name="Shop " + account)
    ch = connect(client, "example", {"account_id": account, "token": token})
    ch.update(account=account, token=token)
    return ch


def channel_of(client, fakes, adapter):
    """A fresh provider account at the fakes, connected by client."""
    return {"whatsapp_cloud": whatsapp, "360dialog": d360,
            "messenger": messenger, "instagram": instagram,
            "example": example_channel}[adapter](client, fakes)


def customer_writes(server, admin_db, client, ch, text="Hello?",
                    customer=None):
    """A customer's message into ch, the way the provider delivers it (a
    signed webhook; the example adapter, which has no webhook secret to
    sign with here, is written to the database). Returns (conversation,
    customer id, the inbound message)."""
    adapter = ch["adapter"]
    if adapter in ("whatsapp_cloud", "360dialog"):
        customer = customer or "1555" + digits(7)
        payload = wh.whatsapp_payload(ch["pnid"], messages=[
            wh.whatsapp_text(text, sender=customer)])
        if adapter == "360dialog":
            status, _ = wh.post_d360(ch["webhook"], payload)
        else:
            status, _ = wh.post(hook(server), payload, app_secret=APP_SECRET)
        assert status == 200
    elif adapter in ("messenger", "instagram"):
        customer = customer or digits(16)
        acct = ch["page"] if adapter == "messenger" else ch["ig"]
        build = (wh.messenger_payload if adapter == "messenger"
                 else wh.instagram_payload)
        status, _ = wh.post(hook(server), build(acct, wh.message_event(
            acct, customer, text=text)), app_secret=APP_SECRET)
        assert status == 200
    else:
        customer = customer or "cust-" + digits(6)
        with admin_db.cursor() as cur:
            cur.execute("""
                WITH ct AS (INSERT INTO contacts (org_id, family, external_id)
                    VALUES (%(org)s, 'example', %(c)s)
                    ON CONFLICT (org_id, family, external_id)
                    DO UPDATE SET updated_at = now() RETURNING id),
                cv AS (INSERT INTO conversations (org_id, channel_id,
                    contact_id, last_inbound_at)
                    SELECT %(org)s, %(ch)s, id, now() FROM ct
                    ON CONFLICT (org_id, contact_id, channel_id)
                    WHERE status = 'open' DO UPDATE SET updated_at = now()
                    RETURNING id, contact_id)
                INSERT INTO messages (org_id, conversation_id, channel_id,
                    contact_id, direction, sender, type, text,
                    provider_message_id, status)
                SELECT %(org)s, cv.id, %(ch)s, cv.contact_id, 'in',
                    'contact', 'text', %(t)s, %(pmid)s, 'received' FROM cv
                """, {"org": client.org_id, "c": customer, "ch": ch["id"],
                      "t": text, "pmid": "ex-" + uuid.uuid4().hex})
    r = client.get("/api/v1/conversations", params={"channel_id": ch["id"]})
    assert r.status_code == 200, r.text
    [cv] = [c for c in r.json()["data"]
            if c["contact"]["external_id"] == customer]
    r = client.get(f"/api/v1/conversations/{cv['id']}/messages")
    inbound = [m for m in r.json()["data"] if m["direction"] == "in"][0]
    return cv, customer, inbound


def reply(client, cv_id, body, key=None, **kw):
    headers = {"Idempotency-Key": key} if key is not None else None
    return client.post(f"/api/v1/conversations/{cv_id}/messages", body,
                       headers=headers, **kw)


def text(body="Thanks, on it."):
    return {"type": "text", "text": {"body": body}}


def outbox_rows(admin_db, org_id):
    with admin_db.cursor() as cur:
        cur.execute("SELECT count(*) FROM outbox WHERE org_id = %s",
                    (org_id,))
        return cur.fetchone()[0]


def messages_out(admin_db, org_id):
    with admin_db.cursor() as cur:
        cur.execute("SELECT count(*) FROM messages WHERE org_id = %s "
                    "AND direction = 'out'", (org_id,))
        return cur.fetchone()[0]


# One of each type, in the API's shape (docs/api.md, Sending).
SAMPLES = {
    "text": {"type": "text", "text": {"body": "Your order ships today.",
                                      "preview_url": False}},
    "template": {"type": "template", "template": {
        "name": "order_update", "language": "en_US",
        "components": [{"type": "body", "parameters": [
            {"type": "text", "text": "7781"}]}]}},
    "image": {"type": "image", "media": {
        "link": "https://cdn.example.test/p.jpg"}},
    "image_caption": {"type": "image", "media": {
        "link": "https://cdn.example.test/p.jpg", "caption": "Your parcel"}},
    "audio": {"type": "audio", "media": {
        "link": "https://cdn.example.test/a.mp3"}},
    "video": {"type": "video", "media": {
        "link": "https://cdn.example.test/v.mp4"}},
    "document": {"type": "document", "media": {
        "link": "https://cdn.example.test/invoice.pdf",
        "filename": "invoice.pdf"}},
    "buttons": {"type": "interactive", "interactive": {
        "kind": "buttons", "body": "Confirm order 7781?",
        "buttons": [{"id": "yes", "title": "Confirm"},
                    {"id": "no", "title": "Cancel"}]}},
    "list": {"type": "interactive", "interactive": {
        "kind": "list", "body": "Pick a slot", "button": "Slots",
        "sections": [{"title": "Today", "rows": [
            {"id": "am", "title": "Morning"},
            {"id": "pm", "title": "Afternoon", "description": "2-5 pm"}]}]}},
}

# What each adapter's plugin can send (docs/plugins.md); the rest is 422.
CAN_SEND = {
    "whatsapp_cloud": set(SAMPLES),
    "360dialog": set(SAMPLES),
    "messenger": {"text", "image", "audio", "video", "document", "buttons"},
    "instagram": {"text", "image", "audio", "video"},
    "example": {"text"},
}


# ---------------------------------------------------------------- queueing

def test_a_reply_is_queued_and_answered_202(server, fakes, admin_db):
    owner = signup(server.url)
    ch = whatsapp(owner, fakes)
    cv, customer, _ = customer_writes(server, admin_db, owner, ch)
    before = cv["last_message_at"]

    r = reply(owner, cv["id"], text("We are on it."))
    assert r.status_code == 202, r.text
    m = r.json()
    assert m["status"] == "queued" and m["direction"] == "out"
    assert m["sender"] == "agent" and m["type"] == "text"
    assert m["text"] == "We are on it."
    assert m["content"] == {"body": "We are on it."}
    assert m["conversation_id"] == cv["id"] and m["channel_id"] == ch["id"]
    assert m["author_id"] == owner.user_id
    assert m["provider_message_id"] is None
    assert m["delivery"]["state"] == "queued"
    assert m["delivery"]["attempts"] == 0

    got = owner.get(f"/api/v1/messages/{m['id']}")
    assert got.status_code == 200 and got.json()["id"] == m["id"]
    thread = owner.get(f"/api/v1/conversations/{cv['id']}/messages").json()
    assert thread["data"][0]["id"] == m["id"]
    after = owner.get(f"/api/v1/conversations/{cv['id']}").json()
    assert after["last_message"]["id"] == m["id"]
    assert after["last_message_at"] >= before
    assert outbox_rows(admin_db, owner.org_id) == 1


@pytest.mark.parametrize("adapter", ADAPTERS)
def test_each_type_is_queued_where_the_channel_sends_it(server, fakes,
                                                         admin_db, adapter):
    owner = signup(server.url)
    ch = channel_of(owner, fakes, adapter)
    cv, _, _ = customer_writes(server, admin_db, owner, ch)
    for name, body in SAMPLES.items():
        r = reply(owner, cv["id"], body)
        if name in CAN_SEND[adapter]:
            assert r.status_code == 202, (adapter, name, r.text)
            assert r.json()["type"] == body["type"]
        else:
            err = assert_error(r, 422)
            assert err["error_code"] in ("UNSUPPORTED_MESSAGE_TYPE",
                                         "UNSUPPORTED_MESSAGE"), err
            assert err["details"]["adapter"] == adapter
            assert "cannot send" in err["error"], err
    assert outbox_rows(admin_db, owner.org_id) == len(CAN_SEND[adapter])


def test_unsupported_types_say_which_channel_and_what_it_sends(server, fakes,
                                                               admin_db):
    owner = signup(server.url)
    ch = example_channel(owner, fakes)
    cv, _, _ = customer_writes(server, admin_db, owner, ch)
    err = assert_error(reply(owner, cv["id"], SAMPLES["image"]), 422,
                       "UNSUPPORTED_MESSAGE_TYPE")
    assert err["details"] == {"type": "image", "adapter": "example",
                              "sends": ["text"]}
    assert "cannot send image messages" in err["error"]

    ig = instagram(owner, fakes)
    cv, _, _ = customer_writes(server, admin_db, owner, ig)
    # Instagram sends media, but not documents and not captions.
    err = assert_error(reply(owner, cv["id"], SAMPLES["document"]), 422,
                       "UNSUPPORTED_MESSAGE")
    assert "image" in err["details"]["sends"]
    assert_error(reply(owner, cv["id"], SAMPLES["image_caption"]), 422,
                 "UNSUPPORTED_MESSAGE")
    assert outbox_rows(admin_db, owner.org_id) == 0


def test_limits_of_the_channel_are_422_before_queueing(server, fakes,
                                                       admin_db):
    owner = signup(server.url)
    wa = whatsapp(owner, fakes)
    cv, _, _ = customer_writes(server, admin_db, owner, wa)
    assert reply(owner, cv["id"], text("x" * 4096)).status_code == 202
    assert_error(reply(owner, cv["id"], text("x" * 4097)), 422,
                 "INVALID_MESSAGE")
    four = {"type": "interactive", "interactive": {
        "kind": "buttons", "body": "Pick",
        "buttons": [{"id": str(i), "title": "B%d" % i} for i in range(4)]}}
    assert_error(reply(owner, cv["id"], four), 422, "INVALID_MESSAGE")
    long_title = {"type": "interactive", "interactive": {
        "kind": "buttons", "body": "Pick",
        "buttons": [{"id": "a", "title": "t" * 21}]}}
    assert_error(reply(owner, cv["id"], long_title), 422, "INVALID_MESSAGE")

    ig = instagram(owner, fakes)
    cv2, _, _ = customer_writes(server, admin_db, owner, ig)
    assert reply(owner, cv2["id"], text("y" * 999)).status_code == 202
    assert_error(reply(owner, cv2["id"], text("y" * 1000)), 422,
                 "INVALID_MESSAGE")
    assert outbox_rows(admin_db, owner.org_id) == 2


@pytest.mark.parametrize("body,field", [
    ({}, "type"),
    ({"type": "fax"}, "type"),
    ({"type": "text"}, "text"),
    ({"type": "text", "text": "hi"}, "text"),
    ({"type": "text", "text": {}}, "text.body"),
    ({"type": "text", "text": {"body": ""}}, "text.body"),
    ({"type": "text", "text": {"body": 5}}, "text.body"),
    ({"type": "text", "text": {"body": "hi", "preview_url": "yes"}},
     "text.preview_url"),
    ({"type": "text", "text": {"body": "hi"}, "media": {}}, "media"),
    ({"type": "text", "text": {"body": "hi"}, "to": "1555"}, "to"),
    ({"type": "text", "text": {"body": "hi"}, "reply_to": 7}, "reply_to"),
    ({"type": "image", "media": {}}, "media.link"),
    ({"type": "image", "media": {"link": "ftp://x/y.jpg"}}, "media.link"),
    ({"type": "template", "template": {"name": "x"}}, "template.language"),
    ({"type": "template", "template": {"name": "x", "language": "en",
                                       "components": {}}},
     "template.components"),
    ({"type": "interactive", "interactive": {"kind": "carousel",
                                             "body": "x"}},
     "interactive.kind"),
    ({"type": "reaction", "reaction": {"emoji": "x"}},
     "reaction.message_id"),
])
def test_malformed_bodies_are_422_with_the_field(server, fakes, admin_db,
                                                 body, field):
    owner = signup(server.url)
    ch = whatsapp(owner, fakes)
    cv, _, _ = customer_writes(server, admin_db, owner, ch)
    err = assert_error(reply(owner, cv["id"], body), 422, "VALIDATION_FAILED")
    assert field in err["details"], err
    assert outbox_rows(admin_db, owner.org_id) == 0


def test_authentication_and_tenancy_come_first(server, fakes, admin_db):
    owner = signup(server.url)
    ch = whatsapp(owner, fakes)
    cv, _, _ = customer_writes(server, admin_db, owner, ch)
    anon = Client(server.url)
    assert_error(reply(anon, cv["id"], {}), 401, "UNAUTHENTICATED")
    bad = Client(server.url, token="ibt_" + "0" * 32 + "_x" * 20)
    assert bad.post(f"/api/v1/conversations/{cv['id']}/messages",
                    {}).status_code == 401

    # Another organization's conversation or channel: 404, even with a
    # body that is malformed, and nothing is queued anywhere.
    other = signup(server.url, org="Other")
    assert_error(reply(other, cv["id"], text()), 404, "NOT_FOUND")
    assert_error(reply(other, cv["id"], {"type": "fax"}), 404, "NOT_FOUND")
    assert_error(reply(other, str(uuid.uuid4()), text()), 404, "NOT_FOUND")
    token, _ = new_token(other)
    bot = Client(server.url, token=token, origin=False)
    assert_error(reply(bot, cv["id"], text()), 404, "NOT_FOUND")
    r = other.post("/api/v1/messages", dict(
        SAMPLES["template"], channel_id=ch["id"], to="15550001111"))
    assert_error(r, 404, "NOT_FOUND")
    assert outbox_rows(admin_db, owner.org_id) == 0
    assert messages_out(admin_db, other.org_id) == 0

    # Agents reply; API tokens too.
    agent = add_member(server.url, owner)
    assert reply(agent, cv["id"], text()).status_code == 202
    token, _ = new_token(owner)
    assert reply(Client(server.url, token=token, origin=False), cv["id"],
                 text()).status_code == 202


def test_a_cookie_session_needs_the_csrf_token(server, fakes, admin_db):
    owner = signup(server.url)
    ch = whatsapp(owner, fakes)
    cv, _, _ = customer_writes(server, admin_db, owner, ch)
    owner.csrf, csrf = None, owner.csrf
    assert reply(owner, cv["id"], text()).status_code == 403
    owner.csrf = csrf
    assert reply(owner, cv["id"], text()).status_code == 202


# ---------------------------------------------------------------- idempotency

def test_a_retried_call_with_its_key_returns_the_first_result(server, fakes,
                                                              admin_db):
    owner = signup(server.url)
    ch = whatsapp(owner, fakes)
    cv, _, _ = customer_writes(server, admin_db, owner, ch)
    key = "retry-" + uuid.uuid4().hex
    first = reply(owner, cv["id"], text("Once"), key=key)
    assert first.status_code == 202
    again = reply(owner, cv["id"], text("Once"), key=key)
    assert again.status_code == 202
    assert again.json() == first.json()
    assert messages_out(admin_db, owner.org_id) == 1

    # The same key for another request is refused, not merged.
    err = assert_error(reply(owner, cv["id"], text("Twice"), key=key), 422,
                       "IDEMPOTENCY_KEY_REUSED")
    assert "idempotency_key" in err["details"]
    # Keys are per organization; another key is another message.
    assert reply(owner, cv["id"], text("Once"),
                 key=key + "-2").status_code == 202
    assert messages_out(admin_db, owner.org_id) == 2
    other = signup(server.url, org="Other")
    och = whatsapp(other, fakes)
    ocv, _, _ = customer_writes(server, admin_db, other, och)
    assert reply(other, ocv["id"], text("Once"), key=key).status_code == 202


def test_a_refused_call_does_not_use_up_its_key(server, fakes, admin_db):
    owner = signup(server.url)
    ch = whatsapp(owner, fakes)
    cv, _, _ = customer_writes(server, admin_db, owner, ch)
    key = uuid.uuid4().hex
    assert_error(reply(owner, cv["id"], text("x" * 5000), key=key), 422)
    assert reply(owner, cv["id"], text("ok"), key=key).status_code == 202


@pytest.mark.parametrize("key", ["a" * 256, "a b"])
def test_malformed_keys_are_400(server, fakes, admin_db, key):
    owner = signup(server.url)
    ch = whatsapp(owner, fakes)
    cv, _, _ = customer_writes(server, admin_db, owner, ch)
    assert_error(reply(owner, cv["id"], text(), key=key), 400,
                 "INVALID_IDEMPOTENCY_KEY")
    # Empty values and bytes above 127 are refused by kore itself.
    for raw in (b"", "caf\u00e9".encode("utf-8")):
        r = owner.post(f"/api/v1/conversations/{cv['id']}/messages",
                       text(), headers={"Idempotency-Key": raw})
        assert r.status_code == 400
    assert messages_out(admin_db, owner.org_id) == 0


def test_concurrent_identical_calls_make_one_message(server, fakes,
                                                     admin_db):
    owner = signup(server.url)
    token, _ = new_token(owner)
    ch = whatsapp(owner, fakes)
    cv, _, _ = customer_writes(server, admin_db, owner, ch)
    key = "race-" + uuid.uuid4().hex
    results, barrier = [], threading.Barrier(12)

    def call():
        c = Client(server.url, token=token, origin=False)
        barrier.wait()
        results.append(reply(c, cv["id"], text("Exactly once"), key=key))

    threads = [threading.Thread(target=call) for _ in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert [r.status_code for r in results] == [202] * 12, \
        [r.text for r in results]
    assert len({r.json()["id"] for r in results}) == 1
    assert messages_out(admin_db, owner.org_id) == 1
    assert outbox_rows(admin_db, owner.org_id) == 1


# ---------------------------------------------------------------- window

def age_conversation(admin_db, cv_id, hours):
    with admin_db.cursor() as cur:
        cur.execute("UPDATE conversations SET last_inbound_at = now() - "
                    "%s * interval '1 hour' WHERE id = %s", (hours, cv_id))


@pytest.mark.parametrize("adapter", ["whatsapp_cloud", "360dialog"])
def test_whatsapp_outside_24_hours_takes_templates_only(server, fakes,
                                                        admin_db, adapter):
    owner = signup(server.url)
    ch = channel_of(owner, fakes, adapter)
    cv, _, inbound = customer_writes(server, admin_db, owner, ch)
    age_conversation(admin_db, cv["id"], 23.9)
    assert reply(owner, cv["id"], text("still open")).status_code == 202

    age_conversation(admin_db, cv["id"], 24.1)
    for name in ("text", "image", "buttons"):
        err = assert_error(reply(owner, cv["id"], SAMPLES[name]), 422,
                           "CARE_WINDOW_CLOSED")
        assert "24 hours" in err["error"] and "template" in err["error"]
        assert err["details"]["allowed_types"] == ["template"]
        assert err["details"]["last_inbound_at"] is not None
    err = assert_error(reply(owner, cv["id"], {
        "type": "reaction", "reaction": {"message_id": inbound["id"],
                                         "emoji": "\U0001f44d"}}), 422,
        "CARE_WINDOW_CLOSED")
    assert reply(owner, cv["id"], SAMPLES["template"]).status_code == 202
    assert outbox_rows(admin_db, owner.org_id) == 2

    # The customer writes again: the window opens again.
    customer_writes(server, admin_db, owner, ch, text="Me again",
                    customer=cv["contact"]["external_id"])
    assert reply(owner, cv["id"], text("welcome back")).status_code == 202


def test_messenger_outside_24_hours_takes_nothing(server, fakes, admin_db):
    owner = signup(server.url)
    ch = messenger(owner, fakes)
    cv, _, _ = customer_writes(server, admin_db, owner, ch)
    age_conversation(admin_db, cv["id"], 30)
    err = assert_error(reply(owner, cv["id"], text()), 422,
                       "CARE_WINDOW_CLOSED")
    assert err["details"]["allowed_types"] == []
    # A channel without a window (example) has no such rule.
    ex = example_channel(owner, fakes)
    cv2, _, _ = customer_writes(server, admin_db, owner, ex)
    age_conversation(admin_db, cv2["id"], 300)
    assert reply(owner, cv2["id"], text()).status_code == 202


# ---------------------------------------------------------------- new

def test_starting_a_conversation_needs_a_template_on_whatsapp(server, fakes,
                                                              admin_db):
    owner = signup(server.url)
    ch = whatsapp(owner, fakes)
    number = "1555" + digits(7)
    err = assert_error(owner.post("/api/v1/messages", dict(
        text("Hi!"), channel_id=ch["id"], to="+" + number)), 422,
        "CARE_WINDOW_CLOSED")
    assert "has not written" in err["error"]
    assert messages_out(admin_db, owner.org_id) == 0

    r = owner.post("/api/v1/messages", dict(
        SAMPLES["template"], channel_id=ch["id"], to="+" + number),
        headers={"Idempotency-Key": "start-" + number})
    assert r.status_code == 202, r.text
    m = r.json()
    assert m["type"] == "template" and m["status"] == "queued"
    cv = owner.get(f"/api/v1/conversations/{m['conversation_id']}").json()
    assert cv["contact"]["external_id"] == number
    assert cv["status"] == "open" and cv["channel"]["id"] == ch["id"]
    # A second one goes to the same open conversation.
    r2 = owner.post("/api/v1/messages", dict(
        SAMPLES["template"], channel_id=ch["id"], to=number))
    assert r2.json()["conversation_id"] == m["conversation_id"]
    # The key replays the first answer.
    r3 = owner.post("/api/v1/messages", dict(
        SAMPLES["template"], channel_id=ch["id"], to="+" + number),
        headers={"Idempotency-Key": "start-" + number})
    assert r3.json() == m
    assert messages_out(admin_db, owner.org_id) == 2


@pytest.mark.parametrize("body,status,field", [
    ({"channel_id": "absent", "to": "15551230001"}, 422, "channel_id"),
    ({"channel_id": 5, "to": "15551230001"}, 422, "channel_id"),
    ({"channel_id": "nope", "to": "15551230001"}, 404, None),
    ({"channel_id": None, "to": "15551230001"}, 422, "channel_id"),
    ({"to": None}, 422, "to"),
    ({"to": "call me"}, 422, "to"),
    ({"to": "12"}, 422, "to"),
])
def test_new_conversation_validation(server, fakes, body, status, field):
    owner = signup(server.url)
    ch = whatsapp(owner, fakes)
    full = dict(SAMPLES["template"], channel_id=ch["id"])
    full.update(body)
    if body.get("channel_id") == "absent":
        del full["channel_id"]
    elif body.get("channel_id") == "nope":
        full["channel_id"] = str(uuid.uuid4())
    err = assert_error(owner.post("/api/v1/messages", full), status)
    if field:
        assert field in err["details"], err


def test_a_channel_that_is_not_connected_is_409(server, fakes, admin_db):
    owner = signup(server.url)
    ch = whatsapp(owner, fakes)
    cv, _, _ = customer_writes(server, admin_db, owner, ch)
    with admin_db.cursor() as cur:
        cur.execute("UPDATE channels SET status = 'error', status_message = "
                    "'Credentials rejected' WHERE id = %s", (ch["id"],))
    err = assert_error(reply(owner, cv["id"], text()), 409,
                       "CHANNEL_NOT_CONNECTED")
    assert "reconnect" in err["error"]
    assert err["details"]["channel_status"] == "error"
    assert owner.post(f"/api/v1/channels/{ch['id']}/disconnect",
                      {}).status_code == 200
    err = assert_error(reply(owner, cv["id"], text()), 409,
                       "CHANNEL_NOT_CONNECTED")
    assert err["details"]["channel_status"] == "disconnected"
    assert outbox_rows(admin_db, owner.org_id) == 0


# ---------------------------------------------------------------- targets

def test_reply_to_and_reactions_name_our_ids(server, fakes, admin_db):
    owner = signup(server.url)
    ch = whatsapp(owner, fakes)
    cv, _, inbound = customer_writes(server, admin_db, owner, ch)
    r = reply(owner, cv["id"], dict(text("Quoting you"),
                                    reply_to=inbound["id"]))
    assert r.status_code == 202, r.text
    assert r.json()["reply_to"] == inbound["provider_message_id"]
    r = reply(owner, cv["id"], {"type": "reaction", "reaction": {
        "message_id": inbound["id"], "emoji": "\U0001f44d"}})
    assert r.status_code == 202, r.text
    assert r.json()["content"] == {
        "message_id": inbound["provider_message_id"],
        "emoji": "\U0001f44d"}
    assert r.json()["text"] == "\U0001f44d"
    # The provider's id works too; an unknown one, a message of another
    # conversation, or one of ours not sent yet does not.
    r = reply(owner, cv["id"], dict(text("By provider id"),
                                    reply_to=inbound["provider_message_id"]))
    assert r.status_code == 202
    queued = r.json()["id"]
    for target in ("wamid.nope", str(uuid.uuid4()), queued):
        err = assert_error(reply(owner, cv["id"], dict(
            text("x"), reply_to=target)), 422, "VALIDATION_FAILED")
        assert "reply_to" in err["details"]
    other_cv, _, other_in = customer_writes(server, admin_db, owner, ch)
    assert_error(reply(owner, cv["id"], {"type": "reaction", "reaction": {
        "message_id": other_in["id"], "emoji": "x"}}), 422,
        "VALIDATION_FAILED")


def test_messages_of_another_organization_are_404(server, fakes, admin_db):
    owner = signup(server.url)
    ch = whatsapp(owner, fakes)
    cv, _, _ = customer_writes(server, admin_db, owner, ch)
    m = reply(owner, cv["id"], text()).json()
    other = signup(server.url, org="Other")
    assert_error(other.get(f"/api/v1/messages/{m['id']}"), 404, "NOT_FOUND")
    assert_error(owner.get(f"/api/v1/messages/{uuid.uuid4()}"), 404)
    assert owner.get("/api/v1/messages/not-a-uuid").status_code == 404
