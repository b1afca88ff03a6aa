"""The live stream, black box: GET /api/v1/stream upgraded to a websocket
on a real kore, events raised by real deliveries and API calls.

Each organization's streams carry that organization's events only; a
stream ends when its credential does (logout, switching organization,
token revoked) and when the worker's LISTEN connection drops, so the
client reconnects and catches up. Two kore nodes on one database both
deliver every event. A worker LISTENs only while it has streams, and for
STREAM_LINGER_MS after the last one; a stream's hello waits for LISTEN.
"""
import json
import os
import socket
import threading
import time
import uuid

import pytest
import requests
import websocket

from apiclient import add_member, assert_error, new_token, signup
from conftest import TEST_PLUGINS, Server
import webhooks as wh
from test_webhooks import only_conversation, post, whatsapp

WAIT = 10


def ws_url(server):
    return server.url.replace("http://", "ws://") + "/api/v1/stream"


def open_stream(server, client=None, token=None, origin=None, sid=None):
    """A connected stream and its hello (sid: a session cookie's value
    kept from before the client signed out)."""
    headers = ["Origin: " + (origin or server.url)]
    if token:
        headers.append("Authorization: Bearer " + token)
    cookie = None
    if client is not None:
        sid = client.http.cookies["sid"]
    if sid is not None:
        cookie = "sid=" + sid
    ws = websocket.create_connection(ws_url(server), header=headers,
                                     cookie=cookie, timeout=WAIT)
    hello = json.loads(ws.recv())
    return ws, hello


def open_stream_once_listening(server, client, timeout=15):
    """A stream, once server's workers LISTEN again: until then a new
    stream is refused with 503 rather than silently missing events."""
    deadline = time.time() + timeout
    while True:
        try:
            return open_stream(server, client, origin=server.url)[0]
        except websocket.WebSocketBadStatusException as e:
            assert e.status_code == 503
            assert time.time() < deadline, "no LISTEN after %d s" % timeout
            time.sleep(0.3)


def next_event(ws, kind=None, timeout=WAIT):
    """The next event (of kind, skipping others) within timeout."""
    deadline = time.time() + timeout
    while True:
        ws.settimeout(max(0.1, deadline - time.time()))
        ev = json.loads(ws.recv())
        if kind is None or ev["kind"] == kind:
            return ev


def assert_closed(ws, timeout=WAIT):
    """The server closes the socket within timeout (events before the
    close are allowed)."""
    deadline = time.time() + timeout
    ws.settimeout(timeout)
    while time.time() < deadline:
        try:
            op, _ = ws.recv_data(control_frame=True)
        except (websocket.WebSocketConnectionClosedException,
                ConnectionError):
            return
        if op == websocket.ABNF.OPCODE_CLOSE:
            return
    pytest.fail("the stream stayed open")


def upgrade_headers(server, **extra):
    h = {"Connection": "Upgrade", "Upgrade": "websocket",
         "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==",
         "Sec-WebSocket-Version": "13", "Origin": server.url}
    h.update(extra)
    return h


def customer_says(server, ch, text="Hello there"):
    wamid = wh.new_wamid()
    status, body = post(server, wh.whatsapp_payload(ch["pnid"], messages=[
        wh.whatsapp_text(text, wamid=wamid)]))
    assert status == 200, body
    return wamid


# ---------------------------------------------------------------- events

def test_events_reach_their_organization_only(server, fakes):
    ann, bob = signup(server.url, org="Ann's"), signup(server.url, org="Bob's")
    ch_a, ch_b = whatsapp(ann, fakes), whatsapp(bob, fakes)
    ws_a, hello_a = open_stream(server, ann)
    ws_b, hello_b = open_stream(server, bob)
    assert hello_a == {"kind": "hello", "org_id": ann.org_id}
    assert hello_b == {"kind": "hello", "org_id": bob.org_id}

    customer_says(server, ch_a, "for Ann")
    customer_says(server, ch_b, "for Bob")
    ev = next_event(ws_a, "message")
    cv = only_conversation(ann, ch_a)
    assert ev["org_id"] == ann.org_id
    assert ev["conversation_id"] == cv["id"]
    assert ev["channel_id"] == ch_a["id"]
    msgs = ann.get(f"/api/v1/conversations/{cv['id']}/messages").json()
    assert ev["message_id"] == msgs["data"][0]["id"]
    # Bob's first event is Bob's own: Ann's came before it and was not
    # sent to him.
    ev = next_event(ws_b, "message")
    assert ev["org_id"] == bob.org_id
    assert ev["conversation_id"] == only_conversation(bob, ch_b)["id"]
    # Events carry ids only, never content.
    assert "for Bob" not in json.dumps(ev)
    ws_a.close()
    ws_b.close()


def test_conversation_changes_and_sends_are_events(server, fakes):
    ann = signup(server.url)
    ch = whatsapp(ann, fakes)
    customer_says(server, ch)
    cv = only_conversation(ann, ch)
    ws, _ = open_stream(server, ann)

    r = ann.patch(f"/api/v1/conversations/{cv['id']}", {"status": "closed"})
    assert r.status_code == 200, r.text
    ev = next_event(ws, "conversation")
    assert ev["conversation_id"] == cv["id"]

    r = ann.post(f"/api/v1/conversations/{cv['id']}/messages",
                 {"type": "text", "text": {"body": "On its way"}},
                 headers={"Idempotency-Key": os.urandom(8).hex()})
    assert r.status_code == 202, r.text
    ev = next_event(ws, "message")
    assert ev["message_id"] == r.json()["id"]
    ws.close()


def test_an_api_token_streams_its_organization(server, fakes):
    ann = signup(server.url)
    ch = whatsapp(ann, fakes)
    token, row = new_token(ann)
    ws, hello = open_stream(server, token=token)
    assert hello["org_id"] == ann.org_id
    customer_says(server, ch)
    assert next_event(ws, "message")["channel_id"] == ch["id"]

    # Revoking the token ends its stream.
    r = ann.delete("/api/v1/api-tokens/" + row["id"])
    assert r.status_code in (200, 204), r.text
    assert_closed(ws)


# ---------------------------------------------------------------- endings

def test_logout_ends_the_stream(server):
    ann = signup(server.url)
    ws, _ = open_stream(server, ann)
    other, _ = open_stream(server, signup(server.url))
    assert ann.post("/api/v1/auth/logout").status_code in (200, 204)
    assert_closed(ws)
    # Only that session's streams end.
    other.ping("still there?")
    op, data = other.recv_data(control_frame=True)
    assert op == websocket.ABNF.OPCODE_PONG
    other.close()


def test_switching_organization_ends_the_stream(server):
    ann = signup(server.url, org="Alpha")
    r = ann.post("/api/v1/organizations", {"name": "Beta"})
    assert r.status_code == 201, r.text
    ws, _ = open_stream(server, ann)
    r = ann.post("/api/v1/auth/switch", {"organization_id": r.json()["id"]})
    assert r.status_code == 200, r.text
    assert_closed(ws)
    ws, hello = open_stream(server, ann)
    assert hello["org_id"] == r.json()["organization"]["id"]
    ws.close()


def test_removal_from_the_organization_ends_the_stream(server):
    ann = signup(server.url)
    al = add_member(server.url, ann)
    ws, _ = open_stream(server, al)
    r = ann.delete("/api/v1/members/" + al.user_id)
    assert r.status_code == 204, r.text
    assert_closed(ws)


def test_a_lost_listen_connection_closes_streams_which_reconnect(
        server, fakes, admin_db):
    ann = signup(server.url)
    ch = whatsapp(ann, fakes)
    ws, _ = open_stream(server, ann)
    with admin_db.cursor() as cur:
        cur.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                    " WHERE query = 'LISTEN inbox_events'")
        assert cur.rowcount >= 1
    assert_closed(ws)
    # The workers reconnect within seconds.
    ws = open_stream_once_listening(server, ann)
    customer_says(server, ch)
    assert next_event(ws, "message")["channel_id"] == ch["id"]
    ws.close()


# ---------------------------------------------------------------- two nodes

def test_two_nodes_on_one_database_both_deliver(server, fakes,
                                                tmp_path_factory):
    env = dict(fakes.bases)
    env["PLUGINS"] = TEST_PLUGINS
    other = Server(str(tmp_path_factory.mktemp("kore2")), env=env).start()
    try:
        ann = signup(server.url)
        ch = whatsapp(ann, fakes)
        # A session is valid on every node; only the Origin differs.
        ws1, _ = open_stream(server, ann)
        ws2, hello = open_stream(other, ann, origin=other.url)
        assert hello["org_id"] == ann.org_id
        wamid = customer_says(server, ch)
        ev1, ev2 = next_event(ws1, "message"), next_event(ws2, "message")
        assert ev1 == ev2
        assert ev1["conversation_id"] == only_conversation(ann, ch)["id"]
        ws1.close()
        ws2.close()
        assert wamid
    finally:
        other.stop()
    assert "died" not in other.read_log()


def test_listens_over_tcp_after_a_host_that_refuses(fakes, tmp_path_factory,
                                                   admin_db):
    """libpq tries the next host on a socket of its own (often under the
    same number): the LISTEN connection follows it, over TCP."""
    with admin_db.cursor() as cur:
        cur.execute("SHOW port")
        port = cur.fetchone()[0]
    env = dict(fakes.bases)
    env["PLUGINS"] = TEST_PLUGINS
    env["DATABASE_URL"] = (
        f"host=127.0.0.1,127.0.0.1 port=1,{port} dbname=inbox "
        "user=inbox_app connect_timeout=3 target_session_attrs=read-write "
        "application_name=inbox-tcp")
    node = Server(str(tmp_path_factory.mktemp("kore-tcp")), env=env).start()
    try:
        ann = signup(node.url)
        ch = whatsapp(ann, fakes)
        ws = open_stream_once_listening(node, ann)
        customer_says(node, ch)
        assert next_event(ws, "message")["channel_id"] == ch["id"]
        ws.close()
    finally:
        node.stop()
    log = node.read_log()
    assert "exited with status" not in log, log[-3000:]
    assert "sandbox violation" not in log, log[-3000:]


# ---------------------------------------------------------------- hostile

def test_refused_before_the_upgrade(server):
    ann = signup(server.url)
    url = server.url + "/api/v1/stream"
    # Signed out.
    r = requests.get(url, headers=upgrade_headers(server), timeout=WAIT)
    assert_error(r, 401, "UNAUTHENTICATED")
    # Another site's page using the visitor's cookie.
    r = ann.http.get(url, headers=upgrade_headers(
        server, Origin="https://evil.example"), timeout=WAIT)
    assert_error(r, 403, "CROSS_ORIGIN")
    # Not a websocket handshake, or not one we speak.
    r = ann.http.get(url, headers={"Origin": server.url}, timeout=WAIT)
    assert_error(r, 426, "UPGRADE_REQUIRED")
    r = ann.http.get(url, headers=upgrade_headers(
        server, **{"Sec-WebSocket-Version": "8"}), timeout=WAIT)
    assert_error(r, 426, "UPGRADE_REQUIRED")
    # A forged or garbage session.
    for sid in ("A" * 43, "not-a-session", "x" * 5000):
        r = requests.get(url, headers=upgrade_headers(server),
                         cookies={"sid": sid}, timeout=WAIT)
        assert r.status_code in (400, 401, 431), r.text
    # Other methods.
    r = ann.post("/api/v1/stream")
    assert_error(r, 405, "METHOD_NOT_ALLOWED")


def test_hostile_frames_drop_only_that_client(server):
    ann = signup(server.url)
    ws, _ = open_stream(server, ann)
    ok, _ = open_stream(server, ann)
    # Over kore's frame limit: that socket is dropped.
    ws.send("x" * 70000)
    assert_closed(ws)
    # Raw garbage after an upgrade.
    ws2, _ = open_stream(server, ann)
    ws2.sock.sendall(os.urandom(4096))
    assert_closed(ws2)
    # Ordinary client chatter is ignored, and the others carry on.
    ok.send("ping")
    ok.ping("x")
    op, _ = ok.recv_data(control_frame=True)
    assert op == websocket.ABNF.OPCODE_PONG
    ok.close()
    assert requests.get(server.url + "/api/v1/health",
                        timeout=WAIT).status_code == 200


def test_many_streams_and_half_open_sockets(server):
    ann = signup(server.url)
    socks = []
    for _ in range(20):
        s = socket.create_connection(("127.0.0.1", server.port))
        s.sendall(b"GET /api/v1/stream HTTP/1.1\r\nHost: x\r\n")
        socks.append(s)
    streams = [open_stream(server, ann)[0] for _ in range(30)]
    for s in socks:
        s.close()
    for ws in streams:
        ws.ping("p")
        assert ws.recv_data(control_frame=True)[0] == \
            websocket.ABNF.OPCODE_PONG
        ws.close()


# ---------------------------------------------------------------- on demand

LINGER_MS = 1500


@pytest.fixture(scope="module")
def lone(tmp_path_factory, fakes):
    """A node of one worker (so every stream meets the same LISTEN
    connection) with a short linger, and an application_name of its own
    to find its LISTEN connection by."""
    name = "inbox-lone-" + uuid.uuid4().hex[:8]
    env = dict(fakes.bases)
    env.update({"PLUGINS": TEST_PLUGINS, "WORKERS": "1",
                "STREAM_LINGER_MS": str(LINGER_MS),
                "DATABASE_URL": os.environ["DATABASE_URL"] +
                " application_name=" + name})
    node = Server(str(tmp_path_factory.mktemp("kore-lone")), env=env).start()
    node.app_name = name
    yield node
    node.stop()
    log = node.read_log()
    assert "died" not in log, log[-3000:]
    assert "exited with status" not in log, log[-3000:]


def listen_pids(admin_db, node):
    """The backends of node's LISTEN connections."""
    with admin_db.cursor() as cur:
        cur.execute("SELECT pid FROM pg_stat_activity"
                    " WHERE application_name = %s"
                    " AND query = 'LISTEN inbox_events'", (node.app_name,))
        return sorted(r[0] for r in cur.fetchall())


def wait_listen_pids(admin_db, node, want, timeout=WAIT):
    """node's LISTEN backends once want(pids) holds (a closed
    connection's backend takes a moment to go)."""
    deadline = time.time() + timeout
    while True:
        pids = listen_pids(admin_db, node)
        if want(pids):
            return pids
        assert time.time() < deadline, "LISTEN backends: %r" % pids
        time.sleep(0.05)


def cold(admin_db, node):
    """Waits out the linger: no LISTEN connection left on node."""
    wait_listen_pids(admin_db, node, lambda p: p == [],
                     timeout=LINGER_MS / 1000 + WAIT)


def test_no_listen_connection_without_streams(lone, fakes, admin_db):
    ann = signup(lone.url)
    ch = whatsapp(ann, fakes)
    # Events are raised with nobody streaming: nobody LISTENs for them.
    for _ in range(3):
        customer_says(lone, ch)
    time.sleep(0.5)
    assert listen_pids(admin_db, lone) == []


def test_the_first_stream_misses_nothing_after_its_hello(lone, fakes,
                                                        admin_db):
    ann = signup(lone.url)
    ch = whatsapp(ann, fakes)
    cold(admin_db, lone)
    ws, hello = open_stream(lone, ann)
    assert hello == {"kind": "hello", "org_id": ann.org_id}
    # The hello came after LISTEN: at once, not on some later poll.
    assert len(listen_pids(admin_db, lone)) == 1
    customer_says(lone, ch)
    assert next_event(ws, "message")["channel_id"] == ch["id"]
    ws.close()


def test_linger_then_close_then_back(lone, fakes, admin_db):
    ann = signup(lone.url)
    ch = whatsapp(ann, fakes)
    cold(admin_db, lone)
    ws, _ = open_stream(lone, ann)
    pids = listen_pids(admin_db, lone)
    assert len(pids) == 1
    ws.close()
    # Within the linger a new stream reuses the connection, and its own
    # close starts the linger afresh.
    time.sleep(LINGER_MS / 1000 * 0.6)
    ws, _ = open_stream(lone, ann)
    assert listen_pids(admin_db, lone) == pids
    ws.close()
    time.sleep(LINGER_MS / 1000 * 0.6)
    assert listen_pids(admin_db, lone) == pids
    # Then it goes, and events raised meanwhile wake nobody.
    cold(admin_db, lone)
    customer_says(lone, ch)
    assert listen_pids(admin_db, lone) == []
    # A new stream brings it back, and hears events.
    ws, _ = open_stream(lone, ann)
    assert len(listen_pids(admin_db, lone)) == 1
    assert listen_pids(admin_db, lone) != pids
    customer_says(lone, ch)
    assert next_event(ws, "message")["channel_id"] == ch["id"]
    ws.close()
    assert "LISTEN closed" in lone.read_log()


def test_many_streams_at_once_on_a_cold_worker(lone, fakes, admin_db):
    ann, bob = signup(lone.url, org="Ann's"), signup(lone.url, org="Bob's")
    ch_a, ch_b = whatsapp(ann, fakes), whatsapp(bob, fakes)
    token, _ = new_token(bob)
    cold(admin_db, lone)
    results, errors = [None] * 16, []

    def opener(i):
        try:
            if i % 2:
                results[i] = open_stream(lone, token=token)
            else:
                results[i] = open_stream(lone, ann)
        except Exception as e:  # noqa: BLE001 (reported below)
            errors.append(repr(e))

    threads = [threading.Thread(target=opener, args=(i,)) for i in
               range(len(results))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(WAIT + 5)
    assert errors == []
    assert len(listen_pids(admin_db, lone)) == 1
    customer_says(lone, ch_a, "for Ann")
    customer_says(lone, ch_b, "for Bob")
    for i, (ws, hello) in enumerate(results):
        who, ch = (bob, ch_b) if i % 2 else (ann, ch_a)
        assert hello == {"kind": "hello", "org_id": who.org_id}
        ev = next_event(ws, "message")
        assert ev["org_id"] == who.org_id
        assert ev["channel_id"] == ch["id"]
        ws.close()


def test_clients_that_leave_while_listen_is_connecting(lone, fakes, admin_db):
    """Handshakes asleep waiting for LISTEN whose clients go: the worker
    forgets them, and the connection still closes after the linger."""
    ann = signup(lone.url)
    ch = whatsapp(ann, fakes)
    cold(admin_db, lone)
    req = ("GET /api/v1/stream HTTP/1.1\r\nHost: x\r\n"
           "Connection: Upgrade\r\nUpgrade: websocket\r\n"
           "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
           "Sec-WebSocket-Version: 13\r\nOrigin: %s\r\n"
           "Cookie: sid=%s\r\n\r\n" % (lone.url, ann.http.cookies["sid"]))
    for _ in range(20):
        s = socket.create_connection(("127.0.0.1", lone.port))
        s.sendall(req.encode())
        s.close()
    cold(admin_db, lone)
    ws, _ = open_stream(lone, ann)
    customer_says(lone, ch)
    assert next_event(ws, "message")["channel_id"] == ch["id"]
    ws.close()


def test_revokes_racing_streams_opening_on_a_cold_worker(lone, admin_db):
    """Logging out while streams open on a worker still connecting its
    LISTEN: each stream is refused, or opened and then closed; none is
    left open with the ended session."""
    for delay in (0, 0.003, 0.01):
        ann = signup(lone.url)
        sid = ann.http.cookies["sid"]
        cold(admin_db, lone)
        opened, refused = [], []

        def opener():
            try:
                opened.append(open_stream(lone, sid=sid)[0])
            except websocket.WebSocketBadStatusException as e:
                refused.append(e.status_code)

        threads = [threading.Thread(target=opener) for _ in range(6)]
        for t in threads:
            t.start()
        time.sleep(delay)
        r = ann.post("/api/v1/auth/logout")
        assert r.status_code in (200, 204), r.text
        for t in threads:
            t.join(WAIT + 5)
        assert set(refused) <= {401, 503}, refused
        assert len(opened) + len(refused) == 6
        for ws in opened:
            assert_closed(ws)
        # Once the logout is committed, nothing opens with the session.
        with pytest.raises(websocket.WebSocketBadStatusException) as e:
            open_stream(lone, sid=sid)
        assert e.value.status_code == 401


def test_a_lost_connection_without_streams_waits_for_one(lone, fakes,
                                                        admin_db):
    ann = signup(lone.url)
    ch = whatsapp(ann, fakes)
    cold(admin_db, lone)
    ws, _ = open_stream(lone, ann)
    ws.close()
    # Lost while lingering: nobody to close, nothing to reconnect for.
    with admin_db.cursor() as cur:
        cur.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                    " WHERE application_name = %s"
                    " AND query = 'LISTEN inbox_events'", (lone.app_name,))
        assert cur.rowcount == 1
    time.sleep(2.5)
    assert listen_pids(admin_db, lone) == []
    ws = open_stream_once_listening(lone, ann)
    customer_says(lone, ch)
    assert next_event(ws, "message")["channel_id"] == ch["id"]
    ws.close()


def test_a_bad_linger_setting_stops_the_server(fakes, tmp_path_factory):
    for bad in ("soon", "-1", "1e3", "99999999999999999999"):
        env = dict(fakes.bases)
        env.update({"PLUGINS": TEST_PLUGINS, "STREAM_LINGER_MS": bad})
        node = Server(str(tmp_path_factory.mktemp("kore-bad")), env=env)
        with pytest.raises(RuntimeError) as e:
            node.start()
        node.stop()
        assert "STREAM_LINGER_MS" in str(e.value)
