"""What a statement that fails costs the database: an API error (app.fail)
or a failed ingest batch reads the statement to its end before kore takes
the connection back, instead of leaving it unfinished, which makes kore
send a cancel request: a blocking connect from the worker and a process
forked by the server, per failed request."""
import os
import time
import uuid

import requests

from apiclient import signup


def connections_logged():
    log = os.path.join(os.environ["VAR_DIR"], "pg", "log", "postgres.log")
    with open(log, errors="replace") as f:
        return f.read().count("connection received")


def test_api_errors_send_no_cancel_request(server, admin_db):
    with admin_db.cursor() as cur:
        cur.execute("ALTER SYSTEM SET log_connections = on")
        cur.execute("SELECT pg_reload_conf()")
    try:
        time.sleep(0.3)
        owner = signup(server.url)
        # The server's pool is open by now: a health check uses it.
        assert requests.get(server.url + "/api/v1/health").ok
        before = connections_logged()
        # app.fail's 404 (not failed sign-ins: their throttle would slow
        # the tests that sign in after this one).
        for _ in range(20):
            r = owner.get("/api/v1/conversations/%s" % uuid.uuid4())
            assert r.status_code == 404, r.text
        # The pool opens a connection when both of a worker's are busy;
        # a cancel request would be one per failure.
        time.sleep(0.3)
        assert connections_logged() - before < 5
    finally:
        with admin_db.cursor() as cur:
            cur.execute("ALTER SYSTEM RESET log_connections")
            cur.execute("SELECT pg_reload_conf()")
