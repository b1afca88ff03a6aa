"""Overload of the webhook endpoint, black box: a worker holding
WEBHOOK_INFLIGHT_MAX unanswered deliveries answers the next one 503
OVERLOADED with Retry-After at once, before any work, and stores nothing
of it; every delivery it took is stored and answered after its commit.

The count is per worker, so these tests run a kore of their own with one
worker, where the bound is exact. The journal is held locked (as in
test_webhooks_batch.py) so that deliveries stay in progress for as long
as a test needs. Each wave then checks that exactly the bound is taken
again: a count that leaked (a delivery finished, refused, failed or hung
up on without giving its place back) would shrink it.
"""
import collections
import os
import re
import threading
import time
import uuid

import pytest
import requests

from apiclient import signup
from conftest import ROOT, TEST_PLUGINS, Server
import webhooks as wh
from test_webhooks import APP_SECRET, hook, whatsapp
from test_webhooks_batch import JournalHeld, bodies_for, sent_unanswered


def inflight_max():
    with open(os.path.join(ROOT, "app", "webhooks.c")) as f:
        return int(re.search(r"#define\s+WEBHOOK_INFLIGHT_MAX\s+(\d+)",
                             f.read()).group(1))


MAX = inflight_max()


@pytest.fixture(scope="module")
def one_worker(tmp_path_factory, fakes):
    env = dict(fakes.bases, PLUGINS=TEST_PLUGINS, WORKERS="1",
               META_APP_SECRET=APP_SECRET)
    srv = Server(str(tmp_path_factory.mktemp("kore-overload")), env=env)
    srv.start()
    yield srv
    srv.stop()
    log = srv.read_log()
    assert "died" not in log, log[-3000:]


def send(server, body):
    r = requests.post(hook(server), data=body, timeout=30, headers={
        "Content-Type": "application/json",
        "X-Hub-Signature-256": wh.sign(body, APP_SECRET)})
    return r.status_code, r.headers, r.json()


def wave(server, bodies):
    """POSTs every body at once while the journal is held, so that none
    of them can finish; releases it once every delivery beyond the bound
    was answered and the rest had time to arrive. [(status, headers,
    answer)] in the order of bodies."""
    out = [None] * len(bodies)

    def one(i):
        out[i] = send(server, bodies[i])

    threads = [threading.Thread(target=one, args=(i,))
               for i in range(len(bodies))]
    with JournalHeld(os.environ["ADMIN_DATABASE_URL"]):
        for t in threads:
            t.start()
        deadline = time.time() + 20
        while (sum(o is not None for o in out) < len(bodies) - MAX and
               time.time() < deadline):
            time.sleep(0.05)
        time.sleep(0.5)
        # Nothing taken may have been answered while nothing commits.
        assert all(o[0] == 503 for o in out if o is not None)
    for t in threads:
        t.join()
    return out


def stored(admin_db, ch):
    """How many messages of the channel hold each text."""
    with admin_db.cursor() as cur:
        cur.execute("SELECT text FROM messages WHERE channel_id = %s",
                    (ch["id"],))
        return collections.Counter(r[0] for r in cur.fetchall())


def journaled(admin_db, marker):
    """The journaled bodies that hold marker."""
    with admin_db.cursor() as cur:
        cur.execute("SELECT body FROM webhook_deliveries "
                    "WHERE strpos(body, %s) > 0", (marker,))
        return [r[0] for r in cur.fetchall()]


def statuses(out):
    return sorted(s for s, _, _ in out)


def test_beyond_the_bound_is_refused_at_once_and_stored_never(
        one_worker, fakes, admin_db):
    owner = signup(one_worker.url)
    ch = whatsapp(owner, fakes)
    n = MAX + 40
    marker = "first wave " + uuid.uuid4().hex[:8]
    bodies = bodies_for(ch, n, marker)
    out = wave(one_worker, bodies)

    assert statuses(out) == [200] * MAX + [503] * 40
    for status, headers, answer in out:
        if status == 503:
            assert headers["Retry-After"] == "5"
            assert answer["success"] is False
            assert answer["error_code"] == "OVERLOADED"
    texts = stored(admin_db, ch)
    bodies_kept = journaled(admin_db, marker)
    for i, (status, _, _) in enumerate(out):
        assert texts["%s %d" % (marker, i)] == (status == 200)
        assert sum('"%s %d"' % (marker, i) in b for b in bodies_kept) == \
            (status == 200)

    # What was refused is stored when the provider delivers it again.
    again = [bodies[i] for i, o in enumerate(out) if o[0] == 503]
    assert [send(one_worker, b)[0] for b in again] == [200] * 40
    assert stored(admin_db, ch) == collections.Counter(
        "%s %d" % (marker, i) for i in range(n))


def test_every_way_out_gives_its_place_back(one_worker, fakes, admin_db):
    """Answered, refused, rejected (bad signature, bad JSON) or hung up
    on while waiting: afterwards the worker takes exactly the bound
    again."""
    owner = signup(one_worker.url)
    ch = whatsapp(owner, fakes)
    # Rejected before storing: their places come back at once.
    bad = bodies_for(ch, 5, "rejected")
    for body in bad:
        assert requests.post(hook(one_worker), data=body, headers={
            "X-Hub-Signature-256": wh.sign(body, "not the secret")},
            timeout=10).status_code == 403
        assert send(one_worker, b"{\"object\": ")[0] == 400

    # Senders hanging up while their deliveries wait for the journal.
    gone = bodies_for(ch, 30, "hung up")
    with JournalHeld(os.environ["ADMIN_DATABASE_URL"]) as held:
        socks = [sent_unanswered(one_worker, body) for body in gone]
        deadline = time.time() + 10
        while held.waiting() == 0 and time.time() < deadline:
            time.sleep(0.05)
        assert held.waiting() > 0
        for s in socks:
            s.close()
        time.sleep(0.5)

    for marker in ("second wave", "third wave"):
        out = wave(one_worker, bodies_for(ch, MAX + 10, marker))
        assert statuses(out) == [200] * MAX + [503] * 10, marker
        texts = stored(admin_db, ch)
        for i, (status, _, _) in enumerate(out):
            assert texts["%s %d" % (marker, i)] == (status == 200)
    assert all(texts["hung up %d" % i] <= 1 for i in range(30))
