#!/usr/bin/python3
"""Fake provider APIs: Meta Graph (graph.facebook.com), Instagram
(graph.instagram.com), 360dialog (waba-v2.360dialog.io) and the "example"
provider, in one local HTTP server.

The fakes are the only fakes in the test suite, so they speak the formats
of docs/providers.md (request shapes, success shapes, error envelopes and
codes) and can be told to misbehave: any programmed answer, delays, closed
connections, revoked tokens, per-number rate limits.

One server, one path prefix per provider. Point the app at:

    GRAPH_API_BASE     = {url}/graph/v23.0
    INSTAGRAM_API_BASE = {url}/instagram/v23.0
    D360_API_BASE      = {url}/d360
    EXAMPLE_API_BASE   = {url}/example

In pytest:

    fake = FakeProviders()          # demo accounts included, see DEMO
    url = fake.start()              # 127.0.0.1, a free port
    ...
    fake.stop()

From a shell: /usr/bin/python3 tests/fakes/providers.py --port 9100
(the control API under /_control/ then does what the methods do).
"""

import argparse
import base64
import collections
import json
import re
import secrets
import socket
import sys
import threading
import time
import traceback
from dataclasses import asdict, dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, quote, urlsplit

try:                                    # imported as tests.fakes.providers
    from .webhooks import meta_json, new_mid, new_wamid
except ImportError:                     # run as a script, or from this dir
    from webhooks import meta_json, new_mid, new_wamid

FAKE_APP_ID = "1234567890123456"
FAKE_BUSINESS_ID = "987654321098765"

# Known accounts present unless FakeProviders(demo=False): stable ids and
# tokens so a developer can configure the dev server against the CLI fake.
DEMO = {
    "whatsapp": {"phone_number_id": "106540352242922",
                 "waba_id": "102290129340398",
                 "display_phone_number": "15550783881",
                 "verified_name": "Demo Inbox",
                 "tokens": ["EAAG-demo-whatsapp-token"]},
    "page": {"page_id": "104160358710930", "name": "Demo Page",
             "tokens": ["EAAG-demo-page-token"]},
    "instagram": {"user_id": "17841405822304914", "username": "demo.inbox",
                  "tokens": ["IGAA-demo-instagram-token"],
                  "app_scoped_id": "26134566662856",
                  "page_id": "104160358710930"},
    "d360": {"api_key": "demo-d360-api-key",
             "phone_number_id": "206540352242933",
             "waba_id": "202290129340311",
             "display_phone_number": "15550783882"},
    "example": {"account_id": "acct_demo", "name": "Demo account",
                "tokens": ["demo-example-token"]},
}

WHATSAPP_TYPES = ("text", "image", "video", "audio", "document", "sticker",
                  "location", "contacts", "interactive", "template",
                  "reaction")

# The message templates every demo WABA has (Meta's shape: statuses and
# categories in upper case; 360dialog lists the same ones its own way).
DEMO_TEMPLATES = [
    {"name": "hello_world", "language": "en_US", "status": "APPROVED",
     "category": "UTILITY",
     "components": [{"type": "HEADER", "format": "TEXT",
                     "text": "Hello World"},
                    {"type": "BODY", "text": "Welcome and congratulations!"
                     " This message demonstrates your ability to send a "
                     "WhatsApp message notification from the Cloud API."},
                    {"type": "FOOTER",
                     "text": "WhatsApp Business Platform sample message"}]},
    {"name": "order_update", "language": "en_US", "status": "APPROVED",
     "category": "UTILITY",
     "components": [{"type": "BODY",
                     "text": "Hi {{1}}, order {{2}} ships today.",
                     "example": {"body_text": [["Ann", "7781"]]}},
                    {"type": "BUTTONS", "buttons": [
                        {"type": "QUICK_REPLY", "text": "Stop updates"}]}]},
    {"name": "spring_sale", "language": "pt_BR", "status": "REJECTED",
     "category": "MARKETING",
     "components": [{"type": "BODY",
                     "text": "Promo\u00e7\u00e3o: {{1}} de desconto!",
                     "example": {"body_text": [["20%"]]}}]},
]

# Fields of a template Graph's message_templates edge can show.
TEMPLATE_FIELDS = ("id", "name", "language", "status", "category",
                   "components", "parameter_format", "sub_category",
                   "previous_category", "rejected_reason", "quality_score")
# Graph's page size without ?limit=, and 360dialog's.
GRAPH_TEMPLATES_LIMIT = 25
D360_TEMPLATES_LIMIT = 1000


# --- ids and error bodies ----------------------------------------------------

def fbtrace_id():
    """A Graph-style trace id; the app should log it, so it must exist."""
    return "A" + secrets.token_urlsafe(12).replace("-", "x").replace("_", "y")


def new_instagram_mid():
    """An Instagram message id: base64 of an "ig_message_item" reference."""
    ref = "ig_message_item:1:IGMessageThread:%d:%d" % (
        secrets.randbits(60), secrets.randbits(100))
    return base64.b64encode(ref.encode()).decode().rstrip("=")


def graph_error(code, message, subcode=None, type_="OAuthException", **extra):
    """The Graph error envelope {"error": {...}} of providers.md §1.11.

    Useful as a programmed body too, e.g.
    graph_error(130429, "(#130429) Rate limit hit").
    """
    err = {"message": message, "type": type_, "code": code}
    if subcode is not None:
        err["error_subcode"] = subcode
    err.update(extra)
    err["fbtrace_id"] = fbtrace_id()
    return {"error": err}


def d360_error(http_code, message):
    """360dialog's own (non-Meta) error body.

    providers.md §9: 360dialog does not document this shape. We use the one
    integrations parse (chatwoot: meta.developer_message), so the app must
    rely on the HTTP status, not on this body.
    """
    return {"meta": {"success": False, "http_code": http_code,
                     "developer_message": message,
                     "360dialog_trace_id": secrets.token_urlsafe(12)}}


def example_error(code, message):
    """The example provider's error body (ours to define: it is a toy)."""
    return {"error": {"code": code, "message": message}}


# --- data -------------------------------------------------------------------

@dataclass
class Reply:
    """One HTTP answer. dict/list bodies are sent as JSON."""
    status: int
    body: object = None
    headers: dict = field(default_factory=dict)


def _graph_reply(status, *args, **kwargs):
    return Reply(status, graph_error(*args, **kwargs))


BAD_TOKEN = "Invalid OAuth access token - Cannot parse access token"
REVOKED_TOKEN = ("Error validating access token: The session has been "
                 "invalidated because the user changed their password or "
                 "Facebook has changed the session for security reasons.")


def _unknown_object(method, node_id):
    return _graph_reply(
        400, 100, "Unsupported %s request. Object with ID '%s' does not "
        "exist, cannot be loaded due to missing permissions, or does not "
        "support this operation. Please read the Graph API documentation at "
        "https://developers.facebook.com/docs/graph-api"
        % (method.lower(), node_id), subcode=33, type_="GraphMethodException")


def _param_error(message):
    return _graph_reply(400, 100, "(#100) " + message)


@dataclass
class Request:
    """A request the fakes received, with the answer once it is sent.

    status is None while the request is being answered and 0 when the
    connection was closed without an answer.
    """
    method: str
    path: str
    query: dict
    headers: dict
    body: bytes
    time: float
    status: int = None
    response_body: bytes = None

    def header(self, name):
        """Header value, case-insensitive (HTTP header names are)."""
        for key, value in self.headers.items():
            if key.lower() == name.lower():
                return value
        return None

    def json(self):
        """The body parsed as JSON, or None."""
        return _loads(self.body)

    def response_json(self):
        """The answer parsed as JSON, or None (e.g. to read a wamid)."""
        return _loads(self.response_body)

    def to_dict(self):
        """JSON-friendly form for the control API."""
        return {"method": self.method, "path": self.path,
                "query": self.query, "headers": self.headers,
                "body": self.body.decode("utf-8", "replace"),
                "json": self.json(), "time": self.time,
                "status": self.status,
                "response": self.response_json() if self.response_body
                else None}


def _loads(raw):
    try:
        return json.loads(raw) if raw else None
    except ValueError:
        return None


@dataclass
class Rule:
    """A programmed answer for requests whose method and path match.

    times=None answers forever. status=None with close=False means "answer
    normally after the delay".
    """
    id: int
    method: str
    path: str
    times: int = 1
    status: int = None
    body: object = None
    headers: dict = field(default_factory=dict)
    delay: float = 0
    close: bool = False
    hits: int = 0

    def matches(self, method, path):
        return (self.method in ("*", method.upper())
                and re.search(self.path, path) is not None)


def _health_status(phone_number_id, waba_id):
    """Meta's health_status object (360dialog serves the same one)."""
    def entity(kind, ident):
        return {"entity_type": kind, "id": ident,
                "can_send_message": "AVAILABLE"}
    return {"can_send_message": "AVAILABLE",
            "entities": [entity("PHONE_NUMBER", phone_number_id),
                         entity("WABA", waba_id),
                         entity("BUSINESS", FAKE_BUSINESS_ID),
                         entity("APP", FAKE_APP_ID)]}


def _tokens(value):
    return {value} if isinstance(value, str) else set(value)


@dataclass
class Node:
    """A Graph object as GET /{id} shows it: its type name (used in Meta's
    error messages), every field it has, the fields shown when the
    request names none, and the account behind it."""
    type: str
    fields: dict
    defaults: tuple
    account: object = None


@dataclass
class WhatsAppNumber:
    """A Cloud API phone number reachable on graph.facebook.com."""
    phone_number_id: str
    waba_id: str
    display_phone_number: str
    verified_name: str
    tokens: set
    quality_rating: str = "GREEN"

    def node(self):
        return Node("WhatsAppBusinessPhoneNumber", {
            "id": self.phone_number_id,
            "display_phone_number": self.display_phone_number,
            "verified_name": self.verified_name,
            "quality_rating": self.quality_rating,
            "code_verification_status": "VERIFIED",
            "platform_type": "CLOUD_API",
            "throughput": {"level": "STANDARD"},
            "health_status": _health_status(self.phone_number_id,
                                            self.waba_id),
        }, ("verified_name", "code_verification_status",
            "display_phone_number", "quality_rating", "platform_type",
            "throughput"), self)

    def waba_node(self):
        """The number's WABA (only subscribed_apps is served on it)."""
        return Node("WhatsAppBusinessAccount",
                    {"id": self.waba_id, "name": self.verified_name},
                    ("name",))


@dataclass
class Page:
    """A Facebook Page with its page access tokens."""
    page_id: str
    name: str
    tokens: set

    def node(self):
        return Node("Page", {"id": self.page_id, "name": self.name},
                    ("name",), self)


@dataclass
class InstagramAccount:
    """An Instagram professional account.

    user_id is the id webhooks carry in entry[].id. On graph.instagram.com
    /me also returns an app-scoped "id" that differs from it (providers.md
    §4.2), so the two differ here too and an app that stores the wrong one
    fails its tests. page_id links it to a Page for the Facebook-Login
    flavour on graph.facebook.com, where the node id is user_id.
    """
    user_id: str
    username: str
    tokens: set
    app_scoped_id: str = ""
    page_id: str = None

    def instagram_node(self):
        return Node("IGUser", {"id": self.app_scoped_id,
                               "user_id": self.user_id,
                               "username": self.username,
                               "account_type": "BUSINESS"},
                    ("username",), self)

    def graph_node(self):
        return Node("IGUser", {"id": self.user_id,
                               "username": self.username},
                    ("username",), self)


@dataclass
class D360Channel:
    """A 360dialog channel: one API key, one phone number."""
    api_key: str
    phone_number_id: str
    waba_id: str
    display_phone_number: str = ""


@dataclass
class ExampleAccount:
    """An account of the toy "example" provider."""
    account_id: str
    name: str
    tokens: set


# --- the server -------------------------------------------------------------

class FakeProviders:
    """All fake providers behind one local HTTP server.

    Thread-safe: the server answers on many threads while the test thread
    programs and inspects it. Every provider request is recorded; control
    requests (/_control/) are not.
    """

    def __init__(self, host="127.0.0.1", port=0, demo=True, verbose=False):
        self.host, self.port = host, port
        self.demo, self.verbose = demo, verbose
        # Re-entrant: reset() re-adds the demo accounts under the lock.
        self._lock = threading.RLock()
        self._arrived = threading.Condition(self._lock)
        self._stopping = threading.Event()
        self._server = None
        self._thread = None
        self._next_rule = 0
        self._clear_accounts()
        self._clear_traffic()

    # -- life cycle

    @property
    def url(self):
        """Base URL, e.g. http://127.0.0.1:40123 (no trailing slash)."""
        return "http://%s:%d" % (self.host, self.port)

    @property
    def bases(self):
        """The app's configuration values for these fakes."""
        return {"GRAPH_API_BASE": self.url + "/graph/v23.0",
                "INSTAGRAM_API_BASE": self.url + "/instagram/v23.0",
                "D360_API_BASE": self.url + "/d360",
                "EXAMPLE_API_BASE": self.url + "/example"}

    def start(self):
        """Listen and serve on a background thread; returns the base URL.

        After stop(), start() again reuses the same port, so a test can
        take a provider down and bring it back.
        """
        self._stopping.clear()
        self._server = _Server((self.host, self.port), _Handler)
        self._server.fake = self
        self.port = self._server.server_address[1]
        # A short poll keeps stop() fast: shutdown() waits for one poll.
        self._thread = threading.Thread(target=self._server.serve_forever,
                                        args=(0.02,), name="fake-providers",
                                        daemon=True)
        self._thread.start()
        return self.url

    def stop(self):
        """Stop serving and drop every open connection, idle or not.

        Kept-alive connections are shut down too; otherwise a client could
        still be answered by a "stopped" provider.
        """
        if self._server is None:
            return
        self._stopping.set()
        with self._arrived:
            self._arrived.notify_all()
        self._server.shutdown()
        self._server.server_close()
        self._server.drop_connections()
        self._thread.join(5)
        self._server = None

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self.stop()

    # -- accounts

    def add_whatsapp_number(self, phone_number_id, waba_id,
                            display_phone_number, verified_name, tokens,
                            quality_rating="GREEN"):
        """A Cloud API number; tokens: one string or a list."""
        with self._lock:
            self.numbers[phone_number_id] = WhatsAppNumber(
                phone_number_id, waba_id, display_phone_number,
                verified_name, _tokens(tokens), quality_rating)

    def add_page(self, page_id, name, tokens):
        """A Messenger Page; tokens are its page access tokens."""
        with self._lock:
            self.pages[page_id] = Page(page_id, name, _tokens(tokens))

    def add_instagram_account(self, user_id, username, tokens,
                              app_scoped_id=None, page_id=None):
        """An Instagram account (Instagram-Login tokens, and optionally a
        linked Page for the Facebook-Login flavour)."""
        with self._lock:
            self.instagram[user_id] = InstagramAccount(
                user_id, username, _tokens(tokens),
                app_scoped_id or str(int(user_id) % 10**14 + 1), page_id)

    def add_d360_channel(self, api_key, phone_number_id, waba_id,
                         display_phone_number=""):
        """A 360dialog channel: its API key names its phone number."""
        with self._lock:
            self.d360[api_key] = D360Channel(api_key, phone_number_id,
                                             waba_id, display_phone_number)

    def add_example_account(self, account_id, tokens, name=""):
        """An account of the example provider."""
        with self._lock:
            self.example[account_id] = ExampleAccount(
                account_id, name or account_id, _tokens(tokens))

    def set_templates(self, waba_id, templates):
        """The message templates of a WABA, served by Graph's
        message_templates edge and by 360dialog for that WABA's keys.
        Each is Meta's object ({name, language, status, category,
        components}); an id is added when it has none."""
        with self._lock:
            self.templates[waba_id] = [
                dict({"id": str(1170000000000000 + i)}, **t)
                for i, t in enumerate(templates)]

    def d360_webhook(self, api_key):
        """The {url, headers} the app registered for that key, or None."""
        with self._lock:
            return self.d360_webhooks.get(api_key)

    def subscription(self, node_id):
        """What the app sent to POST /{waba or page}/subscribed_apps."""
        with self._lock:
            return self.subscriptions.get(node_id)

    # -- failure injection

    def program(self, method, path, status=None, body=None, headers=None,
                delay=0, close=False, times=1):
        """Queue an answer for requests matching method ("*" for any) and
        path (a regex searched in the full path, e.g. r"/messages$").

        times: how many requests it answers (None: forever). Rules apply
        in the order they were queued. Returns the rule id.
        """
        with self._lock:
            self._next_rule += 1
            self.rules.append(Rule(self._next_rule, method.upper(), path,
                                   times, status, body, dict(headers or {}),
                                   float(delay), bool(close)))
            return self._next_rule

    def cancel(self, rule_id):
        """Drop a programmed rule (e.g. a times=None outage is over)."""
        with self._lock:
            self.rules = [r for r in self.rules if r.id != rule_id]

    def revoke_token(self, token):
        """From now on the token (or 360dialog key) is refused: 401/190."""
        with self._lock:
            self.revoked.add(token)

    def rate_limit(self, account_id, per_second):
        """Allow account_id (phone_number_id, page, IG or example account)
        per_second sends in any one-second window; beyond that answer the
        provider's throttling error (WhatsApp 130429). None removes it."""
        with self._lock:
            if per_second is None:
                self.limits.pop(account_id, None)
            else:
                self.limits[account_id] = (per_second, collections.deque())

    def reset(self, accounts=False):
        """Forget recorded requests, rules, revocations, rate limits and
        registrations. accounts=True also restores the accounts to what
        the constructor made."""
        with self._lock:
            self._clear_traffic()
            if accounts:
                self._clear_accounts()

    # -- inspection

    def requests(self, path=None, method=None):
        """Recorded requests, oldest first; path is a regex (search)."""
        with self._lock:
            return self._matching(path, method)

    def wait_for(self, count=1, path=None, method=None, timeout=5.0,
                 answered=True):
        """Block until count matching requests arrived (and, by default,
        were answered); returns them. Counts from the last reset. Raises
        TimeoutError with what did arrive."""
        deadline = time.monotonic() + timeout
        with self._arrived:
            while True:
                found = self._matching(path, method)
                done = [r for r in found
                        if not answered or r.status is not None]
                left = deadline - time.monotonic()
                if len(done) >= count:
                    return found
                if left <= 0 or self._stopping.is_set():
                    raise TimeoutError("%d of %d requests matching %r"
                                       % (len(done), count, path))
                self._arrived.wait(left)

    # -- internals: state

    def _clear_accounts(self):
        self.numbers, self.pages, self.instagram = {}, {}, {}
        self.d360, self.example, self.templates = {}, {}, {}
        if self.demo:
            self.set_templates(DEMO["whatsapp"]["waba_id"], DEMO_TEMPLATES)
            self.set_templates(DEMO["d360"]["waba_id"], DEMO_TEMPLATES)
            self.add_whatsapp_number(**DEMO["whatsapp"])
            self.add_page(**DEMO["page"])
            self.add_instagram_account(**DEMO["instagram"])
            self.add_d360_channel(**DEMO["d360"])
            self.add_example_account(**DEMO["example"])

    def _clear_traffic(self):
        self.recorded, self.rules = [], []
        self.revoked, self.limits = set(), {}
        self.d360_webhooks, self.subscriptions = {}, {}

    def _matching(self, path, method):
        return [r for r in self.recorded
                if (path is None or re.search(path, r.path))
                and (method is None or r.method == method.upper())]

    def _throttled(self, account_id):
        """True when one more send would exceed the account's rate."""
        if account_id not in self.limits:
            return False
        per_second, sent = self.limits[account_id]
        now = time.monotonic()
        while sent and now - sent[0] >= 1.0:
            sent.popleft()
        if len(sent) >= per_second:
            return True
        sent.append(now)
        return False

    # -- internals: serving

    def _serve(self, handler, body):
        """Answer one request: control API, programmed rule, or provider."""
        parts = urlsplit(handler.path)
        query = dict(parse_qsl(parts.query, keep_blank_values=True))
        if parts.path.startswith("/_control/"):
            _write(handler, self._control(
                handler.command, parts.path[len("/_control/"):], query,
                _loads(body)))
            return
        req = Request(handler.command, parts.path, query,
                      dict(handler.headers.items()), body, time.time())
        with self._arrived:
            self.recorded.append(req)
            self._arrived.notify_all()
            rule = self._take_rule(req)
        reply = raw = None
        try:
            if rule and rule.delay:
                self._stopping.wait(rule.delay)
            if self._stopping.is_set() or (rule and rule.close):
                reply = None
            elif rule and rule.status is not None:
                reply = Reply(rule.status, rule.body, rule.headers)
            else:
                reply = self._safe_answer(req)
            raw = _write(handler, reply)
        finally:
            with self._arrived:
                req.status = reply.status if raw is not None else 0
                req.response_body = raw
                self._arrived.notify_all()

    def _safe_answer(self, req):
        """_answer, with a bug in the fake turned into a visible 500."""
        try:
            with self._lock:
                return self._answer(req)
        except Exception as exc:  # noqa: BLE001: report, keep serving
            traceback.print_exc()
            return Reply(500, {"error": "bug in the fake: %r" % exc})

    def _take_rule(self, req):
        """The first queued rule matching req, used up by one hit."""
        for rule in self.rules:
            if rule.matches(req.method, req.path):
                rule.hits += 1
                if rule.times is not None and rule.hits >= rule.times:
                    self.rules.remove(rule)
                return rule
        return None

    def _answer(self, req):
        """The provider's own answer (called with the lock held)."""
        match = re.match(r"^/(graph|instagram)/v\d+\.\d+(/.*)?$", req.path)
        if match:
            parts = (match.group(2) or "/").strip("/").split("/")
            if match.group(1) == "graph":
                return self._graph(req, parts)
            return self._instagram(req, parts)
        if req.path.startswith("/d360/"):
            return self._d360(req, req.path[len("/d360/"):].strip("/"))
        if req.path.startswith("/example/"):
            return self._example(req, req.path[len("/example/"):].strip("/"))
        return Reply(404, {"error": "no fake provider at " + req.path})

    def _check_token(self, token, valid):
        """The Graph error for a missing, revoked or unknown token."""
        if not token:
            return _graph_reply(400, 104, "An access token is required to "
                                "request this resource.")
        if token in self.revoked:
            return _graph_reply(401, 190, REVOKED_TOKEN, subcode=460)
        if token not in valid:
            return _graph_reply(401, 190, BAD_TOKEN)
        return None

    # graph.facebook.com

    def _graph(self, req, parts):
        token = _access_token(req)
        valid = set().union(*(a.tokens for a in self.numbers.values()),
                            *(p.tokens for p in self.pages.values()))
        denied = self._check_token(token, valid)
        if denied:
            return denied
        node = self._graph_node(parts[0], token)
        if node is None:
            return _unknown_object(req.method, parts[0])
        edge, account = "/".join(parts[1:]), node.account
        if edge == "" and req.method == "GET":
            return _select_fields(node, req.query.get("fields"))
        if edge == "messages" and req.method == "POST":
            if isinstance(account, WhatsAppNumber):
                return self._whatsapp_send(account.phone_number_id,
                                           req.json())
            if isinstance(account, Page):
                return self._messaging_send(account.page_id, _params(req),
                                            new_mid, 2000)
        if edge == "subscribed_apps" and node.type != "IGUser" and \
                not isinstance(account, WhatsAppNumber):
            return self._subscribed_apps(req, node)
        if edge == "message_templates" and req.method == "GET" and \
                node.type == "WhatsAppBusinessAccount":
            return self._graph_templates(req, node.fields["id"])
        return _unknown_object(req.method, parts[0])

    def _graph_templates(self, req, waba_id):
        """GET /{waba_id}/message_templates: the named fields (and id)
        of a page of templates, paged by opaque cursors as Graph does:
        paging.cursors.after, and paging.next only when a page follows.
        The cursors hold "+", "/" and "=", so a client must escape them."""
        fields = [f.strip() for f in req.query.get(
            "fields", ",".join(TEMPLATE_FIELDS)).split(",") if f.strip()]
        for name in fields:
            if name not in TEMPLATE_FIELDS:
                return _param_error("Tried accessing nonexisting field "
                                    "(%s) on node type (WhatsAppBusinessHSM)"
                                    % name)
        limit = req.query.get("limit", str(GRAPH_TEMPLATES_LIMIT))
        offset = _cursor_offset(req.query.get("after", _cursor(0)))
        if not limit.isdigit() or int(limit) < 1 or offset is None:
            return _param_error("Invalid parameter")
        templates = self.templates.get(waba_id, [])
        page = templates[offset:offset + int(limit)]
        out = {"data": [{k: t[k] for k in ["id"] + fields if k in t}
                        for t in page]}
        if page:
            out["paging"] = {"cursors": {
                "before": _cursor(offset),
                "after": _cursor(offset + len(page))}}
            if offset + len(page) < len(templates):
                out["paging"]["next"] = (
                    "%s/graph/v23.0/%s/message_templates?fields=%s&limit=%s"
                    "&after=%s" % (self.url, waba_id, ",".join(fields),
                                   limit, quote(_cursor(offset + len(page)),
                                                safe="")))
        return Reply(200, out)

    def _graph_node(self, node_id, token):
        """The object node_id names, if token may see it; "me" is the
        token's Page."""
        if node_id == "me":
            return next((p.node() for p in self.pages.values()
                         if token in p.tokens), None)
        number, page = self.numbers.get(node_id), self.pages.get(node_id)
        if number and token in number.tokens:
            return number.node()
        if page and token in page.tokens:
            return page.node()
        for number in self.numbers.values():
            if number.waba_id == node_id and token in number.tokens:
                return number.waba_node()
        account = self.instagram.get(node_id)
        linked = self.pages.get(account.page_id) if account else None
        if linked and token in linked.tokens:
            return account.graph_node()
        return None

    def _subscribed_apps(self, req, node):
        """Subscribing our app to a WABA or Page: without it no webhooks
        arrive (providers.md §1.9), so the app's onboarding calls it."""
        node_id = node.fields["id"]
        if req.method == "DELETE":
            self.subscriptions.pop(node_id, None)
            return Reply(200, {"success": True})
        if req.method == "POST":
            params = _params(req)
            params.pop("access_token", None)
            if node.type == "Page" and not params.get("subscribed_fields"):
                return _param_error("The parameter subscribed_fields is "
                                    "required.")
            self.subscriptions[node_id] = params
            return Reply(200, {"success": True})
        sub = self.subscriptions.get(node_id)
        if sub is None:
            return Reply(200, {"data": []})
        if node.type == "Page":
            fields = sub["subscribed_fields"]
            if isinstance(fields, str):
                fields = fields.split(",")
            return Reply(200, {"data": [{"id": FAKE_APP_ID,
                                         "name": "Fake inbox app",
                                         "subscribed_fields": fields}]})
        app = {"whatsapp_business_api_data": {"id": FAKE_APP_ID,
                                              "name": "Fake inbox app"}}
        if sub.get("override_callback_uri"):
            app["override_callback_uri"] = sub["override_callback_uri"]
        return Reply(200, {"data": [app]})

    # graph.instagram.com

    def _instagram(self, req, parts):
        token = _access_token(req)
        valid = set().union(*(a.tokens for a in self.instagram.values()))
        denied = self._check_token(token, valid)
        if denied:
            return denied
        account = next((a for a in self.instagram.values()
                        if token in a.tokens and parts[0] in
                        ("me", a.user_id, a.app_scoped_id)), None)
        edge = "/".join(parts[1:])
        if account and edge == "" and req.method == "GET":
            return _select_fields(account.instagram_node(),
                                  req.query.get("fields"))
        if account and edge == "messages" and req.method == "POST":
            return self._messaging_send(account.user_id, _params(req),
                                        new_instagram_mid, 1000)
        return _unknown_object(req.method, parts[0])

    # sending

    def _whatsapp_send(self, phone_number_id, data):
        """POST .../messages of the Cloud API; 360dialog passes the same
        body through. Validates what the app must always get right."""
        if not isinstance(data, dict):
            return _param_error("The request body must be a JSON object.")
        if data.get("messaging_product") != "whatsapp":
            return _param_error("The parameter messaging_product is "
                                "required.")
        if data.get("status") == "read":
            if not data.get("message_id"):
                return _param_error("The parameter message_id is required.")
            return Reply(200, {"success": True})
        to, bsuid = data.get("to"), data.get("recipient")
        if not (isinstance(to, str) and to) and \
                not (isinstance(bsuid, str) and bsuid):
            return _param_error("The parameter to is required.")
        kind = data.get("type", "text")
        if kind not in WHATSAPP_TYPES:
            return _param_error("Param type must be one of {%s}"
                                % ", ".join(WHATSAPP_TYPES).upper())
        if not isinstance(data.get(kind), dict):
            return _param_error("The parameter %s is required." % kind)
        text = data[kind].get("body") if kind == "text" else ""
        if not isinstance(text, str):
            return _param_error("The parameter text['body'] is required.")
        if len(text) > 4096:
            return _param_error("Param text['body'] must be at most 4096 "
                                "characters long.")
        if self._throttled(phone_number_id):
            return _graph_reply(
                400, 130429, "(#130429) Rate limit hit",
                error_data={"messaging_product": "whatsapp",
                            "details": "Cloud API message throughput has "
                                       "been reached."})
        contact = ({"input": to, "wa_id": re.sub(r"\D", "", to)} if to
                   else {"input": bsuid, "user_id": bsuid})
        return Reply(200, {"messaging_product": "whatsapp",
                           "contacts": [contact],
                           "messages": [{"id": new_wamid(),
                                         "message_status": "accepted"}]})

    def _messaging_send(self, account_id, data, make_mid, max_text):
        """Send API of Messenger and Instagram (same body, same answer)."""
        recipient = data.get("recipient")
        if not isinstance(recipient, dict) or not any(
                recipient.get(k) for k in ("id", "user_ref", "phone_number")):
            return _param_error("The parameter recipient is required")
        message, action = data.get("message"), data.get("sender_action")
        if message is None and action is None:
            return _param_error("Must send either message or sender_action")
        kind = data.get("messaging_type", "RESPONSE")
        if kind not in ("RESPONSE", "UPDATE", "MESSAGE_TAG"):
            return _param_error("Param messaging_type must be one of "
                                "{RESPONSE, UPDATE, MESSAGE_TAG}")
        if kind == "MESSAGE_TAG" and not data.get("tag"):
            return _param_error("The parameter tag is required")
        if message is not None:
            text = message.get("text") if isinstance(message, dict) else None
            if not text and not (isinstance(message, dict)
                                 and message.get("attachment")):
                return _param_error("Message cannot be empty, must provide "
                                    "valid attachment or text")
            if isinstance(text, str) and len(text) > max_text:
                return _param_error("Length of param message[text] must be "
                                    "less than or equal to %d" % max_text)
        if self._throttled(account_id):
            return _graph_reply(400, 613, "(#613) Calls to this api have "
                                "exceeded the rate limit.")
        out = {"recipient_id": recipient["id"]} if "id" in recipient else {}
        if message is not None:
            out["message_id"] = make_mid()
        return Reply(200, out)

    # 360dialog

    def _d360(self, req, path):
        key = req.header("D360-API-KEY")
        channel = self.d360.get(key) if key not in self.revoked else None
        if channel is None:
            return Reply(401, d360_error(401, "Invalid api key"))
        route = (req.method, path)
        if route == ("GET", "health_status"):
            return Reply(200, {"health_status": _health_status(
                channel.phone_number_id, channel.waba_id)})
        if route == ("POST", "messages"):
            return self._whatsapp_send(channel.phone_number_id, req.json())
        if route == ("GET", "v1/configs/templates"):
            return self._d360_templates(req, channel.waba_id)
        if route == ("GET", "v1/configs/webhook"):
            return Reply(200, self.d360_webhooks.get(
                key, {"url": None, "headers": {}}))
        if route == ("POST", "v1/configs/webhook"):
            data = req.json() if isinstance(req.json(), dict) else {}
            url, headers = data.get("url"), data.get("headers", {})
            if not isinstance(url, str) or not url:
                return Reply(400, d360_error(400, "url is required"))
            if not isinstance(headers, dict) or not all(
                    isinstance(v, str) for v in headers.values()):
                return Reply(400, d360_error(400, "headers must map names "
                                             "to strings"))
            self.d360_webhooks[key] = {"url": url, "headers": headers}
            return Reply(200, {"url": url})
        return Reply(404, d360_error(404, "Not found"))

    def _d360_templates(self, req, waba_id):
        """GET /v1/configs/templates?limit=&offset=: 360dialog's list of
        the key's WABA's templates, with its own envelope (count, total,
        offset...) and statuses in lower case."""
        limit = req.query.get("limit", str(D360_TEMPLATES_LIMIT))
        offset = req.query.get("offset", "0")
        if not limit.isdigit() or not offset.isdigit():
            return Reply(400, d360_error(400, "limit and offset must be "
                                         "non-negative integers"))
        templates = self.templates.get(waba_id, [])
        page = templates[int(offset):int(offset) + int(limit)]
        listed = []
        for t in page:
            one = {k: v for k, v in t.items() if k != "id"}
            one.update(status=t["status"].lower(),
                       namespace="c8ae5f90_307a_ca4c_b8f6_d1e2a2573574",
                       rejected_reason="NONE",
                       quality_score={"score": "UNKNOWN"})
            listed.append(one)
        return Reply(200, {"count": len(listed), "filters": {},
                           "limit": int(limit), "offset": int(offset),
                           "sort": ["id"], "total": len(templates),
                           "waba_templates": listed})

    # example

    def _example(self, req, path):
        match = re.fullmatch(r"accounts/([^/]+)(/messages)?", path)
        auth = req.header("Authorization") or ""
        token = auth[len("Bearer "):] if auth.startswith("Bearer ") else ""
        valid = set().union(*(a.tokens for a in self.example.values()))
        if token not in valid or token in self.revoked:
            return Reply(401, example_error("unauthorized",
                                            "invalid or revoked token"))
        account = self.example.get(match.group(1)) if match else None
        if account is None or token not in account.tokens:
            return Reply(404, example_error("not_found", "no such account"))
        if not match.group(2) and req.method == "GET":
            return Reply(200, {"id": account.account_id,
                               "name": account.name})
        if match.group(2) and req.method == "POST":
            data = req.json()
            if not isinstance(data, dict) or not all(
                    isinstance(data.get(k), str) and data[k]
                    for k in ("to", "text")):
                return Reply(400, example_error(
                    "invalid_request", "to and text are required strings"))
            if self._throttled(account.account_id):
                return Reply(429, example_error("rate_limited", "slow down"),
                             {"Retry-After": "1"})
            return Reply(200, {"id": "msg_" + secrets.token_hex(8)})
        return Reply(405, example_error("method_not_allowed", req.method))

    # control API

    def _control(self, method, name, query, data):
        """The control API: the Python methods over HTTP, for tests that
        do not run in this process and for manual use."""
        data = data if isinstance(data, dict) else {}
        adders = {"whatsapp": self.add_whatsapp_number,
                  "page": self.add_page,
                  "instagram": self.add_instagram_account,
                  "d360": self.add_d360_channel,
                  "example": self.add_example_account,
                  "templates": self.set_templates}
        routes = {
            ("GET", "requests"): lambda: {"requests": [
                r.to_dict() for r in self.requests(query.get("path"),
                                                   query.get("method"))]},
            ("POST", "wait"): lambda: {"requests": [
                r.to_dict() for r in self.wait_for(**data)]},
            ("POST", "program"): lambda: {"id": self.program(**data)},
            ("POST", "cancel"): lambda: self.cancel(data["id"]),
            ("POST", "revoke"): lambda: self.revoke_token(data["token"]),
            ("POST", "rate_limit"): lambda: self.rate_limit(
                data["account_id"], data.get("per_second")),
            ("POST", "reset"): lambda: self.reset(bool(data.get("accounts"))),
            ("GET", "state"): self.state,
        }
        kind = name[len("accounts/"):] if name.startswith("accounts/") else ""
        if method == "POST" and kind in adders:
            routes[(method, name)] = lambda: adders[kind](**data)
        if (method, name) not in routes:
            return Reply(404, {"error": "unknown control endpoint "
                               "%s /_control/%s" % (method, name)})
        try:
            result = routes[(method, name)]()
        except TimeoutError as exc:
            return Reply(408, {"error": str(exc)})
        except (TypeError, KeyError, ValueError, re.error) as exc:
            return Reply(400, {"error": "%s: %s" % (type(exc).__name__, exc)})
        return Reply(200, {"ok": True} if result is None else result)

    def state(self):
        """Accounts, registrations, rules, revocations and rate limits."""
        def plain(obj):
            return {k: sorted(v) if isinstance(v, set) else v
                    for k, v in asdict(obj).items()}
        with self._lock:
            return {
                "whatsapp": [plain(a) for a in self.numbers.values()],
                "page": [plain(a) for a in self.pages.values()],
                "instagram": [plain(a) for a in self.instagram.values()],
                "d360": [plain(a) for a in self.d360.values()],
                "example": [plain(a) for a in self.example.values()],
                "templates": self.templates,
                "d360_webhooks": self.d360_webhooks,
                "subscriptions": self.subscriptions,
                "rules": [asdict(r) for r in self.rules],
                "revoked": sorted(self.revoked),
                "rate_limits": {k: v[0] for k, v in self.limits.items()},
            }


# --- request helpers ---------------------------------------------------------

def _params(req):
    """Parameters as Graph reads them: the query string, then a JSON or
    form body. Form fields holding JSON (recipient, message, as in Meta's
    curl examples) are decoded."""
    data = dict(req.query)
    body = req.json()
    if isinstance(body, dict):
        data.update(body)
    elif req.body and body is None:
        data.update(parse_qsl(req.body.decode("utf-8", "replace")))
    for key in ("recipient", "message"):
        if isinstance(data.get(key), str):
            data[key] = _loads(data[key]) or data[key]
    return data


def _access_token(req):
    """Bearer (or OAuth) header first, else access_token parameter."""
    scheme, _, value = (req.header("Authorization") or "").partition(" ")
    if scheme.lower() in ("bearer", "oauth") and value.strip():
        return value.strip()
    token = _params(req).get("access_token")
    return token if isinstance(token, str) else None


def _cursor(offset):
    """Graph-like opaque page cursor: base64 with "+", "/" and "="."""
    return base64.b64encode(b"\xfb\xef\xbe\xff\xff\xff" +
                            str(offset).encode()).decode()


def _cursor_offset(cursor):
    """The offset a cursor of _cursor() holds, or None."""
    try:
        raw = base64.b64decode(cursor, validate=True)
    except ValueError:
        return None
    tail = raw[6:].decode("ascii", "replace")
    return int(tail) if raw[:6] == b"\xfb\xef\xbe\xff\xff\xff" and \
        tail.isdigit() else None


def _select_fields(node, requested):
    """GET /{id}?fields=a,b: those fields plus id, as Graph does; an
    unknown field is Graph's error 100."""
    names = node.defaults if requested is None else [
        n.strip() for n in re.sub(r"\{[^}]*\}", "", requested).split(",")
        if n.strip()]
    for name in names:
        if name not in node.fields:
            return _param_error("Tried accessing nonexisting field (%s) on "
                                "node type (%s)" % (name, node.type))
    out = {name: node.fields[name] for name in names}
    out["id"] = node.fields["id"]
    return Reply(200, out)


def _write(handler, reply):
    """Send reply on the handler's connection and return the body bytes;
    reply None closes the connection without an answer."""
    if reply is None:
        handler.close_connection = True
        return None
    body, ctype = reply.body, "application/json; charset=UTF-8"
    if isinstance(body, (dict, list)):
        raw = meta_json(body)   # as Graph writes it: "/" escaped, too
    elif isinstance(body, str):
        raw, ctype = body.encode(), "text/plain; charset=utf-8"
    else:
        raw, ctype = body or b"", "application/octet-stream" if body else None
    handler.send_response(reply.status)
    if ctype and "content-type" not in {k.lower() for k in reply.headers}:
        handler.send_header("Content-Type", ctype)
    for name, value in reply.headers.items():
        handler.send_header(name, str(value))
    handler.send_header("Content-Length", str(len(raw)))
    handler.end_headers()
    handler.wfile.write(raw)
    handler.wfile.flush()
    return raw


class _Server(ThreadingHTTPServer):
    """ThreadingHTTPServer that tracks its connections so stop() can drop
    them, and never waits for handler threads (a delayed answer must not
    hold up a test's teardown)."""
    daemon_threads = True
    block_on_close = False

    def __init__(self, *args):
        self.connections = set()
        self.connections_lock = threading.Lock()
        super().__init__(*args)

    def process_request(self, request, client_address):
        with self.connections_lock:
            self.connections.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request):
        with self.connections_lock:
            self.connections.discard(request)
        super().shutdown_request(request)

    def drop_connections(self):
        with self.connections_lock:
            open_now = list(self.connections)
        for conn in open_now:
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


class _Handler(BaseHTTPRequestHandler):
    """Reads the request and hands it to FakeProviders._serve."""
    protocol_version = "HTTP/1.1"   # keep-alive, as libcurl uses it
    server_version = "FakeProviders/1.0"
    timeout = 120                   # idle keep-alive connections end

    def handle_any(self):
        try:
            self.server.fake._serve(self, self._read_body())
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = handle_any

    def _read_body(self):
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            chunks = []
            while True:
                size = int(self.rfile.readline().split(b";")[0] or b"0", 16)
                if size == 0:
                    break
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
            while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                pass
            return b"".join(chunks)
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length > 0 else b""

    def log_message(self, fmt, *args):
        if self.server.fake.verbose:
            super().log_message(fmt, *args)


def main(argv=None):
    """CLI: serve until Ctrl-C or SIGTERM."""
    import signal
    parser = argparse.ArgumentParser(
        description="Fake provider APIs for the team inbox (README.md).")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=9100)
    parser.add_argument("--no-demo", action="store_true",
                        help="start without the demo accounts")
    parser.add_argument("--quiet", action="store_true",
                        help="do not log each request")
    args = parser.parse_args(argv)
    fake = FakeProviders(args.host, args.port, demo=not args.no_demo,
                         verbose=not args.quiet)
    fake.start()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    for name, value in fake.bases.items():
        print("%s=%s" % (name, value), flush=True)
    if fake.demo:
        print("demo accounts: %s" % json.dumps(DEMO, indent=1), flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        fake.stop()


if __name__ == "__main__":
    main()
