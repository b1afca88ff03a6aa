"""The dispatcher (app/inbox-dispatcher), black box: the API queues, the
dispatcher sends to the fake providers (tests/fakes), and what each fake
received is checked byte for byte, as is what the database says
afterwards (message status, provider ids, dead letters, channel state).

Dispatchers are started per test by the `dispatchers` fixture, with
short timeouts, leases and backoffs so failures play out in seconds;
every one a test starts is stopped at its end. A dispatcher sends for
every organization in the database, so each test uses provider accounts
of its own and finds its requests by account (path, key or token).

Here: each adapter's exact request for every type it sends, the stored
provider id, the order of a recipient's messages, NOTIFY wake-ups.
Failures (429, throttling in HTTP 400, 5xx, timeouts, revoked tokens,
dead letters), pacing, several dispatchers, a killed dispatcher and a
PostgreSQL restart are in test_dispatcher_failures.py.
"""
import json
import os
import signal
import subprocess
import time
import uuid

import pytest

from apiclient import signup
from conftest import ROOT, TEST_PLUGINS
import webhooks as wh
from test_sending import (SAMPLES, CAN_SEND, channel_of, customer_writes,
                          digits, reply, text)

DISPATCHER = os.path.join(ROOT, "app/inbox-dispatcher")

# Short enough for failures to play out within a test.
TEST_ENV = {
    "DISPATCH_HTTP_TIMEOUT_MS": "3000",
    "DISPATCH_LEASE_MS": "2000",
    "DISPATCH_BACKOFF_MS": "200",
    "DISPATCH_BACKOFF_MAX_MS": "1500",
    "DISPATCH_IDLE_MS": "5000",
    "DISPATCH_VERBOSE": "1",
}


class Dispatcher:
    """One inbox-dispatcher process with its own log file."""

    count = 0

    def __init__(self, tmpdir, env):
        Dispatcher.count += 1
        self.name = "disp-%d-%d" % (os.getpid(), Dispatcher.count)
        self.log_path = os.path.join(str(tmpdir), self.name + ".log")
        self.env = dict(os.environ)
        self.env.update(TEST_ENV)
        self.env["DISPATCH_ID"] = self.name
        self.env.update(env)
        self.proc = None

    def start(self, wait=True):
        self.log = open(self.log_path, "ab")
        self.proc = subprocess.Popen([DISPATCHER], cwd=ROOT, env=self.env,
                                     stdout=self.log,
                                     stderr=subprocess.STDOUT)
        deadline = time.time() + 15
        while wait and time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("dispatcher exited: " + self.read_log())
            if "listening" in self.read_log():
                return self
            time.sleep(0.05)
        if wait:
            raise RuntimeError("dispatcher did not start: " +
                               self.read_log())
        return self

    def stop(self, timeout=20):
        """SIGTERM, then the exit status (it finishes what is in flight)."""
        if self.proc is None or self.proc.poll() is not None:
            return self.proc.returncode if self.proc else None
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise

    def kill(self):
        self.proc.kill()
        self.proc.wait()

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def read_log(self):
        with open(self.log_path, "rb") as f:
            return f.read().decode("utf-8", "replace")


@pytest.fixture
def dispatchers(fakes, tmp_path):
    """start(**env) starts a dispatcher against the test database and the
    fakes; all of them are stopped when the test ends."""
    started = []

    def start(wait=True, **env):
        e = dict(fakes.bases, PLUGINS=TEST_PLUGINS)
        e.update({k: str(v) for k, v in env.items()})
        d = Dispatcher(tmp_path, e)
        started.append(d)
        return d.start(wait)

    yield start
    for d in started:
        if d.running():
            d.stop()
        log = d.read_log()
        assert "Segmentation" not in log and "AddressSanitizer" not in log


def wait_until(fn, timeout=10.0, interval=0.05, what="condition"):
    deadline = time.time() + timeout
    while True:
        value = fn()
        if value:
            return value
        if time.time() > deadline:
            raise AssertionError("timed out waiting for " + what)
        time.sleep(interval)


def message(client, message_id):
    r = client.get(f"/api/v1/messages/{message_id}")
    assert r.status_code == 200, r.text
    return r.json()


def wait_status(client, message_id, statuses=("sent",), timeout=10.0):
    return wait_until(lambda: (lambda m: m if m["status"] in statuses
                               else None)(message(client, message_id)),
                      timeout=timeout,
                      what=f"message {message_id} to be {statuses}")


# ---------------------------------------------------------------- requests

def sends_of(fakes, ch):
    """Send requests the fakes received for channel ch, oldest first."""
    adapter = ch["adapter"]
    if adapter == "whatsapp_cloud":
        return fakes.requests(path=rf"/{ch['pnid']}/messages$",
                              method="POST")
    if adapter == "360dialog":
        return [r for r in fakes.requests(path=r"^/d360/messages$",
                                          method="POST")
                if r.header("D360-API-KEY") == ch["key"]]
    if adapter == "messenger":
        return fakes.requests(path=rf"/{ch['page']}/messages$",
                              method="POST")
    if adapter == "instagram":
        return fakes.requests(path=rf"/{ch['ig']}/messages$",
                              method="POST")
    return fakes.requests(path=rf"/accounts/{ch['account']}/messages$",
                          method="POST")


def wait_sends(fakes, ch, count, timeout=10.0, answered=True):
    def got():
        rs = [r for r in sends_of(fakes, ch)
              if not answered or r.status is not None]
        return rs if len(rs) >= count else None
    return wait_until(got, timeout=timeout,
                      what=f"{count} sends on {ch['adapter']}")


def provider_id(adapter, request):
    body = request.response_json()
    if adapter in ("whatsapp_cloud", "360dialog"):
        return body["messages"][0]["id"]
    return body.get("message_id") if adapter != "example" else body["id"]


def expected_request(fakes, ch, customer, msg_id, sample):
    """(path, auth header name and value, body) of a send, as
    docs/plugins.md says each adapter builds it."""
    body = SAMPLES[sample]
    adapter, kind = ch["adapter"], body["type"]
    obj = body.get("media") or body.get(kind)
    if adapter in ("whatsapp_cloud", "360dialog"):
        if kind == "template":
            inner = dict(obj, language={"code": obj["language"]})
        elif kind == "interactive" and obj["kind"] == "buttons":
            inner = {"type": "button", "body": {"text": obj["body"]},
                     "action": {"buttons": [
                         {"type": "reply", "reply": b}
                         for b in obj["buttons"]]}}
        elif kind == "interactive":
            inner = {"type": "list", "body": {"text": obj["body"]},
                     "action": {"button": obj["button"],
                                "sections": obj["sections"]}}
        else:
            inner = obj
        want = {"messaging_product": "whatsapp",
                "recipient_type": "individual", "to": customer,
                "type": kind, kind: inner,
                "biz_opaque_callback_data": msg_id}
        if adapter == "360dialog":
            return ("/d360/messages", ("D360-API-KEY", ch["key"]), want)
        return (f"/graph/v23.0/{ch['pnid']}/messages",
                ("Authorization", "Bearer " + ch["token"]), want)
    if adapter in ("messenger", "instagram"):
        if kind == "text":
            message_ = {"text": obj["body"]}
        elif kind == "interactive":
            message_ = {"attachment": {"type": "template", "payload": {
                "template_type": "button", "text": obj["body"],
                "buttons": [{"type": "postback", "title": b["title"],
                             "payload": b["id"]} for b in obj["buttons"]]}}}
        else:
            message_ = {"attachment": {
                "type": "file" if kind == "document" else kind,
                "payload": {"url": obj["link"]}}}
        if adapter == "messenger":
            message_["metadata"] = msg_id
            return (f"/graph/v23.0/{ch['page']}/messages",
                    ("Authorization", "Bearer " + ch["token"]),
                    {"recipient": {"id": customer},
                     "messaging_type": "RESPONSE", "message": message_})
        return (f"/instagram/v23.0/{ch['ig']}/messages",
                ("Authorization", "Bearer " + ch["token"]),
                {"recipient": {"id": customer}, "message": message_})
    return (f"/example/accounts/{ch['account']}/messages",
            ("Authorization", "Bearer " + ch["token"]),
            {"to": customer, "text": obj["body"], "client_ref": msg_id})


# ---------------------------------------------------------------- tests

@pytest.mark.parametrize("adapter", ["whatsapp_cloud", "360dialog",
                                     "messenger", "instagram", "example"])
def test_every_type_goes_out_as_the_provider_expects(server, fakes, admin_db,
                                                     dispatchers, adapter):
    owner = signup(server.url)
    ch = channel_of(owner, fakes, adapter)
    cv, customer, _ = customer_writes(server, admin_db, owner, ch)
    dispatchers()
    names = [n for n in SAMPLES if n in CAN_SEND[adapter]]
    for i, name in enumerate(names):
        r = reply(owner, cv["id"], SAMPLES[name])
        assert r.status_code == 202, (name, r.text)
        msg_id = r.json()["id"]
        req = wait_sends(fakes, ch, i + 1)[i]
        path, (hname, hvalue), body = expected_request(
            fakes, ch, customer, msg_id, name)
        assert (req.method, req.path) == ("POST", path), name
        assert req.header(hname) == hvalue, name
        assert req.header("Content-Type") == "application/json"
        assert req.json() == body, (name, req.json())
        assert req.status == 200, (name, req.response_body)
        m = wait_status(owner, msg_id)
        # The provider's id is kept for the status webhooks.
        assert m["provider_message_id"] == provider_id(adapter, req)
        assert m["sent_at"] is not None and m["delivery"] is None
    assert len(sends_of(fakes, ch)) == len(names)


@pytest.mark.parametrize("adapter,emoji,wire", [
    ("whatsapp_cloud", "\U0001f44d", None),
    ("360dialog", "\U0001f44d", None),
    ("messenger", "\U0001f44d", None),
    ("instagram", "\u2764\ufe0f", "love"),
])
def test_reactions_name_the_providers_message(server, fakes, admin_db,
                                              dispatchers, adapter, emoji,
                                              wire):
    owner = signup(server.url)
    ch = channel_of(owner, fakes, adapter)
    cv, customer, inbound = customer_writes(server, admin_db, owner, ch)
    dispatchers()
    r = reply(owner, cv["id"], {"type": "reaction", "reaction": {
        "message_id": inbound["id"], "emoji": emoji}})
    assert r.status_code == 202, r.text
    [req] = wait_sends(fakes, ch, 1)
    body = req.json()
    target = inbound["provider_message_id"]
    if adapter in ("whatsapp_cloud", "360dialog"):
        assert body["type"] == "reaction"
        assert body["reaction"] == {"message_id": target, "emoji": emoji}
        assert body["to"] == customer
    else:
        assert body == {"recipient": {"id": customer},
                        "sender_action": "react",
                        "payload": {"message_id": target,
                                    "reaction": wire or emoji}}
    wait_status(owner, r.json()["id"])


def test_a_reply_quotes_the_providers_id(server, fakes, admin_db,
                                         dispatchers):
    owner = signup(server.url)
    ch = channel_of(owner, fakes, "whatsapp_cloud")
    cv, customer, inbound = customer_writes(server, admin_db, owner, ch)
    dispatchers()
    r = reply(owner, cv["id"], dict(text("Quoted"), reply_to=inbound["id"]))
    [req] = wait_sends(fakes, ch, 1)
    assert req.json()["context"] == {
        "message_id": inbound["provider_message_id"]}
    wait_status(owner, r.json()["id"])


def test_new_conversation_template_goes_out(server, fakes, admin_db,
                                            dispatchers):
    owner = signup(server.url)
    ch = channel_of(owner, fakes, "whatsapp_cloud")
    number = "1555" + digits(7)
    dispatchers()
    r = owner.post("/api/v1/messages", dict(
        SAMPLES["template"], channel_id=ch["id"], to="+" + number))
    assert r.status_code == 202, r.text
    [req] = wait_sends(fakes, ch, 1)
    assert req.json()["to"] == number
    assert req.json()["template"]["language"] == {"code": "en_US"}
    m = wait_status(owner, r.json()["id"])
    assert m["provider_message_id"] == provider_id("whatsapp_cloud", req)


def test_status_webhooks_move_a_sent_message_on(server, fakes, admin_db,
                                                dispatchers):
    owner = signup(server.url)
    ch = channel_of(owner, fakes, "whatsapp_cloud")
    cv, customer, _ = customer_writes(server, admin_db, owner, ch)
    dispatchers()
    mid = reply(owner, cv["id"], text("Track me")).json()["id"]
    m = wait_status(owner, mid)
    wamid = m["provider_message_id"]
    for st in ("delivered", "read"):
        status, _ = wh.post(f"{server.url}/api/v1/webhooks/meta",
                            wh.whatsapp_payload(ch["pnid"], statuses=[
                                wh.whatsapp_status(wamid, st,
                                                   recipient_id=customer)]),
                            app_secret=os.environ.get("META_APP_SECRET",
                                                      "dev-app-secret"))
        assert status == 200
        wait_status(owner, mid, (st,))


def test_a_recipients_messages_leave_in_order(server, fakes, admin_db,
                                              dispatchers):
    owner = signup(server.url)
    ch = channel_of(owner, fakes, "whatsapp_cloud")
    cv, _, _ = customer_writes(server, admin_db, owner, ch)
    # A slow provider: if two went at once, the second could overtake.
    rule = fakes.program("POST", rf"/{ch['pnid']}/messages$", delay=0.3,
                         times=None)
    try:
        dispatchers()
        ids = [reply(owner, cv["id"], text("part %d" % i)).json()["id"]
               for i in range(5)]
        reqs = wait_sends(fakes, ch, 5, timeout=15)
    finally:
        fakes.cancel(rule)
    assert [r.json()["biz_opaque_callback_data"] for r in reqs] == ids
    # One at a time: each started after the one before was answered.
    for a, b in zip(reqs, reqs[1:]):
        assert b.time >= a.time + 0.29
    for i in ids:
        wait_status(owner, i)


def test_notify_wakes_an_idle_dispatcher(server, fakes, admin_db,
                                         dispatchers):
    owner = signup(server.url)
    ch = channel_of(owner, fakes, "whatsapp_cloud")
    cv, _, _ = customer_writes(server, admin_db, owner, ch)
    d = dispatchers(DISPATCH_IDLE_MS=60000)
    time.sleep(1.0)     # idle, with nothing due for a minute
    start = time.time()
    mid = reply(owner, cv["id"], text("wake up")).json()["id"]
    wait_status(owner, mid, timeout=5)
    assert time.time() - start < 1.5
    assert d.running()


def test_sigterm_finishes_what_is_in_flight(server, fakes, admin_db,
                                            dispatchers):
    owner = signup(server.url)
    ch = channel_of(owner, fakes, "whatsapp_cloud")
    cv, _, _ = customer_writes(server, admin_db, owner, ch)
    rule = fakes.program("POST", rf"/{ch['pnid']}/messages$", delay=1.5)
    try:
        d = dispatchers()
        first = reply(owner, cv["id"], text("in flight")).json()["id"]
        wait_sends(fakes, ch, 1, answered=False)
        second = reply(owner, cv["id"], text("waits")).json()["id"]
        assert d.stop() == 0
    finally:
        fakes.cancel(rule)
    assert message(owner, first)["status"] == "sent"
    # The second was behind the first (same recipient): never sent, and
    # not counted as an attempt.
    m = message(owner, second)
    assert m["status"] == "queued" and m["delivery"]["attempts"] == 0
    assert len(sends_of(fakes, ch)) == 1
    assert "stopped" in d.read_log()
    # The next dispatcher sends it.
    dispatchers()
    wait_status(owner, second)


# ---------------------------------------------------------------- echoes

def post_meta(server, payload):
    status, _ = wh.post(f"{server.url}/api/v1/webhooks/meta", payload,
                        app_secret=os.environ.get("META_APP_SECRET",
                                                  "dev-app-secret"))
    assert status == 200


def test_an_echo_before_the_answer_is_our_message(server, fakes, admin_db,
                                                  dispatchers):
    """Messenger echoes carry our client_ref: an echo that arrives while
    our send is still waiting for its answer marks the message sent, and
    the answer then changes nothing: one message in the thread."""
    owner = signup(server.url)
    ch = channel_of(owner, fakes, "messenger")
    cv, customer, _ = customer_writes(server, admin_db, owner, ch)
    rule = fakes.program("POST", rf"/{ch['page']}/messages$", delay=1.0)
    try:
        dispatchers()
        mid = reply(owner, cv["id"], text("Echo me")).json()["id"]
        [req] = wait_sends(fakes, ch, 1, answered=False)
        assert req.json()["message"]["metadata"] == mid
        post_meta(server, wh.messenger_payload(ch["page"], wh.echo_event(
            ch["page"], customer, "Echo me", metadata=mid,
            mid="m_echo_" + uuid.uuid4().hex)))
        assert message(owner, mid)["status"] == "sent"
        wait_sends(fakes, ch, 1)
        time.sleep(0.3)
    finally:
        fakes.cancel(rule)
    m = message(owner, mid)
    assert m["status"] == "sent" and m["delivery"] is None
    assert m["provider_message_id"].startswith("m_echo_")
    thread = owner.get(f"/api/v1/conversations/{cv['id']}/messages").json()
    assert [x["id"] for x in thread["data"] if x["direction"] == "out"] == \
        [mid]


def test_an_instagram_echo_of_our_send_is_not_a_second_message(
        server, fakes, admin_db, dispatchers):
    """Instagram echoes carry no client_ref: recognized by the provider's
    id, before our answer is recorded or after."""
    owner = signup(server.url)
    ch = channel_of(owner, fakes, "instagram")
    cv, customer, _ = customer_writes(server, admin_db, owner, ch)
    dispatchers()
    first = reply(owner, cv["id"], text("After")).json()["id"]
    sent = wait_status(owner, first)
    post_meta(server, wh.instagram_payload(ch["ig"], wh.echo_event(
        ch["ig"], customer, "After", mid=sent["provider_message_id"])))

    # An echo that comes first is stored as sent from elsewhere, then
    # found to be ours when the answer names its id.
    known = "aWdf" + uuid.uuid4().hex
    rule = fakes.program("POST", rf"/{ch['ig']}/messages$", status=200,
                         delay=1.0, body={"recipient_id": customer,
                                          "message_id": known})
    try:
        second = reply(owner, cv["id"], text("Before")).json()["id"]
        wait_sends(fakes, ch, 2, answered=False)
        post_meta(server, wh.instagram_payload(ch["ig"], wh.echo_event(
            ch["ig"], customer, "Before", mid=known)))
        assert message(owner, second)["status"] == "queued"
        between = owner.get(f"/api/v1/conversations/{cv['id']}/messages"
                            ).json()["data"]
        assert [x["sender"] for x in between if x["direction"] == "out"
                and x["provider_message_id"] == known] == ["provider_app"]
        m = wait_status(owner, second)
    finally:
        fakes.cancel(rule)
    assert m["provider_message_id"] == known
    thread = owner.get(f"/api/v1/conversations/{cv['id']}/messages").json()
    outs = [x for x in thread["data"] if x["direction"] == "out"]
    assert sorted(x["id"] for x in outs) == sorted([first, second])
