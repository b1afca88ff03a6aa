"""GET /api/v1/channels/{id}/templates: a WhatsApp channel's message
templates, for the composer. Black box against a real kore, the real
PostgreSQL and the fake providers (tests/fakes), which serve Graph's
message_templates edge (paged by escaped cursors) and 360dialog's
/v1/configs/templates (paged by offset):

- both WhatsApp adapters: every page asked for, exactly as documented
  (URL, query, auth header), the templates in one shape, status and
  category in Meta's upper case, the list cut past its bounds;
- Messenger, Instagram and example have none: 422 UNSUPPORTED, nobody
  asked;
- roles and tenancy: any member may list; another organization's
  channel is 404;
- the provider failing: credentials rejected (409, the channel in
  error), throttled or 5xx (503, with Retry-After), a timeout (504),
  a closed connection, an unknown WABA or an unreadable answer (502),
  a later page failing; secrets never in an answer;
- paging the provider gets wrong (360dialog offsets out of range or not
  moving on, a Graph cursor given again or unusable): 502 bad_answer,
  no loop;
- the worker's bounds: one listing per channel and two in all at once
  per worker, the rest 429 with Retry-After; a list kept for 60 s per
  worker, asked afresh once the credentials change.
"""
import threading
import time
from concurrent.futures import ThreadPoolExecutor
import urllib.parse
import uuid

import pytest

from apiclient import Client, add_member, assert_error, new_token, signup
from providers import DEMO_TEMPLATES, d360_error, graph_error
from test_channels import (CHANNELS, KINDS, D360, TIMEOUT_S, WhatsAppCloud,
                           connect, program)

assert program      # a fixture, imported for the tests below

FIELDS = "name,language,status,category,components"
WORKERS = 2         # tests/conftest.py: the test server's kore workers
BUSY_MAX = 2        # app/templates.c: listings at once per worker
RETRY_S = "2"       # the Retry-After of a 429


def templates(n, prefix="tpl"):
    """n templates in Meta's shape, statuses and categories varied."""
    statuses = ("APPROVED", "PENDING", "REJECTED", "PAUSED")
    return [{"name": "%s_%03d" % (prefix, i), "language": "en_US",
             "status": statuses[i % 4],
             "category": ("UTILITY", "MARKETING")[i % 2],
             "components": [{"type": "BODY", "text": "Hi {{1}} #%d" % i,
                             "example": {"body_text": [["Ann"]]}}]}
            for i in range(n)]


def shown(t):
    """A template as the API shows it."""
    return {k: t[k] for k in ("name", "language", "status", "category",
                              "components")}


def with_templates(fakes, kind, tpls):
    """A fresh account of adapter kind whose WABA has tpls."""
    acct = kind(fakes)
    fakes.set_templates(acct.waba, tpls)
    return acct


def template_requests(fakes, acct):
    path = (r"^/graph/v[0-9.]+/%s/message_templates$" % acct.waba
            if acct.adapter == "whatsapp_cloud" else
            r"^/d360/v1/configs/templates$")
    return [r for r in fakes.requests(path)
            if r.header(acct.auth_header) == acct.auth_value]


def list_of(client, ch):
    return client.get(f"{CHANNELS}/{ch['id']}/templates")


def fresh_clients(server, owner, n):
    """n API-token clients of owner's organization, each on a connection
    of its own (so on whichever worker accepts it)."""
    token, _ = new_token(owner, role="agent")
    return [Client(server.url, token=token, origin=False) for _ in range(n)]


def at_once(calls):
    """Runs every call at the same moment, each on a thread; their
    answers, in order."""
    start = threading.Barrier(len(calls))

    def run(call):
        start.wait()
        return call()
    with ThreadPoolExecutor(len(calls)) as pool:
        return list(pool.map(run, calls))


def assert_busy(r):
    body = assert_error(r, 429, "TOO_MANY_REQUESTS")
    assert r.headers.get("Retry-After") == RETRY_S
    assert body["details"] == {"retry_after": int(RETRY_S)}
    return body


def assert_bad_answer(r, acct, ch, owner):
    """A 502 for the provider's answer, not for the credentials; the
    channel left connected."""
    body = assert_error(r, 502, "PROVIDER_ERROR")
    assert body["details"] == {"outcome": "bad_answer"}
    assert "credentials" not in body["error"]
    assert acct.token not in r.text
    assert owner.get(f"{CHANNELS}/{ch['id']}").json()["status"] == \
        "connected"
    return body


def listed_whole(server, fakes, kind, tpls):
    """A fresh account of kind whose WABA has tpls, connected and listed:
    every template comes back, in order, in one shape. The account and
    the provider's requests for it."""
    owner = signup(server.url)
    acct = with_templates(fakes, kind, tpls)
    r = list_of(owner, connect(owner, acct))
    assert r.status_code == 200, r.text
    assert r.json() == {"templates": [shown(t) for t in tpls],
                        "truncated": False}
    assert acct.token not in r.text
    return acct, template_requests(fakes, acct)


# ---------------------------------------------------------------- listing

def test_whatsapp_cloud_lists_every_page(server, fakes):
    acct, (first, second) = listed_whole(server, fakes, WhatsAppCloud,
                                         templates(130))
    for req in (first, second):
        assert req.method == "GET" and req.body == b""
        assert req.header("Authorization") == "Bearer " + acct.token
        assert acct.token not in req.path + str(req.query)
        assert req.query["fields"] == FIELDS
        assert req.query["limit"] == "100"
    assert "after" not in first.query
    # The second page by Graph's own cursor, escaped on the way.
    after = first.response_json()["paging"]["cursors"]["after"]
    assert set(after) & set("+/=")
    assert second.query["after"] == after


def test_360dialog_lists_every_page(server, fakes):
    # 360dialog sends statuses in lower case: shown in Meta's spelling.
    acct, (first, second) = listed_whole(server, fakes, D360,
                                         templates(130, "d360"))
    assert first.query == {"limit": "100", "offset": "0"}
    assert second.query == {"limit": "100", "offset": "100"}
    assert first.header("Authorization") is None


@pytest.mark.parametrize("kind", [WhatsAppCloud, D360])
def test_demo_shapes_and_an_empty_list(server, fakes, kind):
    owner = signup(server.url)
    acct = with_templates(fakes, kind, DEMO_TEMPLATES)
    ch = connect(owner, acct)
    r = list_of(owner, ch)
    assert r.status_code == 200, r.text
    listed = r.json()["templates"]
    assert listed == [shown(t) for t in DEMO_TEMPLATES]
    assert [t["name"] for t in listed if t["status"] == "APPROVED"] == [
        "hello_world", "order_update"]
    assert listed[2]["components"][0]["text"] == \
        "Promo\u00e7\u00e3o: {{1}} de desconto!"
    empty = with_templates(fakes, kind, [])
    r = list_of(owner, connect(owner, empty))
    assert r.status_code == 200 and r.json() == {"templates": [],
                                                 "truncated": False}


def test_a_long_list_is_cut_and_says_so(server, fakes):
    owner = signup(server.url)
    acct = with_templates(fakes, D360, templates(2600, "many"))
    ch = connect(owner, acct)
    r = list_of(owner, ch)
    assert r.status_code == 200, r.text
    assert r.json()["truncated"] is True
    assert len(r.json()["templates"]) == 2500
    assert len(template_requests(fakes, acct)) == 25


@pytest.mark.parametrize("adapter", ["messenger", "instagram", "example"])
def test_adapters_without_templates_are_422(server, fakes, adapter):
    owner = signup(server.url)
    ch = connect(owner, KINDS[adapter](fakes))
    before = len(fakes.requests())
    body = assert_error(list_of(owner, ch), 422, "UNSUPPORTED")
    assert body["details"] == {"adapter": adapter}
    assert len(fakes.requests()) == before


# ---------------------------------------------------------------- who

def test_any_member_lists_but_only_in_their_organization(server, fakes):
    owner = signup(server.url)
    acct = with_templates(fakes, WhatsAppCloud, DEMO_TEMPLATES)
    ch = connect(owner, acct)
    agent = add_member(server.url, owner, "agent")
    token, _ = new_token(owner, role="agent")
    bot = Client(server.url, token=token, origin=False)
    for who in (agent, bot):
        r = list_of(who, ch)
        assert r.status_code == 200, r.text
        assert len(r.json()["templates"]) == 3
    other = signup(server.url)
    before = len(fakes.requests())
    assert_error(list_of(other, ch), 404, "NOT_FOUND")
    assert_error(other.get(f"{CHANNELS}/{uuid.uuid4()}/templates"), 404,
                 "NOT_FOUND")
    assert_error(other.get(f"{CHANNELS}/not-a-uuid/templates"), 404,
                 "NOT_FOUND")
    assert_error(Client(server.url).get(f"{CHANNELS}/{ch['id']}/templates"),
                 401, "UNAUTHENTICATED")
    assert len(fakes.requests()) == before
    assert_error(owner.post(f"{CHANNELS}/{ch['id']}/templates"), 405,
                 "METHOD_NOT_ALLOWED")


# ---------------------------------------------------------------- failures

@pytest.mark.parametrize("kind", [WhatsAppCloud, D360])
def test_rejected_credentials_put_the_channel_in_error(server, fakes, kind):
    owner = signup(server.url)
    acct = with_templates(fakes, kind, DEMO_TEMPLATES)
    ch = connect(owner, acct)
    fakes.revoke_token(acct.token)
    agent = add_member(server.url, owner, "agent")
    body = assert_error(list_of(agent, ch), 409, "CREDENTIALS_REJECTED")
    # The provider's words are the message, once.
    assert body["details"] == {"outcome": "auth"}
    assert body["error"].startswith("Credentials rejected")
    assert acct.rejected_text in body["error"]
    assert acct.token not in str(body)
    # As a failed test or send leaves it: in error, with the reason.
    seen = owner.get(f"{CHANNELS}/{ch['id']}").json()
    assert seen["status"] == "error"
    assert seen["status_message"] == body["error"]
    assert seen["checked_at"] > ch["checked_at"]
    # A rotated token brings it back, and the templates with it.
    new = acct.new_token()
    acct.setup(extra_tokens=(new,))
    r = owner.patch(f"{CHANNELS}/{ch['id']}",
                    {"credentials": {acct.secret_field: new}})
    assert r.status_code == 200 and r.json()["status"] == "connected"
    assert list_of(agent, ch).status_code == 200


def test_a_disconnected_channel_stays_disconnected(server, fakes):
    owner = signup(server.url)
    listed = with_templates(fakes, WhatsAppCloud, DEMO_TEMPLATES)
    ch = connect(owner, listed)
    owner.post(f"{CHANNELS}/{ch['id']}/disconnect")
    assert list_of(owner, ch).status_code == 200
    # Another one, never listed (a kept list would answer for it).
    acct = with_templates(fakes, WhatsAppCloud, DEMO_TEMPLATES)
    ch = connect(owner, acct)
    owner.post(f"{CHANNELS}/{ch['id']}/disconnect")
    fakes.revoke_token(acct.token)
    assert_error(list_of(owner, ch), 409, "CREDENTIALS_REJECTED")
    assert owner.get(f"{CHANNELS}/{ch['id']}").json()["status"] == \
        "disconnected"


@pytest.mark.parametrize("kind", [WhatsAppCloud, D360])
@pytest.mark.parametrize("status, headers, retry_after", [
    (500, {}, None), (503, {"Retry-After": "12"}, "12"),
    (429, {"Retry-After": "7"}, "7")])
def test_throttled_or_failing_provider_is_503(server, fakes, program, kind,
                                              status, headers, retry_after):
    owner = signup(server.url)
    acct = with_templates(fakes, kind, DEMO_TEMPLATES)
    ch = connect(owner, acct)
    path = (r"/message_templates$" if kind is WhatsAppCloud
            else r"^/d360/v1/configs/templates$")
    program("GET", path, status=status, headers=headers,
            body=graph_error(2, "Service temporarily unavailable")
            if kind is WhatsAppCloud else d360_error(status, "Busy"))
    r = list_of(owner, ch)
    body = assert_error(r, 503, "PROVIDER_UNAVAILABLE")
    assert body["details"]["outcome"] == "unavailable"
    assert "HTTP %d" % status in body["error"]
    assert r.headers.get("Retry-After") == retry_after
    # A provider's trouble is not the channel's: it stays connected.
    assert owner.get(f"{CHANNELS}/{ch['id']}").json()["status"] == \
        "connected"
    assert list_of(owner, ch).status_code == 200


def test_a_later_page_failing_fails_the_list(server, fakes, program):
    owner = signup(server.url)
    acct = with_templates(fakes, WhatsAppCloud, templates(150))
    ch = connect(owner, acct)
    program("GET", r"/%s/message_templates$" % acct.waba, status=None)
    program("GET", r"/%s/message_templates$" % acct.waba, status=500)
    assert_error(list_of(owner, ch), 503, "PROVIDER_UNAVAILABLE")
    assert len(template_requests(fakes, acct)) == 2


@pytest.mark.parametrize("failure, code, outcome", [
    ("closed", "PROVIDER_ERROR", "unreachable"),
    ("html", "PROVIDER_ERROR", "bad_answer"),
    ("not_found", "PROVIDER_ERROR", "not_found"),
    ("permission", "PROVIDER_ERROR", "rejected")])
def test_other_failures_are_502(server, fakes, program, failure, code,
                                outcome):
    owner = signup(server.url)
    acct = with_templates(fakes, WhatsAppCloud, DEMO_TEMPLATES)
    ch = connect(owner, acct)
    path = r"/%s/message_templates$" % acct.waba
    if failure == "closed":
        program("GET", path, close=True, times=2)
    elif failure == "html":
        program("GET", path, status=200, body="<html>Maintenance</html>")
    elif failure == "permission":
        program("GET", path, status=403, body=graph_error(
            200, "(#200) Requires whatsapp_business_management permission"))
    else:
        # A WABA this token cannot see (moved to another business).
        program("GET", path, status=400, body=graph_error(
            100, "Unsupported get request. Object with ID '%s' does not "
            "exist" % acct.waba, subcode=33,
            type_="GraphMethodException"))
    r = list_of(owner, ch)
    body = assert_error(r, 502, code)
    assert body["details"] == {"outcome": outcome}, body
    assert body["error"]
    assert acct.token not in r.text
    assert owner.get(f"{CHANNELS}/{ch['id']}").json()["status"] == \
        "connected"


def test_a_provider_that_does_not_answer_is_504(server, fakes, program):
    owner = signup(server.url)
    acct = with_templates(fakes, D360, DEMO_TEMPLATES)
    ch = connect(owner, acct)
    program("GET", r"^/d360/v1/configs/templates$", delay=TIMEOUT_S + 3)
    t0 = time.monotonic()
    body = assert_error(list_of(owner, ch), 504, "PROVIDER_TIMEOUT")
    assert TIMEOUT_S - 0.5 <= time.monotonic() - t0 < TIMEOUT_S + 3
    assert body["details"]["outcome"] == "timeout"
    assert "in time" in body["error"]


def test_secrets_quoted_by_the_provider_are_masked(server, fakes, program):
    owner = signup(server.url)
    acct = with_templates(fakes, WhatsAppCloud, DEMO_TEMPLATES)
    ch = connect(owner, acct)
    program("GET", r"/message_templates$", status=400, body=graph_error(
        131009, "Parameter value is not valid: access_token=%s"
        % acct.token))
    r = list_of(owner, ch)
    body = assert_error(r, 502, "PROVIDER_ERROR")
    assert acct.token not in r.text
    assert "\u2022\u2022\u2022\u2022" in body["error"]


def test_escaping_of_the_cursor_matters(server, fakes):
    """The fake refuses a cursor whose "+" arrived as a space: a second
    page answered proves the server escaped Graph's cursor."""
    owner = signup(server.url)
    acct = with_templates(fakes, WhatsAppCloud, templates(101))
    ch = connect(owner, acct)
    r = list_of(owner, ch)
    assert r.status_code == 200, r.text
    assert len(r.json()["templates"]) == 101
    second = template_requests(fakes, acct)[1]
    raw = second.path + "?" + urllib.parse.urlencode(second.query)
    assert second.status == 200, raw


# ---------------------------------------------------------------- paging

def d360_page(offset, total, n):
    """A 360dialog answer at offset with n templates of total."""
    return {"count": n, "filters": {}, "limit": 100, "offset": offset,
            "sort": ["id"], "total": total,
            "waba_templates": [dict(t, status=t["status"].lower(),
                                    namespace="x")
                               for t in templates(n, "off")]}


@pytest.mark.parametrize("offset, total, asked", [
    (-100, 300, 1),                     # below 0
    (9223372036854775000, 2 ** 63 - 1, 1),  # offset + 100 would overflow
    (1000000000, 1000000500, 1),        # ten digits: cannot be sent back
    (999999950, 2000000000, 1),         # the next offset would be past
    (0, 300, 2)])                       # the same offset again: page 2
def test_360dialog_offsets_that_cannot_be_followed_are_502(
        server, fakes, program, offset, total, asked):
    owner = signup(server.url)
    acct = with_templates(fakes, D360, templates(3))
    ch = connect(owner, acct)
    program("GET", r"^/d360/v1/configs/templates$", status=200,
            body=d360_page(offset, total, 100), times=None)
    r = list_of(owner, ch)
    assert_bad_answer(r, acct, ch, owner)
    reqs = template_requests(fakes, acct)
    assert len(reqs) == asked
    if asked == 2:
        # The host stopped on a next page that was this one.
        assert reqs[1].query["offset"] == "100"
        assert "same page" in r.json()["error"]


def graph_page(after):
    """A Graph page of templates that names a next one, at after."""
    return {"data": templates(2, "cur"),
            "paging": {"cursors": {"before": "QVFIUb", "after": after},
                       "next": "https://graph.facebook.com/v23.0/1/"
                       "message_templates?after=x"}}


def test_a_graph_cursor_given_again_stops_the_listing(server, fakes,
                                                      program):
    owner = signup(server.url)
    acct = with_templates(fakes, WhatsAppCloud, templates(3))
    ch = connect(owner, acct)
    program("GET", r"/%s/message_templates$" % acct.waba, status=200,
            body=graph_page("QVFIUsame+/="), times=None)
    r = list_of(owner, ch)
    body = assert_bad_answer(r, acct, ch, owner)
    assert "same page" in body["error"]
    first, second = template_requests(fakes, acct)
    assert "after" not in first.query
    assert second.query["after"] == "QVFIUsame+/="


def test_a_graph_cursor_that_cannot_be_sent_is_the_answers_fault(
        server, fakes, program):
    """A cursor with a control character could not be sent back:
    whatsapp_cloud's templates_parse refuses the page (the host would
    also stop at templates_build refusing it). The provider's answer is
    at fault, not the credentials, and nothing more is asked."""
    owner = signup(server.url)
    acct = with_templates(fakes, WhatsAppCloud, templates(3))
    ch = connect(owner, acct)
    program("GET", r"/%s/message_templates$" % acct.waba, status=200,
            body=graph_page("QVFI\nUbroken"))
    body = assert_bad_answer(list_of(owner, ch), acct, ch, owner)
    assert "could not be read" in body["error"]
    assert len(template_requests(fakes, acct)) == 1


# ---------------------------------------------------------------- bounds

def test_one_listing_per_channel_at_a_time(server, fakes, program):
    """Six members open the composer at once: each worker asks the
    provider once, the others are told to come back (429), and then get
    the list it kept without anyone asking again."""
    owner = signup(server.url)
    acct = with_templates(fakes, WhatsAppCloud, DEMO_TEMPLATES)
    ch = connect(owner, acct)
    program("GET", r"/%s/message_templates$" % acct.waba, delay=1.5,
            times=None)
    clients = fresh_clients(server, owner, 6)
    answers = at_once([lambda c=c: list_of(c, ch) for c in clients])
    ok = [r for r in answers if r.status_code == 200]
    asked = len(template_requests(fakes, acct))
    assert 1 <= asked <= WORKERS
    assert len(ok) == asked
    for r in ok:
        assert r.json()["templates"] == [shown(t) for t in DEMO_TEMPLATES]
    for r in answers:
        if r.status_code != 200:
            body = assert_busy(r)
            assert "being listed" in body["error"]
    # Each worker that was asked listed once and kept it.
    for c in clients:
        r = list_of(c, ch)
        assert r.status_code == 200, r.text
        assert r.json()["templates"] == [shown(t) for t in DEMO_TEMPLATES]
    assert len(template_requests(fakes, acct)) == asked


def test_a_worker_lists_two_channels_at_once_at_most(server, fakes,
                                                     program):
    owner = signup(server.url)
    n = WORKERS * BUSY_MAX + 2
    accts = [with_templates(fakes, WhatsAppCloud, DEMO_TEMPLATES)
             for _ in range(n)]
    chans = [connect(owner, a) for a in accts]
    for a in accts:
        program("GET", r"/%s/message_templates$" % a.waba, delay=1.5,
                times=None)
    clients = fresh_clients(server, owner, n)
    answers = at_once([lambda c=c, ch=ch: list_of(c, ch)
                       for c, ch in zip(clients, chans)])
    ok = [i for i, r in enumerate(answers) if r.status_code == 200]
    assert 1 <= len(ok) <= WORKERS * BUSY_MAX
    busy = [i for i, r in enumerate(answers) if r.status_code != 200]
    assert len(busy) >= n - WORKERS * BUSY_MAX
    for i in busy:
        assert "other channels" in assert_busy(answers[i])["error"]
        # Refused before the provider was asked.
        assert template_requests(fakes, accts[i]) == []
    for i in ok:
        assert len(template_requests(fakes, accts[i])) == 1
    # The slots are given back: the refused ones list now.
    for i in busy:
        assert list_of(clients[i], chans[i]).status_code == 200


def test_a_kept_list_until_the_credentials_change(server, fakes):
    """One client keeps its connection, so its worker: the second and
    third listings are the kept list (the provider is not asked, even
    though the account's templates changed), new credentials are asked
    afresh."""
    owner = signup(server.url)
    acct = with_templates(fakes, D360, DEMO_TEMPLATES)
    ch = connect(owner, acct)
    first = list_of(owner, ch)
    assert first.status_code == 200
    fakes.set_templates(acct.waba, templates(2, "newer"))
    for _ in range(2):
        r = list_of(owner, ch)
        assert r.status_code == 200 and r.content == first.content
    assert len(template_requests(fakes, acct)) == 1
    # A rename is not a change of credentials: still kept.
    r = owner.patch(f"{CHANNELS}/{ch['id']}", {"name": "Renamed"})
    assert r.status_code == 200
    assert list_of(owner, ch).content == first.content
    assert len(template_requests(fakes, acct)) == 1
    # A rotated key is.
    new = acct.new_token()
    acct.setup(extra_tokens=(new,))
    r = owner.patch(f"{CHANNELS}/{ch['id']}",
                    {"credentials": {acct.secret_field: new}})
    assert r.status_code == 200, r.text
    r = list_of(owner, ch)
    assert r.status_code == 200
    assert r.json()["templates"] == [shown(t)
                                     for t in templates(2, "newer")]
    asked = fakes.requests(r"^/d360/v1/configs/templates$")
    assert [q.header("D360-API-KEY") for q in asked
            if q.header("D360-API-KEY") in (acct.token, new)] == [
        acct.token, new]


def test_failures_are_not_kept(server, fakes, program):
    owner = signup(server.url)
    acct = with_templates(fakes, WhatsAppCloud, DEMO_TEMPLATES)
    ch = connect(owner, acct)
    program("GET", r"/%s/message_templates$" % acct.waba, status=500)
    assert_error(list_of(owner, ch), 503, "PROVIDER_UNAVAILABLE")
    assert list_of(owner, ch).status_code == 200
    assert len(template_requests(fakes, acct)) == 2
