"""A small client for the team inbox API, as a browser or a script uses it:
cookie session with the CSRF token and a same-origin Origin header, or an
API token. Tests use it so each test reads as what a user does."""
import random
import uuid

import requests
from requests.adapters import HTTPAdapter

PASSWORD = "correct horse battery staple"


class _SourceAddressAdapter(HTTPAdapter):
    """Connects from a given local address (any 127.x.y.z works on
    Linux's loopback without configuration)."""

    def __init__(self, source_ip):
        self.source_ip = source_ip
        super().__init__()

    def init_poolmanager(self, *args, **kw):
        kw["source_address"] = (self.source_ip, 0)
        super().init_poolmanager(*args, **kw)


def fresh_ip():
    """A loopback address of the test's own. The server throttles failed
    sign-ins per client address, and every test otherwise comes from
    127.0.0.1: a test that fails logins on purpose uses its own address so
    that it neither slows the others down nor is slowed by them."""
    return "127.%d.%d.%d" % (random.randint(1, 254), random.randint(0, 255),
                             random.randint(1, 254))


class Client:
    def __init__(self, base, token=None, origin=True, source_ip=None):
        self.base = base
        self.http = requests.Session()
        self.source_ip = source_ip
        if source_ip:
            self.http.mount("http://", _SourceAddressAdapter(source_ip))
        self.csrf = None
        self.token = token
        self.origin = origin
        self.me = None

    def request(self, method, path, json=None, headers=None, **kw):
        h = {}
        if self.origin:
            h["Origin"] = self.base
        if self.csrf:
            h["X-CSRF-Token"] = self.csrf
        if self.token:
            h["Authorization"] = "Bearer " + self.token
        h.update(headers or {})
        r = self.http.request(method, self.base + path, json=json,
                              headers=h, timeout=30, **kw)
        if r.content and r.headers.get("content-type", "").startswith(
                "application/json"):
            body = r.json()
            if isinstance(body, dict) and body.get("csrf_token"):
                self.csrf = body["csrf_token"]
        return r

    def get(self, path, **kw):
        return self.request("GET", path, **kw)

    def post(self, path, json=None, **kw):
        return self.request("POST", path, json={} if json is None else json,
                            **kw)

    def patch(self, path, json=None, **kw):
        return self.request("PATCH", path, json=json, **kw)

    def delete(self, path, **kw):
        return self.request("DELETE", path, **kw)

    @property
    def org_id(self):
        return self.me["organization"]["id"]

    @property
    def user_id(self):
        return self.me["user"]["id"]


def unique_email(tag="user"):
    return f"{tag}-{uuid.uuid4().hex[:12]}@example.test"


def assert_error(r, status, code=None):
    """The one error shape every failure must come in: checked whole, so a
    handler that forgets a field or answers in plain text fails here.
    Returns the body for further checks on message and details."""
    assert r.status_code == status, (r.status_code, r.text)
    assert r.headers.get("content-type", "").startswith(
        "application/json"), r.headers
    body = r.json()
    assert set(body) == {"success", "error", "error_code", "details"}, body
    assert body["success"] is False
    assert isinstance(body["error"], str) and body["error"], body
    assert isinstance(body["error_code"], str) and body["error_code"], body
    assert isinstance(body["details"], dict), body
    if code is not None:
        assert body["error_code"] == code, body
    return body


def signup(base, org="Acme", name="Ann Owner", email=None,
           password=PASSWORD, source_ip=None):
    """A new organization with its owner, signed in."""
    c = Client(base, source_ip=source_ip)
    r = c.post("/api/v1/auth/signup", {
        "organization_name": org, "name": name,
        "email": email or unique_email("owner"), "password": password})
    assert r.status_code == 201, r.text
    c.me = r.json()
    c.email = c.me["user"]["email"]
    return c


def login(base, email, password=PASSWORD, source_ip=None):
    c = Client(base, source_ip=source_ip)
    r = c.post("/api/v1/auth/login", {"email": email, "password": password})
    assert r.status_code == 200, r.text
    c.me = r.json()
    c.email = email
    return c


def invite(owner, email=None, role="agent"):
    """An invitation from owner's organization; the body, with its token."""
    r = owner.post("/api/v1/invitations",
                   {"email": email or unique_email(role), "role": role})
    assert r.status_code == 201, r.text
    return r.json()


def add_member(base, owner, role="agent", name="Al Agent"):
    """Invites someone into owner's organization and accepts as them."""
    email = unique_email(role)
    token = invite(owner, email, role)["token"]
    c = Client(base)
    r = c.post("/api/v1/invitations/accept", {
        "token": token, "name": name, "password": PASSWORD})
    assert r.status_code == 200, r.text
    c.me = r.json()
    c.email = email
    return c


def new_token(client, name="ci", role="agent"):
    """An API token of client's current organization: (token, row)."""
    r = client.post("/api/v1/api-tokens", {"name": name, "role": role})
    assert r.status_code == 201, r.text
    body = r.json()
    return body["token"], body
