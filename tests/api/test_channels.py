"""Channels (connected social accounts), black-box against a real kore and
the fake providers (tests/fakes): connecting, testing, disconnecting,
reconnecting, updating and deleting a channel of each adapter; what the
provider received; provider failures (401, 404, 500, closed connection, a
timeout); validation of credentials against the plugin's declaration;
roles; tenant isolation; routing keys claimed once across organizations;
360dialog's webhook registration; GET /api/v1/plugins.

Every test makes its own organizations and its own provider accounts
(random ids and tokens, see Account), so tests are independent of each
other and of anything else the session-wide fakes serve. Failures are
injected with the `program` fixture, which cancels its rules afterwards.
Database state is read through admin_db. The vault (sealed credentials,
tampering) and secrets leaking anywhere are in test_vault.py.
"""
import hashlib
import random
import threading
import time
import uuid

import pytest
import requests

from apiclient import Client, add_member, assert_error, new_token, signup
from providers import d360_error, graph_error

CHANNELS = "/api/v1/channels"
ADAPTERS = ("whatsapp_cloud", "360dialog", "messenger", "instagram",
            "example")
MASK = "\u2022\u2022\u2022\u2022"         # "••••", before a secret's hint
TIMEOUT_S = 10                            # the server's provider timeout


# ---------------------------------------------------------------- accounts

def digits(n=15):
    return str(random.randint(1, 9)) + "".join(
        random.choice("0123456789") for _ in range(n - 1))


class Account:
    """One account at a fake provider, made for one test, and what
    connecting it involves: the credentials to send, the secret among
    them, the routing key and account name the server should learn, and
    the request its connection test should make."""

    adapter = None
    secret_field = None
    auth_header = "Authorization"
    # Graph's message for a revoked token, 360dialog's for a bad key...
    rejected_text = "Error validating access token"
    unknown_token_text = "Invalid OAuth access token"

    def __init__(self, fakes, token=None):
        self.fakes = fakes
        self.token = token or self.new_token()
        self.name = "Acct " + uuid.uuid4().hex[:8]
        self.setup()

    def new_token(self):
        return "tok-" + uuid.uuid4().hex

    @property
    def auth_value(self):
        return "Bearer " + self.token

    def creds(self, token=None):
        """The credentials to connect with (token: another secret)."""
        c = dict(self.config)
        c[self.secret_field] = token or self.token
        return c

    def body(self, name=None, token=None):
        return {"adapter": self.adapter, "name": name or self.name,
                "credentials": self.creds(token)}

    def sent(self, token=None):
        """Connection tests the provider received with this account's
        secret (or token), oldest first."""
        auth = self.auth_value if token is None else \
            self.auth_value.replace(self.token, token)
        return [r for r in self.fakes.requests(self.test_path)
                if r.header(self.auth_header) == auth]

    def hint(self, token=None):
        return MASK + (token or self.token)[-4:]


class WhatsAppCloud(Account):
    adapter = "whatsapp_cloud"
    secret_field = "access_token"

    def new_token(self):
        return "EAAG-" + uuid.uuid4().hex

    def setup(self, extra_tokens=()):
        if not hasattr(self, "routing_key"):
            self.routing_key, self.waba = digits(), digits()
        self.fakes.add_whatsapp_number(
            self.routing_key, self.waba, "1555" + digits(7), self.name,
            [self.token, *extra_tokens])
        self.config = {"phone_number_id": self.routing_key,
                       "business_account_id": self.waba}
        self.account_name = self.name
        self.test_path = r"^/graph/v[0-9.]+/%s$" % self.routing_key
        self.expect_query = {
            "fields": "id,display_phone_number,verified_name"}

    def unknown_account_creds(self):
        return dict(self.creds(), phone_number_id=digits())


class D360(Account):
    adapter = "360dialog"
    secret_field = "api_key"
    auth_header = "D360-API-KEY"
    rejected_text = unknown_token_text = "Invalid api key"
    test_path = r"^/d360/health_status$"
    expect_query = {}

    def new_token(self):
        return "d360-" + uuid.uuid4().hex

    @property
    def auth_value(self):
        return self.token

    def setup(self, extra_tokens=()):
        if not hasattr(self, "routing_key"):
            self.routing_key, self.waba = digits(), digits()
        for key in (self.token, *extra_tokens):
            self.fakes.add_d360_channel(key, self.routing_key, self.waba,
                                        "1555" + digits(7))
        self.config = {}
        self.account_name = None

    def webhook(self, token=None):
        """What the server registered at 360dialog for this key."""
        return self.fakes.d360_webhook(token or self.token)


class Messenger(Account):
    adapter = "messenger"
    secret_field = "page_access_token"
    test_path = r"^/graph/v[0-9.]+/me$"
    expect_query = {"fields": "id,name"}

    def new_token(self):
        return "EAAG-page-" + uuid.uuid4().hex

    def setup(self, extra_tokens=()):
        if not hasattr(self, "routing_key"):
            self.routing_key = digits()
        self.fakes.add_page(self.routing_key, self.name,
                            [self.token, *extra_tokens])
        self.config = {"page_id": self.routing_key}
        self.account_name = self.name

    def unknown_account_creds(self):
        # The token is the Page's: /me answers with another id.
        return dict(self.creds(), page_id=digits())


class Instagram(Account):
    adapter = "instagram"
    secret_field = "access_token"
    test_path = r"^/instagram/v[0-9.]+/me$"
    expect_query = {"fields": "user_id,username"}

    def new_token(self):
        return "IGAA-" + uuid.uuid4().hex

    def setup(self, extra_tokens=()):
        if not hasattr(self, "routing_key"):
            self.routing_key = "1784" + digits(13)
            self.username = "inbox." + uuid.uuid4().hex[:8]
        self.fakes.add_instagram_account(self.routing_key, self.username,
                                         [self.token, *extra_tokens])
        self.config = {"account_id": self.routing_key}
        self.account_name = self.username

    def unknown_account_creds(self):
        return dict(self.creds(), account_id="1784" + digits(13))


class Example(Account):
    adapter = "example"
    secret_field = "token"
    rejected_text = unknown_token_text = "invalid or revoked token"
    expect_query = {}

    def setup(self, extra_tokens=()):
        if not hasattr(self, "routing_key"):
            self.routing_key = digits(12)
        self.fakes.add_example_account(self.routing_key,
                                       [self.token, *extra_tokens],
                                       self.name)
        self.config = {"account_id": self.routing_key}
        self.account_name = self.name
        self.test_path = r"^/example/accounts/%s$" % self.routing_key

    def unknown_account_creds(self):
        return dict(self.creds(), account_id=digits(12))


KINDS = {k.adapter: k for k in (WhatsAppCloud, D360, Messenger, Instagram,
                                Example)}


def add_token(acct):
    """A second valid secret for the same account (a rotated token); the
    old one keeps working until revoked."""
    new = acct.new_token()
    acct.setup(extra_tokens=(new,))
    return new


# ---------------------------------------------------------------- helpers

@pytest.fixture
def program(fakes):
    """fakes.program, with every rule cancelled when the test ends (the
    fakes serve the whole session)."""
    ids = []

    def add(*args, **kw):
        ids.append(fakes.program(*args, **kw))
        return ids[-1]
    yield add
    for i in ids:
        fakes.cancel(i)


def connect_shown(client, acct, name=None, token=None):
    """Connects; the channel as GET shows it, and the webhook secret the
    answer showed once (adapters whose provider cannot be told one by
    API, i.e. example), or None."""
    r = client.post(CHANNELS, acct.body(name, token))
    assert r.status_code == 201, r.text
    ch = r.json()
    secret = ch["webhook"].pop("secret", None)
    assert (secret is not None) == (acct.adapter == "example"), ch
    return ch, secret


def connect(client, acct, name=None, token=None):
    return connect_shown(client, acct, name, token)[0]


def connect_own_app(client, acct):
    """Connects a Meta adapter's account on the tenant's own Meta app
    (with the optional app secret): the channel and that secret."""
    app_secret = uuid.uuid4().hex
    body = acct.body()
    body["credentials"]["app_secret"] = app_secret
    r = client.post(CHANNELS, body)
    assert r.status_code == 201, r.text
    assert app_secret not in r.text
    return r.json(), app_secret


def channel_rows(admin_db, org_id):
    """(channels, channel_secrets, channel_routes) row counts of an org."""
    with admin_db.cursor() as cur:
        out = []
        for table in ("channels", "channel_secrets", "channel_routes"):
            cur.execute(f"SELECT count(*) FROM {table} WHERE org_id = %s",
                        (org_id,))
            out.append(cur.fetchone()[0])
        return tuple(out)


def route_of(admin_db, family, routing_key):
    """The channel_routes row for a routing key, as a dict, or None."""
    with admin_db.cursor() as cur:
        cur.execute("SELECT org_id::text, channel_id::text, adapter, "
                    "webhook_secret_hash FROM channel_routes "
                    "WHERE family = %s AND routing_key = %s",
                    (family, routing_key))
        row = cur.fetchone()
    if row is None:
        return None
    return {"org_id": row[0], "channel_id": row[1], "adapter": row[2],
            "webhook_secret_hash": None if row[3] is None else bytes(row[3])}


def own_app_secret(admin_db, channel_id):
    """Whether the channel's route verifies webhooks with the tenant's
    own Meta app secret (None: no route)."""
    with admin_db.cursor() as cur:
        cur.execute("SELECT own_app_secret FROM channel_routes "
                    "WHERE channel_id = %s", (channel_id,))
        row = cur.fetchone()
    return None if row is None else row[0]


def family_of(adapter):
    return {"whatsapp_cloud": "whatsapp", "360dialog": "whatsapp"}.get(
        adapter, adapter)


def audit_actions(client):
    r = client.get("/api/v1/audit-log", params={"limit": 200})
    assert r.status_code == 200, r.text
    return [e["action"] for e in r.json()["data"]]


def assert_nothing_saved(client, admin_db, acct):
    """A failed connect left no trace: no channel in the API or the
    database, no route, nothing in the audit log."""
    r = client.get(CHANNELS)
    assert r.status_code == 200 and r.json()["data"] == [], r.text
    assert channel_rows(admin_db, client.org_id) == (0, 0, 0)
    route = route_of(admin_db, family_of(acct.adapter), acct.routing_key)
    assert route is None or route["org_id"] != client.org_id
    assert not [a for a in audit_actions(client) if a.startswith("channel")]


def assert_connect_failed(r, outcome):
    body = assert_error(r, 422, "CONNECTION_FAILED")
    assert body["details"]["outcome"] == outcome, body
    assert body["details"]["provider_message"], body
    return body


def assert_channel(ch, acct, status="connected"):
    """The shape of a channel as the API shows it to an owner or admin."""
    assert set(ch) == {
        "id", "adapter", "family", "name", "routing_key", "account_name",
        "status", "status_message", "checked_at", "send_rate",
        "created_at", "updated_at", "credentials", "webhook"}, ch
    assert ch["adapter"] == acct.adapter
    assert ch["family"] == family_of(acct.adapter)
    assert ch["status"] == status, ch
    assert ch["routing_key"] == acct.routing_key
    assert ch["account_name"] == acct.account_name
    # Non-secret fields as typed, secrets only as a hint.
    assert ch["credentials"] == dict(acct.config, **{
        acct.secret_field: acct.hint()}), ch
    assert acct.token not in str(ch)
    assert ch["webhook"]["url"].endswith(
        "/api/v1/webhooks/" + ("meta" if acct.adapter in (
            "whatsapp_cloud", "messenger", "instagram") else acct.adapter))


# ---------------------------------------------------------------- plugins

def test_plugins_lists_adapters_with_capabilities_and_fields(server):
    r = Client(server.url).get("/api/v1/plugins")       # no sign-in needed
    assert r.status_code == 200, r.text
    plugins = {p["name"]: p for p in r.json()["data"]}
    assert set(plugins) == set(ADAPTERS)
    fields = {name: {f["name"]: f for f in p["credential_fields"]}
              for name, p in plugins.items()}
    assert list(fields["whatsapp_cloud"]) == [
        "phone_number_id", "business_account_id", "access_token",
        "app_secret"]
    assert list(fields["360dialog"]) == ["api_key"]
    assert list(fields["messenger"]) == ["page_id", "page_access_token",
                                         "app_secret"]
    assert list(fields["instagram"]) == ["account_id", "access_token",
                                         "app_secret"]
    assert list(fields["example"]) == ["account_id", "token"]
    token = fields["whatsapp_cloud"]["access_token"]
    assert token["secret"] and token["required"] and \
        not token["routing_key"] and token["max_length"] == 2048
    pnid = fields["whatsapp_cloud"]["phone_number_id"]
    assert pnid["routing_key"] and not pnid["secret"] and \
        pnid["pattern"] == "[0-9]{1,32}" and pnid["label"] and pnid["hint"]
    assert not fields["messenger"]["app_secret"]["required"]
    for p in plugins.values():
        assert p["display_name"] and p["version"] and p["send_rate"] > 0
        assert "text" in p["capabilities"] and "webhook" in \
            p["capabilities"]
        assert p["webhook"]["url"].startswith(server.url + "/api/v1/")
    assert "register_webhook" in plugins["360dialog"]["capabilities"]
    assert plugins["360dialog"]["webhook"]["registered_automatically"]
    assert "register_webhook" not in plugins["whatsapp_cloud"][
        "capabilities"]
    assert "template" in plugins["whatsapp_cloud"]["capabilities"]
    assert plugins["whatsapp_cloud"]["family"] == \
        plugins["360dialog"]["family"] == "whatsapp"


# ---------------------------------------------------------------- connecting

@pytest.mark.parametrize("adapter", ADAPTERS)
def test_connect_asks_the_provider_and_saves(server, fakes, admin_db,
                                             adapter):
    owner = signup(server.url)
    acct = KINDS[adapter](fakes)
    ch = connect(owner, acct)
    assert_channel(ch, acct)
    assert ch["status_message"] is None and ch["checked_at"]
    assert ch["name"] == acct.name

    # Exactly one connection test reached the provider, as documented in
    # docs/plugins.md: method, URL, auth header; the secret in the header
    # only, never in the URL.
    sent = acct.sent()
    assert len(sent) == 1, [(r.method, r.path) for r in sent]
    req = sent[0]
    assert req.method == "GET" and req.body == b""
    assert req.query == acct.expect_query
    assert acct.token not in req.path and acct.token not in str(req.query)
    if adapter == "360dialog":
        assert req.path == "/d360/health_status"
        assert req.header("Authorization") is None
    elif adapter == "example":
        assert req.path == "/example/accounts/" + acct.routing_key
    elif adapter == "whatsapp_cloud":
        assert req.path == "/graph/v23.0/" + acct.routing_key
    else:
        assert req.path.endswith("/me")

    # The API shows it, one GET and in the list.
    r = owner.get(f"{CHANNELS}/{ch['id']}")
    assert r.status_code == 200 and r.json() == ch, r.text
    r = owner.get(CHANNELS)
    assert r.status_code == 200 and r.json()["data"] == [ch], r.text
    assert r.json()["next_cursor"] is None

    # The database: the row, a sealed secret, and the route.
    assert channel_rows(admin_db, owner.org_id) == (1, 1, 1)
    route = route_of(admin_db, family_of(adapter), acct.routing_key)
    assert route["org_id"] == owner.org_id and \
        route["channel_id"] == ch["id"] and route["adapter"] == adapter
    # Adapters that authenticate webhooks by a per-channel secret.
    assert (route["webhook_secret_hash"] is not None) == \
        (adapter in ("360dialog", "example"))
    assert "channel_connected" in audit_actions(owner)


def test_connect_with_optional_app_secret(server, fakes, admin_db):
    """The optional app secret is sealed too and shown as a hint only; a
    channel on the tenant's own Meta app verifies its webhooks with it."""
    owner = signup(server.url)
    ch, app_secret = connect_own_app(owner, Messenger(fakes))
    assert ch["credentials"]["app_secret"] == MASK + app_secret[-4:]
    assert channel_rows(admin_db, owner.org_id) == (1, 2, 1)
    assert own_app_secret(admin_db, ch["id"]) is True
    # Without it, the shared app's secret applies.
    other = connect(signup(server.url), Messenger(fakes))
    assert "app_secret" not in other["credentials"]
    assert own_app_secret(admin_db, other["id"]) is False


def test_connect_name_of_100_characters(server, fakes):
    owner = signup(server.url)
    ch = connect(owner, Example(fakes), name="n" * 100)
    assert ch["name"] == "n" * 100


def test_connect_name_counts_characters_not_bytes(server, fakes):
    """100 characters outside ASCII (200 bytes) are a valid name."""
    owner = signup(server.url)
    ch = connect(owner, Example(fakes), name="\u00e9" * 100)
    assert ch["name"] == "\u00e9" * 100


def test_short_secrets_get_an_empty_hint(server, fakes):
    """A hint of the last 4 characters of a short secret would give most
    of it away: under 8 characters it is the mask alone."""
    owner = signup(server.url)
    acct = Example(fakes, token="s3cr7")
    ch = connect(owner, acct)
    assert ch["credentials"]["token"] == MASK


# ---------------------------------------------------------------- provider failures

@pytest.mark.parametrize("adapter", ADAPTERS)
def test_connect_with_a_rejected_token_saves_nothing(server, fakes, admin_db,
                                                     adapter):
    owner = signup(server.url)
    acct = KINDS[adapter](fakes)
    bogus = acct.new_token()                    # unknown to the provider
    r = owner.post(CHANNELS, acct.body(token=bogus))
    body = assert_connect_failed(r, "auth")
    assert "rejected" in body["error"].lower()
    assert bogus not in r.text
    assert len(acct.sent(bogus)) == 1
    assert_nothing_saved(owner, admin_db, acct)
    # The same account with the right token connects at once.
    connect(owner, acct)


@pytest.mark.parametrize("adapter", ADAPTERS)
def test_token_revoked_after_connecting(server, fakes, admin_db, adapter):
    owner = signup(server.url)
    acct = KINDS[adapter](fakes)
    ch = connect(owner, acct)
    time.sleep(0.01)
    fakes.revoke_token(acct.token)
    r = owner.post(f"{CHANNELS}/{ch['id']}/test")
    assert r.status_code == 200, r.text
    tested = r.json()
    assert tested["status"] == "error"
    assert tested["status_message"].startswith("Credentials rejected")
    assert tested["checked_at"] > ch["checked_at"]
    assert acct.token not in r.text
    # Kept: GET and the list say the same.
    assert owner.get(f"{CHANNELS}/{ch['id']}").json() == tested
    # A failing channel keeps its route: it is still this tenant's account.
    assert route_of(admin_db, family_of(adapter), acct.routing_key)[
        "channel_id"] == ch["id"]
    # A rotated token, given with PATCH, brings it back.
    new = add_token(acct)
    r = owner.patch(f"{CHANNELS}/{ch['id']}",
                    {"credentials": {acct.secret_field: new}})
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "connected"
    assert r.json()["status_message"] is None
    assert r.json()["credentials"][acct.secret_field] == acct.hint(new)


@pytest.mark.parametrize("adapter", ADAPTERS)
def test_reconnect_with_refused_credentials(server, fakes, admin_db,
                                            adapter):
    """A reconnect the provider refuses is answered (200) with the channel
    in error, holding its route; 360dialog registers nothing then."""
    owner = signup(server.url)
    acct = KINDS[adapter](fakes)
    ch = connect(owner, acct)
    url = f"{CHANNELS}/{ch['id']}"
    assert owner.post(url + "/disconnect").status_code == 200
    hook = acct.webhook() if adapter == "360dialog" else None
    fakes.revoke_token(acct.token)
    r = owner.post(url + "/reconnect")
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "error"
    assert r.json()["status_message"].startswith("Credentials rejected")
    assert "secret" not in r.json()["webhook"]
    assert route_of(admin_db, family_of(adapter), acct.routing_key)[
        "channel_id"] == ch["id"]
    if adapter == "360dialog":
        assert acct.webhook() == hook
    assert "channel_reconnected" in audit_actions(owner)


@pytest.mark.parametrize("adapter", ADAPTERS)
def test_provider_message_is_passed_on(server, fakes, adapter):
    """The provider's own words reach the user: on a refused connect and
    in a failing channel's status_message."""
    owner = signup(server.url)
    acct = KINDS[adapter](fakes)
    r = owner.post(CHANNELS, acct.body(token=acct.new_token()))
    body = assert_connect_failed(r, "auth")
    assert acct.unknown_token_text in body["details"]["provider_message"]
    assert acct.unknown_token_text in body["error"]
    ch = connect(owner, acct)
    fakes.revoke_token(acct.token)
    r = owner.post(f"{CHANNELS}/{ch['id']}/test")
    assert r.status_code == 200, r.text
    assert acct.rejected_text in r.json()["status_message"], r.text


@pytest.mark.parametrize("adapter", ADAPTERS)
def test_connect_unknown_account(server, fakes, admin_db, program, adapter):
    owner = signup(server.url)
    acct = KINDS[adapter](fakes)
    if adapter == "360dialog":
        # A key names its number: an unknown number is 360dialog's 404.
        program("GET", acct.test_path, status=404,
                body=d360_error(404, "Not found"))
        body = acct.body()
    else:
        body = {"adapter": adapter, "name": "x",
                "credentials": acct.unknown_account_creds()}
    r = owner.post(CHANNELS, body)
    assert_connect_failed(r, "not_found")
    assert acct.token not in r.text
    assert_nothing_saved(owner, admin_db, acct)


@pytest.mark.parametrize("adapter", ADAPTERS)
@pytest.mark.parametrize("failure", ["500", "429", "closed"])
def test_connect_when_the_provider_fails(server, fakes, admin_db, program,
                                         adapter, failure):
    owner = signup(server.url)
    acct = KINDS[adapter](fakes)
    if failure == "closed":
        program("GET", acct.test_path, close=True)
        outcome = "unreachable"
    else:
        program("GET", acct.test_path, status=int(failure),
                body=graph_error(1, "An unknown error occurred",
                                 type_="OAuthException")
                if failure == "500" else None)
        outcome = "unavailable"
    r = owner.post(CHANNELS, acct.body())
    body = assert_connect_failed(r, outcome)
    if failure != "closed":
        assert "HTTP " + failure in body["details"]["provider_message"]
    assert len(acct.sent()) == 1
    assert_nothing_saved(owner, admin_db, acct)


@pytest.mark.parametrize("adapter", ADAPTERS)
@pytest.mark.parametrize("failure", ["500", "closed"])
def test_test_records_a_provider_failure(server, fakes, program, adapter,
                                         failure):
    owner = signup(server.url)
    acct = KINDS[adapter](fakes)
    ch = connect(owner, acct)
    program("GET", acct.test_path, status=500 if failure == "500" else None,
            close=failure == "closed")
    r = owner.post(f"{CHANNELS}/{ch['id']}/test")
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "error"
    msg = r.json()["status_message"]
    assert ("HTTP 500" in msg) if failure == "500" else \
        ("could not be reached" in msg), msg
    # The provider is fine again: the next test says so.
    r = owner.post(f"{CHANNELS}/{ch['id']}/test")
    assert r.json()["status"] == "connected", r.text
    assert r.json()["status_message"] is None


def test_provider_timeout_off_the_event_loop(server, fakes, admin_db,
                                             program):
    """A provider that does not answer: the connect gives up after the
    server's timeout (10 s) with a clear error and saves nothing, and
    while it waits the server keeps answering everyone else (the call
    runs on a task thread, not in the worker's event loop). The one slow
    test of the file."""
    owner = signup(server.url)
    other = signup(server.url)
    acct = Example(fakes)
    program("GET", acct.test_path, delay=TIMEOUT_S + 3)
    result = {}

    def slow():
        t0 = time.monotonic()
        result["r"] = owner.post(CHANNELS, acct.body())
        result["elapsed"] = time.monotonic() - t0

    th = threading.Thread(target=slow)
    th.start()
    fakes.wait_for(path=acct.test_path, answered=False, timeout=5)
    # Both workers answer quickly meanwhile, many times over.
    for _ in range(10):
        t0 = time.monotonic()
        assert requests.get(server.url + "/api/v1/health",
                            timeout=2).status_code == 200
        assert other.get(CHANNELS).status_code == 200
        assert time.monotonic() - t0 < 1.0
    th.join(TIMEOUT_S + 10)
    assert not th.is_alive()
    body = assert_connect_failed(result["r"], "timeout")
    assert "in time" in body["details"]["provider_message"]
    assert TIMEOUT_S - 0.5 <= result["elapsed"] < TIMEOUT_S + 2.5, result
    assert_nothing_saved(owner, admin_db, acct)


# ---------------------------------------------------------------- life cycle

@pytest.mark.parametrize("adapter", ADAPTERS)
def test_lifecycle(server, fakes, admin_db, adapter):
    """connect → test → disconnect → test → reconnect → update → delete."""
    owner = signup(server.url)
    acct = KINDS[adapter](fakes)
    family = family_of(adapter)
    ch = connect(owner, acct)
    url = f"{CHANNELS}/{ch['id']}"

    time.sleep(0.01)
    r = owner.post(url + "/test")
    assert r.status_code == 200, r.text
    tested = r.json()
    assert tested["status"] == "connected"
    assert tested["checked_at"] > ch["checked_at"]
    assert len(acct.sent()) == 2

    r = owner.post(url + "/disconnect")
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "disconnected"
    assert r.json()["status_message"] is None
    assert route_of(admin_db, family, acct.routing_key) is None
    assert channel_rows(admin_db, owner.org_id) == (1, 1, 0)

    # A test of a disconnected channel does not connect it.
    r = owner.post(url + "/test")
    assert r.status_code == 200 and r.json()["status"] == "disconnected"

    r = owner.post(url + "/reconnect")
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "connected"
    assert route_of(admin_db, family, acct.routing_key)["channel_id"] == \
        ch["id"]
    assert len(acct.sent()) == 4

    # Update: a new name and a rotated token, checked before it is kept.
    new = add_token(acct)
    r = owner.patch(url, {"name": "Renamed",
                          "credentials": {acct.secret_field: new}})
    assert r.status_code == 200, r.text
    updated = r.json()
    assert updated["name"] == "Renamed"
    assert updated["status"] == "connected"
    assert updated["credentials"] == dict(
        acct.config, **{acct.secret_field: acct.hint(new)})
    assert new not in r.text
    assert len(acct.sent(new)) == 1
    # From now on the server uses the new token.
    r = owner.post(url + "/test")
    assert r.status_code == 200 and r.json()["status"] == "connected"
    assert len(acct.sent(new)) == 2 and len(acct.sent()) == 4
    assert owner.get(url).json()["name"] == "Renamed"

    r = owner.delete(url)
    assert r.status_code == 204, r.text
    assert r.content == b""
    assert_error(owner.get(url), 404, "NOT_FOUND")
    assert owner.get(CHANNELS).json()["data"] == []
    assert channel_rows(admin_db, owner.org_id) == (0, 0, 0)
    assert route_of(admin_db, family, acct.routing_key) is None
    for verb in ("test", "reconnect", "disconnect"):
        assert_error(owner.post(f"{url}/{verb}"), 404, "NOT_FOUND")
    assert_error(owner.delete(url), 404, "NOT_FOUND")

    actions = audit_actions(owner)
    for action in ("channel_connected", "channel_disconnected",
                   "channel_reconnected", "channel_credentials_updated",
                   "channel_deleted"):
        assert action in actions, actions


@pytest.mark.parametrize("adapter", ADAPTERS)
def test_update_with_rejected_credentials_changes_nothing(server, fakes,
                                                           adapter):
    owner = signup(server.url)
    acct = KINDS[adapter](fakes)
    ch = connect(owner, acct)
    url = f"{CHANNELS}/{ch['id']}"
    bad = acct.new_token()
    r = owner.patch(url, {"name": "New name",
                          "credentials": {acct.secret_field: bad}})
    assert_connect_failed(r, "auth")
    assert bad not in r.text
    assert owner.get(url).json() == ch
    # The old token is still the one in use.
    r = owner.post(url + "/test")
    assert r.json()["status"] == "connected"
    assert len(acct.sent()) == 2 and len(acct.sent(bad)) == 1


def test_update_keeps_the_fields_not_given(server, fakes, admin_db):
    """PATCH changes only what it names: the stored token stays (sealed
    again), the optional app secret can be added and removed."""
    owner = signup(server.url)
    acct = WhatsAppCloud(fakes)
    ch = connect(owner, acct)
    url = f"{CHANNELS}/{ch['id']}"
    app_secret = uuid.uuid4().hex
    r = owner.patch(url, {"credentials": {"app_secret": app_secret}})
    assert r.status_code == 200, r.text
    creds = r.json()["credentials"]
    assert creds["access_token"] == acct.hint()
    assert creds["app_secret"] == MASK + app_secret[-4:]
    assert len(acct.sent()) == 2          # with the stored token
    assert channel_rows(admin_db, owner.org_id) == (1, 2, 1)
    r = owner.patch(url, {"credentials": {"app_secret": ""}})
    assert r.status_code == 200, r.text
    assert "app_secret" not in r.json()["credentials"]
    assert channel_rows(admin_db, owner.org_id) == (1, 1, 1)
    # Renaming alone.
    r = owner.patch(url, {"name": "Support line"})
    assert r.status_code == 200 and r.json()["name"] == "Support line"
    assert r.json()["credentials"]["access_token"] == acct.hint()


def test_update_to_another_account_moves_the_route(server, fakes, admin_db):
    owner = signup(server.url)
    first = Example(fakes)
    ch = connect(owner, first)
    second = Example(fakes)
    r = owner.patch(f"{CHANNELS}/{ch['id']}",
                    {"credentials": second.creds()})
    assert r.status_code == 200, r.text
    assert r.json()["routing_key"] == second.routing_key
    assert route_of(admin_db, "example", first.routing_key) is None
    assert route_of(admin_db, "example", second.routing_key)[
        "channel_id"] == ch["id"]


@pytest.mark.parametrize("name", ["", "   ", None, 5, "x" * 101])
def test_update_with_a_bad_name(server, fakes, name):
    owner = signup(server.url)
    ch = connect(owner, Example(fakes))
    r = owner.patch(f"{CHANNELS}/{ch['id']}", {"name": name})
    if name is None:
        # null: not given, nothing to change.
        assert r.status_code == 200, r.text
    else:
        body = assert_error(r, 422, "VALIDATION_FAILED")
        assert "name" in body["details"], body
    assert owner.get(f"{CHANNELS}/{ch['id']}").json()["name"] == ch["name"]


# ---------------------------------------------------------------- validation

def no_provider_calls(fakes):
    """A check that nothing reached any provider since it was made."""
    before = len(fakes.requests())
    return lambda: len(fakes.requests()) == before


@pytest.mark.parametrize("adapter, body, field, message", [
    ("telegram", None, "adapter", "is not an installed plugin"),
    (None, None, "adapter", "is not an installed plugin"),
    (7, None, "adapter", "is not an installed plugin"),
    ("example", {"name": None}, "name", "1 to 100"),
    ("example", {"name": ""}, "name", "1 to 100"),
    ("example", {"name": 42}, "name", "1 to 100"),
    ("example", {"name": "x" * 101}, "name", "1 to 100"),
    ("example", {"credentials": None}, "credentials", "object"),
    ("example", {"credentials": "token=abc"}, "credentials", "object"),
    ("example", {"credentials": [["token", "abc"]]}, "credentials",
     "object"),
])
def test_connect_validation_of_the_request(server, fakes, adapter, body,
                                           field, message):
    owner = signup(server.url)
    untouched = no_provider_calls(fakes)
    req = {"adapter": adapter, "name": "Support",
           "credentials": {"account_id": "12345", "token": "tok-12345678"}}
    if adapter is None:
        del req["adapter"]
    req.update(body or {})
    r = owner.post(CHANNELS, req)
    err = assert_error(r, 422, "UNKNOWN_ADAPTER" if field == "adapter"
                       else "VALIDATION_FAILED")
    assert message in err["details"][field], err
    assert untouched()
    assert owner.get(CHANNELS).json()["data"] == []


HUGE = "H" * 100_000


@pytest.mark.parametrize("adapter, creds, expect", [
    # Missing required fields, each and all.
    ("whatsapp_cloud", {"business_account_id": "1", "access_token": "EAAG1"},
     {"phone_number_id": "is required"}),
    ("whatsapp_cloud", {}, {"phone_number_id": "is required",
                            "business_account_id": "is required",
                            "access_token": "is required"}),
    ("360dialog", {}, {"api_key": "is required"}),
    ("360dialog", {"api_key": ""}, {"api_key": "is required"}),
    ("messenger", {"page_id": "123"}, {"page_access_token": "is required"}),
    ("instagram", {"access_token": "IGAA1"}, {"account_id": "is required"}),
    ("example", {"account_id": "1"}, {"token": "is required"}),
    # Values that break the declared pattern.
    ("whatsapp_cloud", {"phone_number_id": "+1 555 0100",
                        "business_account_id": "1", "access_token": "EAAG1"},
     {"phone_number_id": "does not have the expected format"}),
    ("messenger", {"page_id": "123", "page_access_token": "EAAG1",
                   "app_secret": "not-hex-and-not-32"},
     {"app_secret": "does not have the expected format"}),
    ("instagram", {"account_id": "@demo.inbox", "access_token": "IGAA1"},
     {"account_id": "does not have the expected format"}),
    ("360dialog", {"api_key": "two words"},
     {"api_key": "does not have the expected format"}),
    ("example", {"account_id": "acct_12", "token": "t"},
     {"account_id": "does not have the expected format"}),
    ("example", {"account_id": "12", "token": "bad\u0001token"},
     {"token": "must not contain control characters"}),
    # Fields the adapter does not have.
    ("example", {"account_id": "12", "token": "t", "password": "x"},
     {"password": "is not a field of this adapter"}),
    ("360dialog", {"api_key": "k", "phone_number_id": "12"},
     {"phone_number_id": "is not a field of this adapter"}),
    # Values that are not strings.
    ("example", {"account_id": 12, "token": "t"},
     {"account_id": "must be a string"}),
    ("example", {"account_id": "12", "token": None},
     {"token": "must be a string"}),
    ("example", {"account_id": "12", "token": True},
     {"token": "must be a string"}),
    ("example", {"account_id": "12", "token": ["a"]},
     {"token": "must be a string"}),
    ("example", {"account_id": "12", "token": {"value": "a"}},
     {"token": "must be a string"}),
    # Too long, a little and a lot.
    ("example", {"account_id": "12", "token": "t" * 257},
     {"token": "must be at most 256 bytes"}),
    ("whatsapp_cloud", {"phone_number_id": "1" * 33,
                        "business_account_id": "1", "access_token": "EAAG1"},
     {"phone_number_id": "must be at most 32 bytes"}),
    ("whatsapp_cloud", {"phone_number_id": "1", "business_account_id": "1",
                        "access_token": HUGE},
     {"access_token": "must be at most 2048 bytes"}),
])
def test_connect_validation_of_credentials(server, fakes, adapter, creds,
                                           expect):
    owner = signup(server.url)
    untouched = no_provider_calls(fakes)
    r = owner.post(CHANNELS, {"adapter": adapter, "name": "Support",
                              "credentials": creds})
    body = assert_error(r, 422, "VALIDATION_FAILED")
    assert set(body["details"]) == set(expect), body
    for field, message in expect.items():
        assert message in body["details"][field], body
    # Values are never echoed back.
    for value in creds.values():
        if isinstance(value, str) and len(value) > 3:
            assert value not in r.text
    assert untouched()
    assert owner.get(CHANNELS).json()["data"] == []


def test_connect_body_limits(server, fakes):
    owner = signup(server.url)
    untouched = no_provider_calls(fakes)
    big = {"adapter": "example", "name": "x",
           "credentials": {"account_id": "1", "token": "t" * (1 << 20)}}
    assert_error(owner.post(CHANNELS, big), 413, "PAYLOAD_TOO_LARGE")
    r = owner.post(CHANNELS, data=b'{"adapter": "example", ',
                   headers={"Content-Type": "application/json"})
    assert_error(r, 400, "INVALID_JSON")
    r = owner.post(CHANNELS, data=b'["example"]',
                   headers={"Content-Type": "application/json"})
    assert_error(r, 400, "INVALID_JSON")
    r = owner.post(CHANNELS, data=b'adapter=example',
                   headers={"Content-Type": "application/x-www-form-"
                            "urlencoded"})
    assert_error(r, 415, "UNSUPPORTED_MEDIA_TYPE")
    r = owner.post(CHANNELS, data=b'{"adapter": "example", "adapter": "x", '
                   b'"name": "n", "credentials": {}}',
                   headers={"Content-Type": "application/json"})
    assert_error(r, 400, "INVALID_JSON")
    assert untouched()


@pytest.mark.parametrize("creds, expect", [
    ({"token": 5}, {"token": "must be a string"}),
    ({"token": ""}, {"token": "is required"}),
    ({"token": "two words"}, {"token": "does not have the expected format"}),
    ({"webhook_secret": "x"}, {"webhook_secret": "is not a field"}),
    ({"account_id": "acct"}, {"account_id": "does not have the expected"}),
    ("token", {"credentials": "must be an object"}),
])
def test_update_validation(server, fakes, creds, expect):
    owner = signup(server.url)
    acct = Example(fakes)
    ch = connect(owner, acct)
    untouched = no_provider_calls(fakes)
    r = owner.patch(f"{CHANNELS}/{ch['id']}", {"credentials": creds})
    body = assert_error(r, 422, "VALIDATION_FAILED")
    assert set(body["details"]) == set(expect), body
    for field, message in expect.items():
        assert message in body["details"][field], body
    assert untouched()
    assert owner.get(f"{CHANNELS}/{ch['id']}").json() == ch


# ---------------------------------------------------------------- roles

def test_agents_read_but_change_nothing(server, fakes, admin_db):
    owner = signup(server.url)
    acct = Example(fakes)
    ch = connect(owner, acct)
    url = f"{CHANNELS}/{ch['id']}"
    agent = add_member(server.url, owner, "agent")
    token, _ = new_token(owner, role="agent")
    bot = Client(server.url, token=token, origin=False)
    for who in (agent, bot):
        r = who.get(CHANNELS)
        assert r.status_code == 200, r.text
        [seen] = r.json()["data"]
        assert seen["id"] == ch["id"] and seen["status"] == "connected"
        assert seen["credentials"] == ch["credentials"]
        # Where to point the provider's webhooks is for admins.
        assert seen["webhook"] is None
        r = who.get(url)
        assert r.status_code == 200 and r.json() == seen, r.text
    sent = len(fakes.requests())
    other = Example(fakes)
    for who in (agent, bot):
        for method, path, body in (
                ("POST", CHANNELS, other.body()),
                ("PATCH", url, {"name": "Mine now"}),
                ("PATCH", url, {"credentials": {"token": other.token}}),
                ("POST", url + "/test", None),
                ("POST", url + "/reconnect", None),
                ("POST", url + "/disconnect", None),
                ("DELETE", url, None)):
            r = who.request(method, path, json=body)
            assert_error(r, 403, "FORBIDDEN")
    # Nothing changed, and nobody asked a provider anything.
    assert len(fakes.requests()) == sent
    assert owner.get(url).json() == ch
    assert channel_rows(admin_db, owner.org_id) == (1, 1, 1)
    assert route_of(admin_db, "example", other.routing_key) is None


def test_admins_manage_channels(server, fakes):
    owner = signup(server.url)
    admin = add_member(server.url, owner, "admin")
    ch = connect(admin, Example(fakes))
    assert ch["webhook"]["url"]
    url = f"{CHANNELS}/{ch['id']}"
    assert admin.post(url + "/test").status_code == 200
    assert admin.post(url + "/disconnect").json()["status"] == "disconnected"
    assert admin.post(url + "/reconnect").json()["status"] == "connected"
    assert admin.patch(url, {"name": "By admin"}).json()["name"] == \
        "By admin"
    assert admin.delete(url).status_code == 204
    token, _ = new_token(owner, role="admin")
    bot = Client(server.url, token=token, origin=False)
    assert bot.post(CHANNELS, Example(fakes).body()).status_code == 201


def test_agents_get_403_before_validation(server, fakes):
    """Who is asking comes first: an agent learns nothing from the
    validation of a body it may not send at all."""
    owner = signup(server.url)
    agent = add_member(server.url, owner, "agent")
    r = agent.post(CHANNELS, {"adapter": "example", "name": "x",
                              "credentials": {"token": 1}})
    assert_error(r, 403, "FORBIDDEN")


def test_invalid_token_gets_401_before_validation(server, fakes):
    """A revoked API token gets 401, whatever the body."""
    owner = signup(server.url)
    token, row = new_token(owner, role="admin")
    assert owner.delete("/api/v1/api-tokens/" + row["id"]).status_code \
        in (200, 204)
    bot = Client(server.url, token=token, origin=False)
    r = bot.post(CHANNELS, {"adapter": "nope", "name": "x",
                            "credentials": {}})
    assert_error(r, 401)


def test_signed_out_gets_401(server, fakes):
    anon = Client(server.url)
    assert_error(anon.get(CHANNELS), 401, "UNAUTHENTICATED")
    assert_error(anon.post(CHANNELS, Example(fakes).body()), 401,
                 "UNAUTHENTICATED")
    assert_error(anon.post(f"{CHANNELS}/{uuid.uuid4()}/test"), 401,
                 "UNAUTHENTICATED")


# ---------------------------------------------------------------- tenants

def test_another_orgs_channel_is_not_found(server, fakes, admin_db):
    alice = signup(server.url, org="Alice Co")
    acct = Example(fakes)
    ch = connect(alice, acct)
    url = f"{CHANNELS}/{ch['id']}"
    mallory = signup(server.url, org="Mallory Co")
    mine = connect(mallory, Example(fakes))
    sent = len(fakes.requests())
    for method, path, body in (
            ("GET", url, None),
            ("POST", url + "/test", None),
            ("PATCH", url, {"name": "pwned"}),
            ("PATCH", url, {"credentials": {"token": "x"}}),
            ("POST", url + "/disconnect", None),
            ("POST", url + "/reconnect", None),
            ("DELETE", url, None)):
        r = mallory.request(method, path, json=body)
        body = assert_error(r, 404, "NOT_FOUND")
        assert ch["id"] not in r.text and acct.routing_key not in r.text
    assert [c["id"] for c in mallory.get(CHANNELS).json()["data"]] == \
        [mine["id"]]
    # Untouched, and no provider was asked on Mallory's behalf.
    assert len(fakes.requests()) == sent
    assert alice.get(url).json() == ch
    assert channel_rows(admin_db, alice.org_id) == (1, 1, 1)
    # Not a channel id at all, or nobody's.
    for path in (f"{CHANNELS}/{uuid.uuid4()}", f"{CHANNELS}/not-a-uuid",
                 f"{CHANNELS}/{uuid.uuid4()}/test"):
        method = "POST" if path.endswith("/test") else "GET"
        assert_error(mallory.request(method, path), 404, "NOT_FOUND")


def test_org_switch_changes_which_channels_are_seen(server, fakes):
    """A person in two organizations sees the channels of the one they
    act in."""
    owner = signup(server.url, org="First")
    first = connect(owner, Example(fakes))
    r = owner.post("/api/v1/organizations", {"name": "Second"})
    assert r.status_code == 201, r.text
    second_org = r.json()["id"]
    r = owner.post("/api/v1/auth/switch", {"organization_id": second_org})
    assert r.status_code == 200, r.text
    assert owner.get(CHANNELS).json()["data"] == []
    assert_error(owner.get(f"{CHANNELS}/{first['id']}"), 404, "NOT_FOUND")


# ---------------------------------------------------------------- routing keys

def assert_taken(r, *secrets_of_the_holder):
    body = assert_error(r, 409, "ROUTING_KEY_TAKEN")
    for s in secrets_of_the_holder:
        assert s not in r.text, (s, r.text)
    return body


@pytest.mark.parametrize("adapter", ADAPTERS)
def test_routing_key_belongs_to_one_connected_channel(server, fakes,
                                                      admin_db, adapter):
    holder_name = "Holder " + uuid.uuid4().hex[:6]
    alice = signup(server.url, org=holder_name, name="Alice Holder")
    acct = KINDS[adapter](fakes)
    ch = connect(alice, acct, name="Alice's line")
    leaks = (alice.org_id, holder_name, ch["id"], "Alice", alice.email,
             alice.user_id)

    bob = signup(server.url, org="Bob Co")
    r = bob.post(CHANNELS, acct.body(name="Bob's line"))
    assert_taken(r, *leaks)
    assert_nothing_saved(bob, admin_db, acct)
    # Not within one organization either.
    assert_taken(alice.post(CHANNELS, acct.body(name="Again")), acct.token)
    assert channel_rows(admin_db, alice.org_id) == (1, 1, 1)

    # Once Alice disconnects, Bob can connect it...
    assert alice.post(f"{CHANNELS}/{ch['id']}/disconnect").status_code == 200
    bobs = connect(bob, acct, name="Bob's line")
    route = route_of(admin_db, family_of(adapter), acct.routing_key)
    assert route["org_id"] == bob.org_id and route["channel_id"] == \
        bobs["id"]
    # ...and Alice can no longer reconnect hers: it stays disconnected.
    r = alice.post(f"{CHANNELS}/{ch['id']}/reconnect")
    assert_taken(r, bob.org_id, bobs["id"], "Bob")
    assert alice.get(f"{CHANNELS}/{ch['id']}").json()["status"] == \
        "disconnected"
    # Deleting frees it too.
    assert bob.delete(f"{CHANNELS}/{bobs['id']}").status_code == 204
    r = alice.post(f"{CHANNELS}/{ch['id']}/reconnect")
    assert r.status_code == 200 and r.json()["status"] == "connected"


def test_whatsapp_number_is_one_key_across_providers(server, fakes,
                                                     admin_db):
    """whatsapp_cloud and 360dialog are one family: a phone number id
    connected through Meta cannot be connected through 360dialog too."""
    alice = signup(server.url)
    cloud = WhatsAppCloud(fakes)
    connect(alice, cloud)
    bob = signup(server.url)
    d360 = D360(fakes)
    d360.routing_key = cloud.routing_key
    d360.setup()
    assert_taken(bob.post(CHANNELS, d360.body()), alice.org_id)
    assert channel_rows(admin_db, bob.org_id) == (0, 0, 0)


def test_update_cannot_take_anothers_routing_key(server, fakes, admin_db):
    alice = signup(server.url)
    taken = Example(fakes)
    connect(alice, taken)
    bob = signup(server.url)
    mine = Example(fakes)
    ch = connect(bob, mine)
    r = bob.patch(f"{CHANNELS}/{ch['id']}", {"credentials": taken.creds()})
    assert_taken(r, alice.org_id)
    assert bob.get(f"{CHANNELS}/{ch['id']}").json() == ch
    assert route_of(admin_db, "example", taken.routing_key)["org_id"] == \
        alice.org_id
    assert route_of(admin_db, "example", mine.routing_key)["org_id"] == \
        bob.org_id


def test_simultaneous_claims_one_wins(server, fakes, admin_db):
    acct = Example(fakes)
    orgs = [signup(server.url) for _ in range(4)]
    results = [None] * len(orgs)

    def claim(i):
        results[i] = orgs[i].post(CHANNELS, acct.body())

    threads = [threading.Thread(target=claim, args=(i,))
               for i in range(len(orgs))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    codes = sorted(r.status_code for r in results)
    assert codes == [201, 409, 409, 409], [r.text for r in results]
    winner = orgs[[r.status_code for r in results].index(201)]
    assert route_of(admin_db, "example", acct.routing_key)["org_id"] == \
        winner.org_id
    for o, r in zip(orgs, results):
        assert channel_rows(admin_db, o.org_id) == (
            (1, 1, 1) if o is winner else (0, 0, 0))


# ---------------------------------------------------------------- 360dialog

WEBHOOK_HEADER = "X-Inbox-Secret"


def registered_secret(server, acct, token=None):
    """The secret the server registered at 360dialog (checking the URL and
    header name on the way)."""
    hook = acct.webhook(token)
    assert hook is not None, "no webhook registered"
    assert hook["url"] == server.url + "/api/v1/webhooks/360dialog"
    assert list(hook["headers"]) == [WEBHOOK_HEADER], hook
    return hook["headers"][WEBHOOK_HEADER]


def assert_hash_of(stored, secret):
    """stored is a keyed 32-byte hash of secret: not the secret, not an
    unkeyed hash anyone could compute."""
    assert isinstance(stored, bytes) and len(stored) == 32
    assert secret.encode() not in stored
    assert stored != hashlib.sha256(secret.encode()).digest()
    assert stored != hashlib.blake2b(secret.encode(), digest_size=32).digest()


def test_360dialog_registers_our_webhook_with_a_secret(server, fakes,
                                                       admin_db):
    owner = signup(server.url)
    acct = D360(fakes)
    ch = connect(owner, acct)
    # The registration reached 360dialog after the test, with the key.
    regs = fakes.requests(r"^/d360/v1/configs/webhook$", "POST")
    regs = [q for q in regs if q.header("D360-API-KEY") == acct.token]
    assert len(regs) == 1
    assert regs[0].json()["url"] == server.url + "/api/v1/webhooks/360dialog"
    assert regs[0].time >= acct.sent()[0].time
    secret = registered_secret(server, acct)
    assert regs[0].json()["headers"] == {WEBHOOK_HEADER: secret}
    assert len(secret) >= 32 and secret.isascii() and " " not in secret
    stored = route_of(admin_db, "whatsapp", acct.routing_key)[
        "webhook_secret_hash"]
    assert_hash_of(stored, secret)
    # Never shown: not in the answer, the channel or the list.
    for r in (owner.get(f"{CHANNELS}/{ch['id']}"), owner.get(CHANNELS)):
        assert secret not in r.text
    assert ch["webhook"]["registered_automatically"] is True
    assert ch["routing_key"] == acct.routing_key    # learned from the test

    # A test does not register again...
    owner.post(f"{CHANNELS}/{ch['id']}/test")
    assert registered_secret(server, acct) == secret
    # ...a reconnect does, with a fresh secret, and the hash follows.
    owner.post(f"{CHANNELS}/{ch['id']}/disconnect")
    r = owner.post(f"{CHANNELS}/{ch['id']}/reconnect")
    assert r.status_code == 200 and r.json()["status"] == "connected"
    fresh = registered_secret(server, acct)
    assert fresh != secret
    stored2 = route_of(admin_db, "whatsapp", acct.routing_key)[
        "webhook_secret_hash"]
    assert_hash_of(stored2, fresh)
    assert stored2 != stored
    # A new key (PATCH) is registered with that key.
    new = add_token(acct)
    r = owner.patch(f"{CHANNELS}/{ch['id']}", {"credentials": {
        "api_key": new}})
    assert r.status_code == 200, r.text
    newest = registered_secret(server, acct, new)
    assert_hash_of(route_of(admin_db, "whatsapp", acct.routing_key)[
        "webhook_secret_hash"], newest)


def test_360dialog_registration_failure_saves_nothing(server, fakes,
                                                      admin_db, program):
    owner = signup(server.url)
    acct = D360(fakes)
    program("POST", r"^/d360/v1/configs/webhook$", status=500,
            body=d360_error(500, "Internal error"))
    r = owner.post(CHANNELS, acct.body())
    assert_connect_failed(r, "unavailable")
    assert_nothing_saved(owner, admin_db, acct)
    assert acct.webhook() is None
    connect(owner, acct)
    assert registered_secret(server, acct)


def test_360dialog_refused_connect_keeps_the_registration(server, fakes,
                                                          admin_db):
    """Registering replaces the webhook secret at 360dialog: a connect
    refused because the number is taken must not register, or the
    connected channel's webhooks would stop authenticating."""
    alice = signup(server.url)
    acct = D360(fakes)
    ch = connect(alice, acct)
    secret = registered_secret(server, acct)
    bob = signup(server.url)
    assert_taken(bob.post(CHANNELS, acct.body()), alice.org_id)
    assert_taken(alice.post(CHANNELS, acct.body(name="Twice")))
    assert registered_secret(server, acct) == secret
    regs = [q for q in fakes.requests(r"^/d360/v1/configs/webhook$")
            if q.header("D360-API-KEY") == acct.token]
    assert len(regs) == 1
    # Bob takes the number over; Alice's reconnect is refused and leaves
    # Bob's registration alone.
    alice.post(f"{CHANNELS}/{ch['id']}/disconnect")
    connect(bob, acct)
    bobs = registered_secret(server, acct)
    assert bobs != secret
    assert_taken(alice.post(f"{CHANNELS}/{ch['id']}/reconnect"))
    assert registered_secret(server, acct) == bobs
    assert_hash_of(route_of(admin_db, "whatsapp", acct.routing_key)[
        "webhook_secret_hash"], bobs)


def test_360dialog_update_of_a_disconnected_channel(server, fakes,
                                                   admin_db):
    """A disconnected channel holds no route: renaming it asks nobody
    (and new credentials are only tested); it registers nothing, and
    works although another organization connected the number since,
    leaving that channel's registration alone."""
    alice = signup(server.url)
    acct = D360(fakes)
    ch = connect(alice, acct)
    url = f"{CHANNELS}/{ch['id']}"
    assert alice.post(url + "/disconnect").status_code == 200
    mine = registered_secret(server, acct)
    r = alice.patch(url, {"name": "Spare number"})
    assert r.status_code == 200 and r.json()["status"] == "disconnected"
    assert registered_secret(server, acct) == mine
    bob = signup(server.url)
    connect(bob, acct)
    bobs = registered_secret(server, acct)
    r = alice.patch(url, {"name": "Old number"})
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "disconnected"
    assert registered_secret(server, acct) == bobs
    assert route_of(admin_db, "whatsapp", acct.routing_key)["org_id"] == \
        bob.org_id
    # New credentials for it are tested, and still register nothing.
    new = add_token(acct)
    r = alice.patch(url, {"credentials": {"api_key": new}})
    assert r.status_code == 200 and r.json()["status"] == "disconnected"
    assert len(acct.sent(new)) == 1
    assert acct.webhook(new) is None
    assert registered_secret(server, acct) == bobs


# ---------------------------------------------------------------- webhook secrets

def post_example_hook(server, acct, secret):
    """A delivery from the example provider, authenticated by the
    channel's secret header."""
    body = {"account": acct.routing_key, "messages": [{
        "id": "m-" + uuid.uuid4().hex, "from": "555" + digits(6),
        "name": "Cleo", "text": "hello", "timestamp": 1763700000}]}
    return requests.post(server.url + "/api/v1/webhooks/example",
                         json=body, headers={WEBHOOK_HEADER: secret},
                         timeout=10)


def test_example_webhook_secret_shown_once_and_kept(server, fakes,
                                                    admin_db):
    """The example provider cannot be told a secret by API: connecting
    shows one, once; renaming, new credentials and tests keep it; a
    reconnect makes a new one (shown once again)."""
    owner = signup(server.url)
    acct = Example(fakes)
    r = owner.post(CHANNELS, acct.body())
    assert r.status_code == 201, r.text
    hook = r.json()["webhook"]
    secret = hook["secret"]
    assert hook["secret_header"] == WEBHOOK_HEADER and len(secret) >= 40
    url = f"{CHANNELS}/{r.json()['id']}"
    assert "secret" not in owner.get(url).json()["webhook"]
    assert secret not in owner.get(CHANNELS).text
    assert_hash_of(route_of(admin_db, "example", acct.routing_key)[
        "webhook_secret_hash"], secret)
    assert post_example_hook(server, acct, secret).status_code == 200

    for change in (lambda: owner.patch(url, {"name": "Renamed"}),
                   lambda: owner.patch(url, {"credentials": {
                       "token": add_token(acct)}}),
                   lambda: owner.post(url + "/test")):
        r = change()
        assert r.status_code == 200, r.text
        assert "secret" not in r.json()["webhook"] and secret not in r.text
        assert post_example_hook(server, acct, secret).status_code == 200

    r = owner.post(url + "/reconnect")
    assert r.status_code == 200, r.text
    fresh = r.json()["webhook"]["secret"]
    assert fresh != secret
    assert post_example_hook(server, acct, fresh).status_code == 200
    assert post_example_hook(server, acct, secret).status_code in (401, 403)


def test_own_app_secret_survives_changes(server, fakes, admin_db):
    """A channel on the tenant's own Meta app keeps verifying its
    webhooks with that app's secret through tests, renames and
    reconnects."""
    owner = signup(server.url)
    cid = connect_own_app(owner, Messenger(fakes))[0]["id"]
    url = f"{CHANNELS}/{cid}"
    assert own_app_secret(admin_db, cid) is True
    for method, path, payload in (("POST", url + "/test", None),
                                  ("PATCH", url, {"name": "Renamed"}),
                                  ("POST", url + "/reconnect", None)):
        r = owner.request(method, path, json=payload)
        assert r.status_code == 200, r.text
        assert own_app_secret(admin_db, cid) is True, (method, path)


def test_own_app_secret_survives_disconnect_and_reconnect(server, fakes,
                                                          admin_db):
    owner = signup(server.url)
    cid = connect_own_app(owner, Messenger(fakes))[0]["id"]
    url = f"{CHANNELS}/{cid}"
    assert owner.post(url + "/disconnect").status_code == 200
    assert owner.post(url + "/reconnect").json()["status"] == "connected"
    assert own_app_secret(admin_db, cid) is True


# ---------------------------------------------------------------- misc

def test_unknown_channel_routes(server):
    owner = signup(server.url)
    assert_error(owner.request("PUT", CHANNELS), 405, "METHOD_NOT_ALLOWED")
    assert_error(owner.get(f"{CHANNELS}/{uuid.uuid4()}/secrets"), 404,
                 "NOT_FOUND")
    assert_error(owner.get(f"{CHANNELS}/{uuid.uuid4()}/test"), 405,
                 "METHOD_NOT_ALLOWED")
