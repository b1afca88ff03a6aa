"""Tests of the fakes themselves: every behaviour and failure mode the
other suites rely on, so a failing app test points at the app.

Run: /usr/bin/python3 -m pytest tests/fakes -q
"""

import hashlib
import hmac
import http.client
import json
import os
import re
import signal
import socket
import subprocess
import threading
import time
import urllib.error
import urllib.parse
import urllib.request

import pytest

import webhooks as wh
from providers import DEMO, DEMO_TEMPLATES, FakeProviders

WA = DEMO["whatsapp"]
PAGE = DEMO["page"]
IG = DEMO["instagram"]
D360 = DEMO["d360"]
EX = DEMO["example"]
WA_AUTH = {"Authorization": "Bearer " + WA["tokens"][0]}
PAGE_AUTH = {"Authorization": "Bearer " + PAGE["tokens"][0]}
IG_AUTH = {"Authorization": "Bearer " + IG["tokens"][0]}
D360_AUTH = {"D360-API-KEY": D360["api_key"]}
EX_AUTH = {"Authorization": "Bearer " + EX["tokens"][0]}
PN = WA["phone_number_id"]
TEXT = {"messaging_product": "whatsapp", "to": "+1 555 123 0001",
        "type": "text", "text": {"body": "hello"}}


@pytest.fixture
def fake():
    server = FakeProviders()
    server.start()
    yield server
    server.stop()


class Answer:
    """An HTTP answer: status, headers, raw body and parsed JSON."""

    def __init__(self, status, headers, raw):
        self.status, self.headers, self.raw = status, headers, raw
        try:
            self.json = json.loads(raw)
        except ValueError:
            self.json = None

    @property
    def error(self):
        return (self.json or {}).get("error", {})


def call(fake, method, path, body=None, headers=None, timeout=5):
    """One request to the fake; body dicts go as JSON, bytes as is."""
    data = json.dumps(body).encode() if isinstance(body, (dict, list)) \
        else body
    req = urllib.request.Request(fake.url + path, data=data, method=method,
                                 headers=dict(headers or {}))
    if isinstance(body, (dict, list)):
        req.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            return Answer(resp.status, resp.headers, resp.read())
    except urllib.error.HTTPError as err:
        return Answer(err.code, err.headers, err.read())


def graph(fake, method, path, body=None, headers=WA_AUTH, **kw):
    return call(fake, method, "/graph/v23.0" + path, body, headers, **kw)


def send_text(fake, **kw):
    return graph(fake, "POST", "/%s/messages" % PN, TEXT, **kw)


def quietly(func, *args):
    """Run func in a thread that expects to be cut off."""
    try:
        func(*args)
    except (OSError, http.client.HTTPException):
        pass


def assert_graph_error(answer, status, code, subcode=None):
    assert answer.status == status, answer.raw
    assert answer.error["code"] == code
    assert answer.error.get("error_subcode") == subcode
    assert answer.error["type"] and answer.error["message"]
    assert answer.error["fbtrace_id"]


# --- life cycle ---------------------------------------------------------------

def test_start_gives_url_and_bases_and_stop_refuses_connections():
    server = FakeProviders()
    url = server.start()
    assert re.fullmatch(r"http://127\.0\.0\.1:\d+", url)
    assert server.bases == {"GRAPH_API_BASE": url + "/graph/v23.0",
                            "INSTAGRAM_API_BASE": url + "/instagram/v23.0",
                            "D360_API_BASE": url + "/d360",
                            "EXAMPLE_API_BASE": url + "/example"}
    assert send_text(server).status == 200
    server.stop()
    with pytest.raises(urllib.error.URLError):
        send_text(server, timeout=2)


def test_stop_drops_kept_alive_connections_and_restart_reuses_port():
    server = FakeProviders()
    server.start()
    port = server.port
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=3)
    conn.request("GET", "/graph/v23.0/%s" % PN, headers=WA_AUTH)
    assert conn.getresponse().read() and True
    server.stop()
    with pytest.raises((http.client.HTTPException, OSError)):
        conn.request("GET", "/graph/v23.0/%s" % PN, headers=WA_AUTH)
        conn.getresponse()
    server.start()
    assert server.port == port
    assert send_text(server).status == 200
    server.stop()


def test_keep_alive_serves_several_requests_on_one_connection(fake):
    conn = http.client.HTTPConnection("127.0.0.1", fake.port, timeout=3)
    for _ in range(3):
        conn.request("POST", "/graph/v23.0/%s/messages" % PN,
                     json.dumps(TEXT), dict(WA_AUTH))
        assert conn.getresponse().read()
    assert len(fake.requests()) == 3
    conn.close()


def test_chunked_request_body_is_read(fake):
    conn = http.client.HTTPConnection("127.0.0.1", fake.port, timeout=3)
    conn.request("POST", "/graph/v23.0/%s/messages" % PN,
                  iter([json.dumps(TEXT).encode()]),
                  dict(WA_AUTH, **{"Transfer-Encoding": "chunked"}),
                  encode_chunked=True)
    assert conn.getresponse().status == 200
    assert fake.requests()[0].json() == TEXT


def test_cli_serves_and_stops_on_sigterm():
    here = os.path.dirname(os.path.abspath(__file__))
    proc = subprocess.Popen(
        ["/usr/bin/python3", os.path.join(here, "providers.py"),
         "--port", "0", "--quiet"],
        stdout=subprocess.PIPE, text=True)
    try:
        line = proc.stdout.readline()
        base = line.strip().split("=", 1)[1]
        assert line.startswith("GRAPH_API_BASE=http://127.0.0.1:")
        req = urllib.request.Request(base + "/%s" % PN, headers=WA_AUTH)
        with urllib.request.urlopen(req, timeout=5) as resp:
            assert json.loads(resp.read())["id"] == PN
        root = base.rsplit("/graph/", 1)[0]
        with urllib.request.urlopen(root + "/_control/requests") as resp:
            assert len(json.loads(resp.read())["requests"]) == 1
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(10) == 0
        proc.stdout.close()


# --- Graph: WhatsApp -----------------------------------------------------------

def test_phone_number_with_fields(fake):
    answer = graph(fake, "GET", "/%s?fields=id,display_phone_number,"
                   "verified_name,quality_rating" % PN)
    assert answer.status == 200
    assert answer.json == {"id": PN,
                           "display_phone_number": WA["display_phone_number"],
                           "verified_name": WA["verified_name"],
                           "quality_rating": "GREEN"}


def test_phone_number_default_fields_and_health_status(fake):
    default = graph(fake, "GET", "/%s" % PN).json
    assert default["id"] == PN and "health_status" not in default
    health = graph(fake, "GET", "/%s?fields=health_status" % PN).json
    entities = health["health_status"]["entities"]
    assert {"entity_type": "PHONE_NUMBER", "id": PN,
            "can_send_message": "AVAILABLE"} in entities


def test_unknown_field_is_error_100(fake):
    assert_graph_error(graph(fake, "GET", "/%s?fields=nope" % PN), 400, 100)


def test_unknown_id_is_100_subcode_33(fake):
    answer = graph(fake, "GET", "/999?fields=id")
    assert_graph_error(answer, 400, 100, 33)
    assert answer.error["type"] == "GraphMethodException"


def test_token_of_another_account_cannot_see_the_number(fake):
    fake.add_whatsapp_number("111", "222", "15550000000", "Other", "tok-2")
    answer = graph(fake, "GET", "/%s" % PN,
                   headers={"Authorization": "Bearer tok-2"})
    assert_graph_error(answer, 400, 100, 33)
    assert graph(fake, "GET", "/111",
                 headers={"Authorization": "Bearer tok-2"}).status == 200


def test_bad_token_is_401_code_190_exact_body(fake):
    answer = graph(fake, "GET", "/%s" % PN,
                   headers={"Authorization": "Bearer nope"})
    assert answer.status == 401
    assert set(answer.error) == {"message", "type", "code", "fbtrace_id"}
    assert answer.error["message"] == ("Invalid OAuth access token - "
                                       "Cannot parse access token")
    assert (answer.error["type"], answer.error["code"]) == (
        "OAuthException", 190)


def test_missing_token_is_code_104_and_query_token_works(fake):
    assert_graph_error(graph(fake, "GET", "/%s" % PN, headers={}), 400, 104)
    answer = graph(fake, "GET", "/%s?access_token=%s" % (PN, WA["tokens"][0]),
                   headers={})
    assert answer.json["id"] == PN


def test_send_text_answers_cloud_api_shape_with_escaped_wamid(fake):
    answer = send_text(fake)
    assert answer.status == 200
    assert answer.json["messaging_product"] == "whatsapp"
    assert answer.json["contacts"] == [{"input": "+1 555 123 0001",
                                        "wa_id": "15551230001"}]
    [message] = answer.json["messages"]
    assert message["message_status"] == "accepted"
    assert message["id"].startswith("wamid.HBgL")
    assert {"+", "/", "="} <= set(message["id"])
    assert b"\\/" in answer.raw          # Graph escapes "/" on the wire
    assert send_text(fake).json["messages"][0]["id"] != message["id"]


def test_send_to_bsuid_recipient_answers_user_id(fake):
    body = dict(TEXT, recipient="US.13491208655302741918")
    del body["to"]
    answer = graph(fake, "POST", "/%s/messages" % PN, body)
    assert answer.json["contacts"] == [{"input": "US.13491208655302741918",
                                        "user_id": "US.13491208655302741918"}]


@pytest.mark.parametrize("change", [
    {"messaging_product": None}, {"to": None}, {"type": "hologram"},
    {"text": None}, {"text": {"preview_url": False}},
    {"text": {"body": "x" * 4097}},
])
def test_malformed_send_is_code_100(fake, change):
    body = {k: v for k, v in dict(TEXT, **change).items() if v is not None}
    assert_graph_error(graph(fake, "POST", "/%s/messages" % PN, body),
                       400, 100)


def test_non_json_send_is_code_100(fake):
    assert_graph_error(graph(fake, "POST", "/%s/messages" % PN, b"to=1"),
                       400, 100)


def test_other_message_types_and_mark_read(fake):
    image = {"messaging_product": "whatsapp", "to": "15551230001",
             "type": "image", "image": {"link": "https://x/p.jpg"}}
    assert graph(fake, "POST", "/%s/messages" % PN, image).status == 200
    read = {"messaging_product": "whatsapp", "status": "read",
            "message_id": "wamid.X"}
    assert graph(fake, "POST", "/%s/messages" % PN, read).json == {
        "success": True}


def test_waba_subscribed_apps(fake):
    path = "/%s/subscribed_apps" % WA["waba_id"]
    assert graph(fake, "GET", path).json == {"data": []}
    assert graph(fake, "POST", path).json == {"success": True}
    [app] = graph(fake, "GET", path).json["data"]
    assert app["whatsapp_business_api_data"]["id"]
    assert fake.subscription(WA["waba_id"]) == {}
    assert graph(fake, "DELETE", path).json == {"success": True}
    assert fake.subscription(WA["waba_id"]) is None


def test_waba_message_templates_page_by_escaped_cursors(fake):
    path = "/%s/message_templates?fields=name,language,status&limit=2" % \
        WA["waba_id"]
    first = graph(fake, "GET", path).json
    assert [t["name"] for t in first["data"]] == ["hello_world",
                                                  "order_update"]
    assert set(first["data"][0]) == {"id", "name", "language", "status"}
    after = first["paging"]["cursors"]["after"]
    assert set(after) & set("+/=")          # a client must escape it
    assert first["paging"]["next"].endswith(
        "&after=" + urllib.parse.quote(after, safe=""))
    second = graph(fake, "GET", path + "&after=" +
                   urllib.parse.quote(after, safe="")).json
    assert [t["name"] for t in second["data"]] == ["spring_sale"]
    assert second["data"][0]["status"] == "REJECTED"
    assert "next" not in second["paging"]
    # Unescaped, "+" reads as a space: not a cursor.
    assert_graph_error(graph(fake, "GET", path + "&after=" + after),
                       400, 100)
    every = graph(fake, "GET", "/%s/message_templates" % WA["waba_id"])
    assert len(every.json["data"]) == 3 and \
        every.json["data"][1]["components"] == \
        DEMO_TEMPLATES[1]["components"]


def test_message_templates_errors(fake):
    path = "/%s/message_templates" % WA["waba_id"]
    assert_graph_error(graph(fake, "GET", path + "?fields=name,nope"),
                       400, 100)
    assert_graph_error(graph(fake, "GET", path, headers=PAGE_AUTH),
                       400, 100, 33)
    assert_graph_error(graph(fake, "GET", "/%s/message_templates" % PN),
                       400, 100, 33)
    fake.set_templates(WA["waba_id"], [])
    assert graph(fake, "GET", path).json == {"data": []}
    fake.revoke_token(WA["tokens"][0])
    assert_graph_error(graph(fake, "GET", path), 401, 190, 460)


# --- Graph: Messenger and Instagram with Facebook Login -----------------------

def test_me_with_page_token_is_the_page(fake):
    answer = graph(fake, "GET", "/me?fields=id,name", headers=PAGE_AUTH)
    assert answer.json == {"id": PAGE["page_id"], "name": PAGE["name"]}
    assert_graph_error(graph(fake, "GET", "/me"), 400, 100, 33)


def test_page_send(fake):
    body = {"recipient": {"id": "PSID1"}, "messaging_type": "RESPONSE",
            "message": {"text": "hello"}}
    answer = graph(fake, "POST", "/%s/messages" % PAGE["page_id"], body,
                   headers=PAGE_AUTH)
    assert answer.status == 200
    assert answer.json["recipient_id"] == "PSID1"
    assert answer.json["message_id"].startswith("m_")
    assert graph(fake, "POST", "/me/messages", body,
                 headers=PAGE_AUTH).status == 200


def test_page_send_as_form_with_access_token(fake):
    form = ("recipient=%7B%22id%22%3A%22PSID1%22%7D&message=%7B%22text%22"
            "%3A%22hi%22%7D&access_token=" + PAGE["tokens"][0]).encode()
    answer = graph(fake, "POST", "/%s/messages" % PAGE["page_id"], form,
                   headers={})
    assert answer.json["recipient_id"] == "PSID1"


@pytest.mark.parametrize("body", [
    {"message": {"text": "x"}},
    {"recipient": {"id": "P"}},
    {"recipient": {"id": "P"}, "message": {}},
    {"recipient": {"id": "P"}, "messaging_type": "MESSAGE_TAG",
     "message": {"text": "x"}},
    {"recipient": {"id": "P"}, "message": {"text": "x" * 2001}},
])
def test_malformed_page_send_is_code_100(fake, body):
    answer = graph(fake, "POST", "/%s/messages" % PAGE["page_id"], body,
                   headers=PAGE_AUTH)
    assert_graph_error(answer, 400, 100)


def test_page_subscribed_apps_needs_fields(fake):
    path = "/%s/subscribed_apps" % PAGE["page_id"]
    assert_graph_error(graph(fake, "POST", path, headers=PAGE_AUTH), 400, 100)
    graph(fake, "POST", path + "?subscribed_fields=messages,message_echoes",
          headers=PAGE_AUTH)
    [app] = graph(fake, "GET", path, headers=PAGE_AUTH).json["data"]
    assert app["subscribed_fields"] == ["messages", "message_echoes"]


def test_instagram_node_on_graph_host_with_page_token(fake):
    answer = graph(fake, "GET", "/%s?fields=id,username" % IG["user_id"],
                   headers=PAGE_AUTH)
    assert answer.json == {"id": IG["user_id"], "username": IG["username"]}


# --- graph.instagram.com -----------------------------------------------------

def ig(fake, method, path, body=None, headers=IG_AUTH):
    return call(fake, method, "/instagram/v23.0" + path, body, headers)


def test_instagram_me(fake):
    answer = ig(fake, "GET", "/me?fields=user_id,username")
    assert answer.json == {"user_id": IG["user_id"],
                           "username": IG["username"],
                           "id": IG["app_scoped_id"]}
    assert IG["app_scoped_id"] != IG["user_id"]


def test_tokens_do_not_work_on_the_other_host(fake):
    answer = ig(fake, "GET", "/me", headers=PAGE_AUTH)
    assert_graph_error(answer, 401, 190)
    assert "Cannot parse access token" in answer.error["message"]
    assert_graph_error(graph(fake, "GET", "/me", headers=IG_AUTH), 401, 190)


def test_instagram_send(fake):
    body = {"recipient": {"id": "IGSID1"}, "message": {"text": "hi"}}
    for node in (IG["user_id"], "me"):
        answer = ig(fake, "POST", "/%s/messages" % node, body)
        assert answer.json["recipient_id"] == "IGSID1"
        assert answer.json["message_id"]
    too_long = {"recipient": {"id": "IGSID1"}, "message": {"text": "x" * 1001}}
    assert_graph_error(ig(fake, "POST", "/me/messages", too_long), 400, 100)
    assert_graph_error(ig(fake, "POST", "/42/messages", body), 400, 100, 33)


# --- 360dialog ---------------------------------------------------------------

def d360(fake, method, path, body=None, headers=D360_AUTH):
    return call(fake, method, "/d360" + path, body, headers)


@pytest.mark.parametrize("headers", [{}, {"D360-API-KEY": "wrong"}])
def test_d360_needs_its_key(fake, headers):
    answer = d360(fake, "GET", "/health_status", headers=headers)
    assert answer.status == 401
    assert answer.json["meta"]["http_code"] == 401
    assert answer.json["meta"]["developer_message"] == "Invalid api key"


def test_d360_health_status_names_the_phone_number_id(fake):
    status = d360(fake, "GET", "/health_status").json["health_status"]
    assert status["can_send_message"] == "AVAILABLE"
    assert {"entity_type": "PHONE_NUMBER", "id": D360["phone_number_id"],
            "can_send_message": "AVAILABLE"} in status["entities"]
    kinds = [e["entity_type"] for e in status["entities"]]
    assert kinds == ["PHONE_NUMBER", "WABA", "BUSINESS", "APP"]


def test_d360_webhook_config(fake):
    assert d360(fake, "GET", "/v1/configs/webhook").json["url"] is None
    config = {"url": "https://app.example/hook/1",
              "headers": {"X-Inbox-Secret": "s3cret"}}
    assert d360(fake, "POST", "/v1/configs/webhook", config).json == {
        "url": config["url"]}
    assert d360(fake, "GET", "/v1/configs/webhook").json == config
    assert fake.d360_webhook(D360["api_key"]) == config
    for bad in ({}, {"url": ""}, {"url": "https://x", "headers": {"a": 1}}):
        assert d360(fake, "POST", "/v1/configs/webhook", bad).status == 400


def test_d360_templates_by_limit_and_offset(fake):
    first = d360(fake, "GET", "/v1/configs/templates?limit=2").json
    assert (first["count"], first["total"], first["offset"],
            first["limit"]) == (2, 3, 0, 2)
    assert [t["status"] for t in first["waba_templates"]] == [
        "approved", "approved"]
    assert first["waba_templates"][0]["namespace"]
    rest = d360(fake, "GET", "/v1/configs/templates?limit=2&offset=2").json
    assert [t["name"] for t in rest["waba_templates"]] == ["spring_sale"]
    assert rest["waba_templates"][0]["status"] == "rejected"
    assert len(d360(fake, "GET", "/v1/configs/templates").json[
        "waba_templates"]) == 3
    assert d360(fake, "GET", "/v1/configs/templates?offset=-1").status == \
        400
    assert d360(fake, "GET", "/v1/configs/templates",
                headers={"D360-API-KEY": "nope"}).status == 401


def test_d360_send_is_cloud_api(fake):
    answer = d360(fake, "POST", "/messages", TEXT)
    assert answer.json["messages"][0]["id"].startswith("wamid.")
    assert_graph_error(d360(fake, "POST", "/messages", {"to": "1"}), 400, 100)
    assert d360(fake, "GET", "/nothing").status == 404


# --- example ----------------------------------------------------------------

def test_example_provider(fake):
    path = "/example/accounts/%s" % EX["account_id"]
    assert call(fake, "GET", path, headers=EX_AUTH).json == {
        "id": EX["account_id"], "name": EX["name"]}
    answer = call(fake, "POST", path + "/messages", {"to": "u1", "text": "hi"},
                  EX_AUTH)
    assert answer.status == 200 and answer.json["id"]
    assert call(fake, "POST", path + "/messages", {"to": "u1"},
                EX_AUTH).status == 400
    assert call(fake, "GET", path, headers={"Authorization": "Bearer x"}
                ).status == 401
    assert call(fake, "GET", "/example/accounts/other",
                headers=EX_AUTH).status == 404


# --- recording ---------------------------------------------------------------

def test_requests_are_recorded_with_their_answers(fake):
    answer = send_text(fake)
    graph(fake, "GET", "/%s?fields=id" % PN)
    call(fake, "GET", "/_control/state")
    sent, looked = fake.requests()
    assert (sent.method, sent.path) == ("POST", "/graph/v23.0/%s/messages"
                                        % PN)
    assert sent.header("authorization") == WA_AUTH["Authorization"]
    assert sent.json() == TEXT and sent.status == 200
    assert sent.response_json() == answer.json
    assert looked.query == {"fields": "id"}
    assert fake.requests(path=r"/messages$") == [sent]
    assert fake.requests(method="get") == [looked]


def test_wait_for_requests_from_another_thread(fake):
    threading.Timer(0.2, send_text, [fake]).start()
    [req] = fake.wait_for(1, path="/messages", timeout=5)
    assert req.status == 200
    with pytest.raises(TimeoutError):
        fake.wait_for(2, path="/messages", timeout=0.3)


# --- failure injection -----------------------------------------------------------

THROTTLED = {"error": {"message": "(#130429) Rate limit hit",
                       "type": "OAuthException", "code": 130429,
                       "fbtrace_id": "AbC"}}


@pytest.mark.parametrize("status,headers,body", [
    (400, {}, THROTTLED),
    (429, {"Retry-After": "7"}, {"error": {"code": 4}}),
    (429, {}, ""),
    (500, {}, {"error": {"code": 2, "is_transient": True}}),
    (502, {"Content-Type": "text/html"}, "<html>Bad Gateway</html>"),
])
def test_programmed_answer(fake, status, headers, body):
    fake.program("POST", r"/messages$", status=status, headers=headers,
                 body=body)
    answer = send_text(fake)
    assert answer.status == status
    for name, value in headers.items():
        assert answer.headers[name] == value
    if status == 429 and not headers:
        assert "Retry-After" not in answer.headers
    expected = body if isinstance(body, dict) else None
    assert answer.json == expected or answer.raw == body.encode()
    assert send_text(fake).status == 200       # times=1 by default


def test_programmed_times_order_and_method(fake):
    fake.program("POST", "/messages", status=500, times=2)
    fake.program("*", "/messages", status=502)
    fake.program("GET", ".", status=503, times=None)
    assert [send_text(fake).status for _ in range(4)] == [500, 500, 502, 200]
    assert [graph(fake, "GET", "/%s" % PN).status for _ in range(3)] == [
        503] * 3


def test_delay_provokes_client_timeout_then_answers(fake):
    fake.program("POST", "/messages", delay=1.0)
    started = time.monotonic()
    with pytest.raises((socket.timeout, urllib.error.URLError)):
        send_text(fake, timeout=0.3)
    [req] = fake.wait_for(1, answered=False, timeout=1)
    assert req.status is None                  # still being answered
    assert time.monotonic() - started < 0.9
    fake.program("POST", "/messages", delay=0.3)
    assert send_text(fake, timeout=5).status == 200    # delay only


def test_close_without_answer(fake):
    fake.program("POST", "/messages", close=True)
    with pytest.raises((http.client.HTTPException, urllib.error.URLError,
                        ConnectionError)):
        send_text(fake)
    assert fake.wait_for(1)[0].status == 0
    assert send_text(fake).status == 200


def test_stop_does_not_wait_for_a_delayed_answer():
    server = FakeProviders()
    server.start()
    server.program("*", ".", delay=30)
    threading.Thread(target=quietly, args=(send_text, server),
                     daemon=True).start()
    server.wait_for(1, answered=False)
    started = time.monotonic()
    server.stop()
    assert time.monotonic() - started < 3


def test_revoked_token_is_401_190_everywhere(fake):
    for token in (WA["tokens"][0], IG["tokens"][0], D360["api_key"],
                  EX["tokens"][0]):
        fake.revoke_token(token)
    answer = send_text(fake)
    assert_graph_error(answer, 401, 190, 460)
    assert_graph_error(ig(fake, "GET", "/me"), 401, 190, 460)
    assert d360(fake, "GET", "/health_status").status == 401
    assert call(fake, "GET", "/example/accounts/%s" % EX["account_id"],
                headers=EX_AUTH).status == 401


def test_rate_limit_whatsapp_number(fake):
    fake.rate_limit(PN, 2)
    statuses = [send_text(fake) for _ in range(3)]
    assert [a.status for a in statuses] == [200, 200, 400]
    assert statuses[2].error["code"] == 130429
    time.sleep(1.05)
    assert send_text(fake).status == 200
    fake.rate_limit(PN, None)
    assert all(send_text(fake).status == 200 for _ in range(5))


def test_rate_limit_other_providers(fake):
    fake.rate_limit(D360["phone_number_id"], 1)
    fake.rate_limit(PAGE["page_id"], 1)
    fake.rate_limit(EX["account_id"], 1)
    for _ in range(2):
        last_d360 = d360(fake, "POST", "/messages", TEXT)
        last_page = graph(fake, "POST", "/me/messages",
                          {"recipient": {"id": "P"}, "message": {"text": "x"}},
                          headers=PAGE_AUTH)
        last_ex = call(fake, "POST", "/example/accounts/%s/messages"
                       % EX["account_id"], {"to": "u", "text": "x"}, EX_AUTH)
    assert last_d360.error["code"] == 130429
    assert_graph_error(last_page, 400, 613)
    assert (last_ex.status, last_ex.headers["Retry-After"]) == (429, "1")


def test_reset(fake):
    fake.add_page("555", "Extra", "extra-token")
    fake.program("*", ".", status=500, times=None)
    fake.revoke_token(WA["tokens"][0])
    fake.rate_limit(PN, 0)
    send_text(fake)
    fake.reset()
    assert fake.requests() == []
    assert send_text(fake).status == 200
    assert fake.state()["page"][-1]["page_id"] == "555"
    fake.reset(accounts=True)
    assert [p["page_id"] for p in fake.state()["page"]] == [PAGE["page_id"]]
    assert FakeProviders(demo=False).state()["whatsapp"] == []


# --- control API -----------------------------------------------------------------

def control(fake, method, name, body=None):
    return call(fake, method, "/_control/" + name, body if body is not None
                else ({} if method == "POST" else None))


def test_control_api(fake):
    assert control(fake, "POST", "accounts/whatsapp", {
        "phone_number_id": "7", "waba_id": "8", "display_phone_number": "1",
        "verified_name": "C", "tokens": ["ctl-token"]}).json == {"ok": True}
    assert graph(fake, "GET", "/7", headers={
        "Authorization": "Bearer ctl-token"}).status == 200
    rule = control(fake, "POST", "program", {
        "method": "POST", "path": "/messages$", "status": 429,
        "headers": {"Retry-After": "3"}, "body": THROTTLED, "times": None})
    assert rule.json["id"]
    assert send_text(fake).headers["Retry-After"] == "3"
    assert control(fake, "GET", "state").json["rules"][0]["hits"] == 1
    control(fake, "POST", "cancel", {"id": rule.json["id"]})
    assert send_text(fake).status == 200
    control(fake, "POST", "reset")
    control(fake, "POST", "revoke", {"token": WA["tokens"][0]})
    assert send_text(fake).status == 401
    control(fake, "POST", "reset")
    control(fake, "POST", "rate_limit", {"account_id": PN, "per_second": 1})
    assert [send_text(fake).status for _ in range(2)] == [200, 400]
    found = control(fake, "GET", "requests?path=/messages$&method=POST")
    assert len(found.json["requests"]) == 2
    assert found.json["requests"][0]["json"] == TEXT
    assert found.json["requests"][0]["response"]["messages"]
    waited = control(fake, "POST", "wait", {"count": 2, "path": "/messages"})
    assert len(waited.json["requests"]) == 2
    assert control(fake, "POST", "wait",
                   {"count": 9, "timeout": 0.2}).status == 408
    assert control(fake, "POST", "accounts/templates", {
        "waba_id": "8", "templates": [{"name": "t", "language": "en",
                                       "status": "APPROVED"}]}).status == 200
    assert control(fake, "GET", "state").json["templates"]["8"][0][
        "name"] == "t"
    assert control(fake, "POST", "program", {"nope": 1}).status == 400
    assert control(fake, "GET", "nothing").status == 404
    assert not fake.requests(path="_control")


# --- webhooks.py ------------------------------------------------------------------

def test_meta_json_escapes_like_meta():
    body = wh.meta_json({"t": "äöå /x \U0001f600", "n": 1})
    assert body == (b'{"t":"\\u00e4\\u00f6\\u00e5 \\/x \\ud83d\\ude00",'
                    b'"n":1}')
    assert json.loads(body) == {"t": "äöå /x \U0001f600", "n": 1}


def test_sign_known_vector():
    assert wh.sign(b"The quick brown fox jumps over the lazy dog", "key") == (
        "sha256=f7bc83f430538424b13298e6aa6fb143ef4d59a14946175997479dbc2d1a3cd8")


def test_post_sends_signed_meta_bytes(fake):
    payload = wh.whatsapp_payload(PN, messages=[wh.whatsapp_text("héllo/x")])
    status, _ = wh.post(fake.url + "/hook", payload, app_secret="s3cret")
    assert status == 404                        # the fake has no /hook
    [req] = fake.requests("/hook")
    assert req.body == wh.meta_json(payload)
    expected = hmac.new(b"s3cret", req.body, hashlib.sha256).hexdigest()
    assert req.header("X-Hub-Signature-256") == "sha256=" + expected
    assert req.header("Content-Type") == "application/json"
    wh.post(fake.url + "/raw", b"{}", headers={"X-Hub-Signature-256": "x"})
    assert fake.requests("/raw")[0].header("X-Hub-Signature-256") == "x"


def test_post_d360_uses_registered_headers(fake):
    d360(fake, "POST", "/v1/configs/webhook",
         {"url": fake.url + "/d360hook", "headers": {"X-Secret": "abc"}})
    wh.post_d360(fake.d360_webhook(D360["api_key"]),
                 wh.whatsapp_payload(D360["phone_number_id"]))
    [req] = fake.requests("/d360hook")
    assert req.header("X-Secret") == "abc"
    assert req.header("X-Hub-Signature-256") is None


def test_verify_handshake_query(fake):
    wh.verify(fake.url + "/hook", "vt", challenge="42")
    assert fake.requests()[0].query == {
        "hub.mode": "subscribe", "hub.verify_token": "vt",
        "hub.challenge": "42"}


def test_whatsapp_inbound_payload_shape():
    msg = wh.whatsapp_text("hi", reply_to="wamid.PREV")
    payload = wh.whatsapp_payload(PN, messages=[msg])
    [entry] = payload["entry"]
    [change] = entry["changes"]
    value = change["value"]
    assert payload["object"] == "whatsapp_business_account"
    assert entry["id"] == WA["waba_id"] and change["field"] == "messages"
    assert value["metadata"] == {"display_phone_number":
                                 WA["display_phone_number"],
                                 "phone_number_id": PN}
    assert value["contacts"] == [{"profile": {"name": "Test User"},
                                  "wa_id": "15551230001"}]
    [sent] = value["messages"]
    assert isinstance(sent["timestamp"], str) and sent["type"] == "text"
    assert sent["context"] == {"id": "wamid.PREV",
                               "from": WA["display_phone_number"]}


def test_whatsapp_message_kinds():
    kinds = [wh.whatsapp_media("image", caption="c"),
             wh.whatsapp_media("audio", voice=True),
             wh.whatsapp_media("document", filename="a.pdf"),
             wh.whatsapp_location(1.5, -2.25, name="Here"),
             wh.whatsapp_button_reply("b1", "Yes", "wamid.A"),
             wh.whatsapp_list_reply("r1", "Row", "wamid.A", "desc"),
             wh.whatsapp_template_button("STOP", "Stop", "wamid.A"),
             wh.whatsapp_reaction("wamid.A"),
             wh.whatsapp_contacts_card(),
             wh.whatsapp_unsupported(),
             wh.whatsapp_message("request_welcome")]
    assert [m["type"] for m in kinds] == [
        "image", "audio", "document", "location", "interactive",
        "interactive", "button", "reaction", "contacts", "unsupported",
        "request_welcome"]
    assert kinds[0]["image"]["mime_type"] == "image/jpeg"
    assert kinds[3]["location"]["latitude"] == 1.5
    assert kinds[4]["interactive"]["button_reply"] == {"id": "b1",
                                                       "title": "Yes"}
    assert kinds[9]["errors"][0]["code"] == 131051
    assert "emoji" not in wh.whatsapp_reaction("w", emoji=None)["reaction"]


def test_whatsapp_bsuid_system_and_statuses():
    bsuid = wh.whatsapp_text("hi", sender=None, from_user_id="US.1")
    value = wh.whatsapp_payload(PN, messages=[bsuid])["entry"][0]["changes"][
        0]["value"]
    assert "from" not in value["messages"][0]
    assert value["contacts"] == [{"profile": {"name": "Test User"},
                                  "user_id": "US.1"}]
    system = wh.whatsapp_payload(PN, messages=[wh.whatsapp_system("1999")])
    assert "contacts" not in system["entry"][0]["changes"][0]["value"]
    failed = wh.whatsapp_status("wamid.A", "failed")
    read = wh.whatsapp_status("wamid.A", "read")
    assert failed["errors"][0]["code"] == 131047 and "pricing" not in failed
    assert read["pricing"]["pricing_model"] == "PMP"
    statuses = wh.whatsapp_payload(PN, statuses=[failed, read])
    value = statuses["entry"][0]["changes"][0]["value"]
    assert "contacts" not in value and len(value["statuses"]) == 2


def test_merge_batches_tenants():
    one = wh.whatsapp_payload("1", messages=[wh.whatsapp_text("a")])
    two = wh.whatsapp_payload("2", statuses=[wh.whatsapp_status("w", "sent")])
    both = wh.merge(one, two)
    assert [e["changes"][0]["value"]["metadata"]["phone_number_id"]
            for e in both["entry"]] == ["1", "2"]


def test_messenger_events():
    page, psid = PAGE["page_id"], "PSID1"
    payload = wh.messenger_payload(
        page,
        wh.message_event(page, psid, "hi", attachments=[
            wh.attachment("image", "https://x/y.png", sticker_id=369239263)]),
        wh.echo_event(page, psid, "sent by us", metadata="out-1"),
        wh.postback_event(page, psid, "Start", "GET_STARTED"),
        wh.delivery_event(page, psid),
        wh.messenger_read_event(page, psid),
        wh.reaction_event(page, psid, "m_target"))
    assert payload["object"] == "page"
    [entry] = payload["entry"]
    assert entry["id"] == page and isinstance(entry["time"], int)
    msg, echo, postback, delivery, read, reaction = entry["messaging"]
    assert msg["sender"] == {"id": psid} and msg["recipient"] == {"id": page}
    assert isinstance(msg["timestamp"], int)
    assert msg["message"]["mid"].startswith("m_")
    assert echo["sender"] == {"id": page} and echo["message"]["is_echo"]
    assert postback["postback"]["payload"] == "GET_STARTED"
    assert "mids" not in delivery["delivery"]
    assert set(read["read"]) == {"watermark"}
    assert reaction["reaction"]["action"] == "react"
    standby = wh.messenger_payload(page, msg, standby=True)["entry"][0]
    assert "standby" in standby and "messaging" not in standby


def test_instagram_events():
    ig_id, igsid = IG["user_id"], "IGSID1"
    payload = wh.instagram_payload(
        ig_id,
        wh.story_reply_event(ig_id, igsid, "nice", "https://cdn/s", "st1"),
        wh.echo_event(ig_id, igsid, "ours"),
        wh.reaction_event(ig_id, igsid, "mid1", action="unreact"),
        wh.instagram_read_event(ig_id, igsid, "mid1"))
    assert payload["object"] == "instagram"
    story, echo, unreact, read = payload["entry"][0]["messaging"]
    assert story["message"]["reply_to"] == {"story": {"url": "https://cdn/s",
                                                      "id": "st1"}}
    assert echo["sender"] == {"id": ig_id}
    assert unreact["reaction"] == {"mid": "mid1", "action": "unreact"}
    assert read["read"] == {"mid": "mid1"}
    assert b"https:\\/\\/cdn\\/s" in wh.meta_json(payload)
