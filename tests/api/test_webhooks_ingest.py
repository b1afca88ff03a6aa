"""What migration 019 (a cheaper api.webhook_ingest) must not change,
where test_webhooks.py does not already pin it: races on a new contact and
on a closed conversation (ON CONFLICT and one savepoint instead of retry
loops), a contact updated only when its profile changes, the conversation
of several messages in one transaction, the journal's body and events
stored as received (rows kept inline, lz4 past a page), and the inbox
search finding a word anywhere in a long message (the trigram index on
messages.text is gone: it could not serve the search under row-level
security anyway).
"""
import hashlib
import json
import os

from apiclient import signup
import webhooks as wh
from test_webhooks import (conversations, count, digits, keys_journal,
                           messages_of, only_conversation, post, thread,
                           whatsapp)
from test_webhooks_batch import JournalHeld, deliver_all


def racing(server, bodies):
    """POSTs every body at once and makes their statements race: the
    journal is held locked until at least two ingest statements wait on
    it (each kore worker sends its first deliveries at once, in
    statements of their own), then released, so that those statements
    apply their events at the same moment. The statuses in order."""
    return [status for status, _ in deliver_all(
        server, bodies, JournalHeld(os.environ["ADMIN_DATABASE_URL"]),
        waiting=2)]


def transactions(admin_db, routing_key):
    """How many transactions journaled the routing key's deliveries."""
    with admin_db.cursor() as cur:
        cur.execute("SELECT count(DISTINCT d.xmin::text) "
                    "FROM webhook_deliveries d JOIN webhook_delivery_keys k "
                    "ON k.delivery_id = d.id WHERE k.routing_key = %s",
                    (routing_key,))
        return cur.fetchone()[0]


def test_first_messages_of_a_new_contact_at_once(server, fakes, admin_db):
    """Distinct messages of a sender nobody knows, delivered concurrently:
    one contact, one open conversation, every message once."""
    owner = signup(server.url)
    ch = whatsapp(owner, fakes)
    sender = digits(11)
    texts = [f"hello {i}" for i in range(10)]
    statuses = racing(server, [wh.whatsapp_payload(ch["pnid"], messages=[
        wh.whatsapp_text(t, sender=sender)]) for t in texts])
    assert statuses == [200] * len(texts)
    assert transactions(admin_db, ch["pnid"]) >= 2
    assert count(admin_db, "SELECT count(*) FROM contacts WHERE org_id = %s",
                 owner.org_id) == 1
    cv = only_conversation(owner, ch)
    assert cv["status"] == "open"
    assert sorted(m["text"] for m in thread(owner, cv["id"], limit=50)) == \
        sorted(texts)
    assert [r for _, _, r, _ in keys_journal(admin_db, ch["pnid"])] == \
        [{"message": 1}] * len(texts)


def test_a_closed_conversation_reopened_at_once_is_one(server, fakes,
                                                       admin_db):
    """Customers writing into a closed conversation from many deliveries at
    once reopen it once; no second open conversation appears."""
    owner = signup(server.url)
    ch = whatsapp(owner, fakes)
    sender = digits(11)
    assert post(server, wh.whatsapp_payload(ch["pnid"], messages=[
        wh.whatsapp_text("before", sender=sender)]))[0] == 200
    cv = only_conversation(owner, ch)
    with admin_db.cursor() as cur:
        cur.execute("UPDATE conversations SET status = 'closed', "
                    "closed_at = now() WHERE id = %s", (cv["id"],))
    statuses = racing(server, [wh.whatsapp_payload(ch["pnid"], messages=[
        wh.whatsapp_text(f"again {i}", sender=sender)]) for i in range(8)])
    assert statuses == [200] * 8
    assert transactions(admin_db, ch["pnid"]) >= 3
    again = only_conversation(owner, ch)
    assert (again["id"], again["status"]) == (cv["id"], "open")
    assert len(thread(owner, cv["id"], limit=50)) == 9
    assert [o for _, o, _, _ in keys_journal(admin_db, ch["pnid"])] == \
        ["routed"] * 9


def test_contact_profile_written_only_when_it_changes(server, fakes,
                                                      admin_db):
    owner = signup(server.url)
    ch = whatsapp(owner, fakes)
    sender = digits(11)

    def deliver(name):
        msg = wh.whatsapp_text("hi " + name, sender=sender)
        assert post(server, wh.whatsapp_payload(ch["pnid"], messages=[msg],
                    contacts=[wh.whatsapp_contact(sender, name)]))[0] == 200

    def contact():
        with admin_db.cursor() as cur:
            cur.execute("SELECT name, updated_at, xmin::text FROM contacts "
                        "WHERE org_id = %s", (owner.org_id,))
            [row] = cur.fetchall()
            return row

    deliver("Ana")
    first = contact()
    deliver("Ana")
    assert contact() == first               # not even a new row version
    deliver("Ana María")
    name, updated, _ = contact()
    assert name == "Ana María" and updated > first[1]
    assert len(messages_of(owner, ch)) == 3


def test_messages_of_one_delivery_in_any_order(server, fakes, admin_db):
    """Two messages of one sender in one delivery (one transaction, as in a
    batch), the newer first: the conversation keeps the newer times, and
    each message is stored and announced."""
    owner = signup(server.url)
    ch = whatsapp(owner, fakes)
    sender = digits(11)
    new, old = int(wh.now_seconds()), int(wh.now_seconds()) - 600
    payload = wh.whatsapp_payload(ch["pnid"], messages=[
        wh.whatsapp_text("newer", sender=sender, timestamp=str(new)),
        wh.whatsapp_text("older", sender=sender, timestamp=str(old))])
    assert post(server, payload)[0] == 200
    cv = only_conversation(owner, ch)
    with admin_db.cursor() as cur:
        cur.execute("SELECT extract(epoch FROM last_message_at)::bigint, "
                    "extract(epoch FROM last_inbound_at)::bigint "
                    "FROM conversations WHERE id = %s", (cv["id"],))
        assert cur.fetchone() == (new, new)
    assert [m["text"] for m in thread(owner, cv["id"])] == ["newer", "older"]
    assert [r for _, _, r, _ in keys_journal(admin_db, ch["pnid"])] == \
        [{"message": 2}]
    # An older message in a later delivery moves nothing back either.
    assert post(server, wh.whatsapp_payload(ch["pnid"], messages=[
        wh.whatsapp_text("oldest", sender=sender,
                         timestamp=str(old - 60))]))[0] == 200
    with admin_db.cursor() as cur:
        cur.execute("SELECT extract(epoch FROM last_message_at)::bigint "
                    "FROM conversations WHERE id = %s", (cv["id"],))
        assert cur.fetchone() == (new,)


def test_journal_keeps_body_and_events_as_received(server, fakes, admin_db):
    """Small bodies (kept inline) and bodies past a page (compressed out of
    line) read back byte for byte, with their SHA-256 and events."""
    owner = signup(server.url)
    ch = whatsapp(owner, fakes)
    for size in (50, 3000, 20000):
        words = " ".join("w%d" % i for i in range(size // 4))[:size]
        body = wh.meta_json(wh.whatsapp_payload(ch["pnid"], messages=[
            wh.whatsapp_text(words, sender=digits(11))]))
        st, answer = post(server, body)
        assert st == 200, answer
        delivery = json.loads(answer)["delivery_id"]
        with admin_db.cursor() as cur:
            cur.execute("SELECT body, body_sha256, nevents, "
                        "events -> 0 ->> 'text' FROM webhook_deliveries "
                        "WHERE id = %s", (delivery,))
            stored, sha, nevents, text = cur.fetchone()
        assert stored.encode() == body
        assert bytes(sha) == hashlib.sha256(body).digest()
        assert (nevents, text) == (1, words)


def test_search_finds_a_word_deep_in_a_long_message(server, fakes):
    owner = signup(server.url)
    ch = whatsapp(owner, fakes)
    long_text = ("lorem ipsum dolor sit amet " * 150) + "Zanzibar-7731 end"
    assert len(long_text) > 4000
    assert post(server, wh.whatsapp_payload(ch["pnid"], messages=[
        wh.whatsapp_text(long_text, sender=digits(11))]))[0] == 200
    assert post(server, wh.whatsapp_payload(ch["pnid"], messages=[
        wh.whatsapp_text("short one", sender=digits(11))]))[0] == 200
    data = conversations(owner, channel_id=ch["id"])["data"]
    deep = [c["id"] for c in data if c["last_message"]["text"] != "short one"]

    def found(q):
        return [c["id"] for c in conversations(owner, q=q)["data"]]

    assert found("zanzibar-7731") == deep
    assert found("7731 END") == deep
    assert found("zanzibar-7732") == []
    assert sorted(found("o")) == sorted(c["id"] for c in data)
