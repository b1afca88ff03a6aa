"""Group commit of webhook deliveries (app/ingest.c, migration 020),
black box: real kore, real PostgreSQL.

Deliveries that are ready while a worker's statements run are stored
together, one statement and one commit for several; each is answered
from its own row after that commit. To make the grouping certain rather
than a matter of timing, the tests hold a lock on the journal so that the
first statements wait, let more deliveries queue up behind them, then
release it: whatever queued meanwhile goes in batches. Rows written by
one transaction share its xmin, which is how a test sees the batches.
"""
import json
import os
import socket
import threading
import time

import psycopg2

from apiclient import signup
import webhooks as wh
from test_webhooks import (APP_SECRET, count, digits, keys_journal,
                           messages_of, post, whatsapp)


class JournalHeld:
    """While inside, nothing can be journaled: every ingest statement
    waits on the lock (SHARE blocks INSERT, not reading)."""

    def __init__(self, url):
        self.conn = psycopg2.connect(url)

    def __enter__(self):
        self.conn.cursor().execute(
            "LOCK TABLE webhook_deliveries IN SHARE MODE")
        return self

    def waiting(self):
        """How many statements wait for the lock."""
        with psycopg2.connect(os.environ["ADMIN_DATABASE_URL"]) as c, \
                c.cursor() as cur:
            cur.execute("SELECT count(*) FROM pg_stat_activity "
                        "WHERE wait_event_type = 'Lock' "
                        "AND query LIKE '%webhook_ingest_batch%'")
            return cur.fetchone()[0]

    def __exit__(self, *exc):
        self.conn.rollback()
        self.conn.close()


def deliver_all(server, bodies, held, waiting=1):
    """POSTs every body at once while held; releases the lock once
    `waiting` statements wait on it and the rest had time to queue in
    kore. Returns [(status, answer)] in the order of bodies."""
    out = [None] * len(bodies)

    def one(i):
        out[i] = post(server, bodies[i])

    threads = [threading.Thread(target=one, args=(i,))
               for i in range(len(bodies))]
    with held:
        for t in threads:
            t.start()
        deadline = time.time() + 10
        while held.waiting() < waiting and time.time() < deadline:
            time.sleep(0.02)
        assert held.waiting() >= waiting, "too few ingest statements waited"
        time.sleep(0.5)
    for t in threads:
        t.join()
    return out


def sent_unanswered(server, body):
    """A socket that has POSTed body signed and will read nothing: close
    it to hang up on the delivery."""
    host, port = server.url.rsplit("/", 1)[1].split(":")
    s = socket.create_connection((host, int(port)))
    s.sendall(b"POST /api/v1/webhooks/meta HTTP/1.1\r\n"
              b"Host: x\r\nContent-Type: application/json\r\n"
              b"X-Hub-Signature-256: " + wh.sign(body, APP_SECRET).encode() +
              b"\r\nContent-Length: %d\r\n\r\n" % len(body) + body)
    return s


def xmins(admin_db, routing_key):
    """The transactions that journaled the deliveries of a routing key."""
    with admin_db.cursor() as cur:
        cur.execute("SELECT DISTINCT d.xmin::text FROM webhook_deliveries d "
                    "JOIN webhook_delivery_keys k ON k.delivery_id = d.id "
                    "WHERE k.routing_key = %s", (routing_key,))
        return [r[0] for r in cur.fetchall()]


def wh_answer(raw):
    return json.loads(raw)


def bodies_for(ch, n, marker):
    return [wh.meta_json(wh.whatsapp_payload(ch["pnid"], messages=[
        wh.whatsapp_text("%s %d" % (marker, i), sender=digits(11))]))
        for i in range(n)]


def test_concurrent_deliveries_share_commits_each_stored_once(
        server, fakes, admin_db):
    owner = signup(server.url)
    ch = whatsapp(owner, fakes)
    bodies = bodies_for(ch, 40, "together")
    # The same event twice more, in the same wave: still one row.
    bodies += [bodies[0], bodies[0]]
    answers = deliver_all(server, bodies,
                          JournalHeld(os.environ["ADMIN_DATABASE_URL"]))

    assert [s for s, _ in answers] == [200] * len(bodies), answers
    ids = [wh_answer(a)["delivery_id"] for _, a in answers]
    assert len(set(ids)) == len(bodies)
    texts = sorted(m["text"] for m in messages_of(owner, ch))
    assert texts == sorted("together %d" % i for i in range(40))
    journal = keys_journal(admin_db, ch["pnid"])
    assert sorted(d for d, _, _, _ in journal) == sorted(ids)
    assert {o for _, o, _, _ in journal} == {"routed"}
    # 42 deliveries, a handful of commits.
    commits = len(xmins(admin_db, ch["pnid"]))
    print("42 deliveries in %d commits" % commits)
    assert commits <= len(bodies) // 2


def test_one_poisoned_delivery_fails_alone(server, fakes, admin_db):
    """A delivery that breaks the whole statement (here: a trigger on the
    journal refuses it) costs only itself: the statement is retried one
    delivery at a time, the others are stored, it gets 503 and, delivered
    again once the fault is gone, is stored once."""
    owner = signup(server.url)
    ch = whatsapp(owner, fakes)
    marker = "poison-" + digits(8)
    bodies = bodies_for(ch, 16, "fine")
    poisoned = wh.meta_json(wh.whatsapp_payload(ch["pnid"], messages=[
        wh.whatsapp_text(marker, sender=digits(11))]))
    bodies.insert(7, poisoned)
    fn = "test_refuse_" + marker.replace("-", "_")
    with admin_db.cursor() as cur:
        cur.execute("CREATE FUNCTION %s() RETURNS trigger LANGUAGE plpgsql "
                    "AS $$ BEGIN IF strpos(NEW.body, '%s') > 0 THEN "
                    "RAISE EXCEPTION 'refused'; END IF; RETURN NEW; END $$"
                    % (fn, marker))
        cur.execute("CREATE TRIGGER %s BEFORE INSERT ON webhook_deliveries "
                    "FOR EACH ROW EXECUTE FUNCTION %s()" % (fn, fn))
    try:
        answers = deliver_all(server, bodies,
                              JournalHeld(os.environ["ADMIN_DATABASE_URL"]))
    finally:
        with admin_db.cursor() as cur:
            cur.execute("DROP TRIGGER %s ON webhook_deliveries" % fn)
            cur.execute("DROP FUNCTION %s()" % fn)

    status, raw = answers[7]
    assert status == 503, raw
    assert wh_answer(raw)["error_code"] == "DATABASE_UNAVAILABLE"
    others = answers[:7] + answers[8:]
    assert [s for s, _ in others] == [200] * 16, others
    assert sorted(m["text"] for m in messages_of(owner, ch)) == sorted(
        "fine %d" % i for i in range(16))
    assert count(admin_db, "SELECT count(*) FROM webhook_deliveries "
                 "WHERE strpos(body, %s) > 0", marker) == 0
    assert "each goes again alone" in server.read_log()

    assert post(server, poisoned)[0] == 200
    assert post(server, poisoned)[0] == 200
    texts = [m["text"] for m in messages_of(owner, ch)]
    assert texts.count(marker) == 1


def test_a_provider_hanging_up_does_not_cancel_the_others(
        server, fakes, admin_db):
    """Deliveries whose senders hang up while they wait in a batch
    (kore frees their requests) change nothing for the rest."""
    owner = signup(server.url)
    ch = whatsapp(owner, fakes)
    bodies = bodies_for(ch, 12, "stays")
    gone = bodies_for(ch, 4, "hung up")
    held = JournalHeld(os.environ["ADMIN_DATABASE_URL"])
    out = [None] * len(bodies)

    def one(i):
        out[i] = post(server, bodies[i])

    threads = [threading.Thread(target=one, args=(i,))
               for i in range(len(bodies))]
    with held:
        for t in threads[:6]:
            t.start()
        socks = [sent_unanswered(server, body) for body in gone]
        for t in threads[6:]:
            t.start()
        deadline = time.time() + 10
        while held.waiting() == 0 and time.time() < deadline:
            time.sleep(0.05)
        time.sleep(0.5)
        for s in socks:
            s.close()
        time.sleep(0.3)
    for t in threads:
        t.join()

    assert [s for s, _ in out] == [200] * len(bodies), out
    texts = [m["text"] for m in messages_of(owner, ch)]
    for i in range(len(bodies)):
        assert texts.count("stays %d" % i) == 1
    # Those whose sender left were stored or not, never twice.
    assert all(texts.count("hung up %d" % i) <= 1 for i in range(4))
    assert "died" not in server.read_log()


def test_a_failing_key_in_a_batch_is_journaled_the_rest_applies(
        server, fakes, admin_db):
    """Inside a batch no savepoint guards a routing key: a key that fails
    fails the statement, and each delivery is stored again alone, where
    the key is journaled 'failed' (replayable) and everything else is
    applied; every delivery is answered 200."""
    alice, bob = signup(server.url), signup(server.url)
    a, b = whatsapp(alice, fakes), whatsapp(bob, fakes)
    bodies = bodies_for(a, 10, "alice")
    bodies.insert(4, wh.meta_json(wh.merge(
        wh.whatsapp_payload(a["pnid"], messages=[
            wh.whatsapp_text("alice too", sender=digits(11))]),
        wh.whatsapp_payload(b["pnid"], messages=[
            wh.whatsapp_text("boom", sender=digits(11))]))))
    check = "test_batch_boom_" + bob.org_id.replace("-", "")
    with admin_db.cursor() as cur:
        cur.execute("ALTER TABLE messages ADD CONSTRAINT " + check +
                    " CHECK (org_id <> %s OR text <> 'boom')", (bob.org_id,))
    try:
        answers = deliver_all(server, bodies,
                              JournalHeld(os.environ["ADMIN_DATABASE_URL"]))
    finally:
        with admin_db.cursor() as cur:
            cur.execute("ALTER TABLE messages DROP CONSTRAINT " + check)
    assert [s for s, _ in answers] == [200] * len(bodies), answers
    assert sorted(m["text"] for m in messages_of(alice, a)) == sorted(
        ["alice %d" % i for i in range(10)] + ["alice too"])
    assert messages_of(bob, b) == []
    [(_, outcome, _, error)] = keys_journal(admin_db, b["pnid"])
    assert outcome == "failed" and "23514" in error
    assert {o for _, o, _, _ in keys_journal(admin_db, a["pnid"])} == {
        "routed"}
    assert len(keys_journal(admin_db, a["pnid"])) == 11
    # The failure was a batch's, retried alone: without a batch, the
    # savepoint path alone would have answered the same.
    assert "not stored together (23514" in server.read_log()
