"""Webhooks while the database is down: the answer is 503 (so the
provider delivers again), nothing is acknowledged before it is committed,
and the redelivery after the database is back applies once.

This runs against a PostgreSQL cluster and a kore of its own, so stopping
the database cannot disturb any other test (the session's server keeps
its pooled connections to the shared cluster).
"""
import os
import shutil
import subprocess
import time

import psycopg2
import requests
import pytest

from apiclient import signup
from conftest import ROOT, TEST_PLUGINS, Server, free_port
import webhooks as wh
from test_webhooks import (APP_SECRET, hook, messages_of, whatsapp)

PGCLUSTER = os.path.join(ROOT, "conf/pgcluster.sh")


class Cluster:
    """A throwaway cluster made by conf/pgcluster.sh, migrated."""

    def __init__(self, path):
        self.path = path
        self.port = free_port()
        sock = os.path.join(path, "run")
        base = f"host={sock} port={self.port} dbname=inbox"
        self.app_url = base + " user=inbox_app connect_timeout=3"
        self.owner_url = base + " user=inbox_owner"
        self.admin_url = base + " user=postgres"

    def start(self):
        subprocess.run([PGCLUSTER, "start", self.path, str(self.port)],
                       check=True, capture_output=True)

    def stop(self):
        subprocess.run([PGCLUSTER, "stop", self.path], check=True,
                       capture_output=True)

    def migrate(self):
        env = dict(os.environ, MIGRATE_DATABASE_URL=self.owner_url)
        subprocess.run([os.path.join(ROOT, "app/inboxctl"), "migrate",
                        os.path.join(ROOT, "migrations")], env=env,
                       check=True, capture_output=True)


@pytest.fixture(scope="module")
def cluster():
    path = os.path.join(os.environ.get("VAR_DIR", os.path.join(ROOT, "var")),
                        f"pg-outage-{os.getpid()}")
    c = Cluster(path)
    c.start()
    c.migrate()
    yield c
    c.stop()
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(scope="module")
def outage_server(tmp_path_factory, fakes, cluster):
    env = dict(fakes.bases, PLUGINS=TEST_PLUGINS,
               DATABASE_URL=cluster.app_url, META_APP_SECRET=APP_SECRET)
    srv = Server(str(tmp_path_factory.mktemp("kore-outage")), env=env)
    srv.start()
    yield srv
    srv.stop()


def deliver(server, payload):
    start = time.monotonic()
    status, body = wh.post(hook(server), payload, app_secret=APP_SECRET)
    return status, body, time.monotonic() - start


def test_database_down_is_503_then_the_redelivery_applies_once(
        outage_server, cluster, fakes):
    owner = signup(outage_server.url)
    ch = whatsapp(owner, fakes)
    first = wh.whatsapp_payload(ch["pnid"], messages=[
        wh.whatsapp_text("before")])
    assert deliver(outage_server, first)[0] == 200

    during = wh.whatsapp_payload(ch["pnid"], messages=[
        wh.whatsapp_text("during the outage")])
    cluster.stop()
    try:
        for _ in range(4):
            status, body, took = deliver(outage_server, during)
            assert status == 503, body
            assert b"DATABASE_UNAVAILABLE" in body
            assert took < 5, took          # 360dialog's deadline
        # Health says so too, for the load balancer.
        r = requests.get(outage_server.url + "/api/v1/health", timeout=10)
        assert r.status_code == 503
        assert r.json()["database"] == "unreachable"
    finally:
        cluster.start()

    # The provider delivers again until it gets a 2xx; a pooled
    # connection that died with the old server may cost one more 503.
    statuses = []
    for _ in range(20):
        status, body, _ = deliver(outage_server, during)
        statuses.append(status)
        if status == 200:
            break
        assert status == 503, body
        time.sleep(0.2)
    assert statuses[-1] == 200, statuses
    assert deliver(outage_server, during)[0] == 200

    texts = [m["text"] for m in messages_of(owner, ch)]
    assert texts == ["before", "during the outage"]
    # Nothing was journaled for the refused attempts: one delivery per 2xx.
    db = psycopg2.connect(cluster.admin_url)
    try:
        with db.cursor() as cur:
            cur.execute("SELECT k.outcome, k.result FROM webhook_deliveries d"
                        " JOIN webhook_delivery_keys k ON k.delivery_id = d.id"
                        " WHERE k.routing_key = %s ORDER BY d.id",
                        (ch["pnid"],))
            assert cur.fetchall() == [("routed", {"message": 1}),
                                      ("routed", {"message": 1}),
                                      ("routed", {"duplicate": 1})]
    finally:
        db.close()
