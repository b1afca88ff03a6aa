"""A small client for the team inbox API, as a browser or a script uses it:
cookie session with the CSRF token and a same-origin Origin header, or an
API token. Tests use it so each test reads as what a user does."""
import uuid

import requests

PASSWORD = "correct horse battery staple"


class Client:
    def __init__(self, base, token=None, origin=True):
        self.base = base
        self.http = requests.Session()
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
        if r.headers.get("content-type", "").startswith("application/json"):
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


def signup(base, org="Acme", name="Ann Owner", email=None,
           password=PASSWORD):
    """A new organization with its owner, signed in."""
    c = Client(base)
    r = c.post("/api/v1/auth/signup", {
        "organization_name": org, "name": name,
        "email": email or unique_email("owner"), "password": password})
    assert r.status_code == 201, r.text
    c.me = r.json()
    c.email = c.me["user"]["email"]
    return c


def login(base, email, password=PASSWORD):
    c = Client(base)
    r = c.post("/api/v1/auth/login", {"email": email, "password": password})
    assert r.status_code == 200, r.text
    c.me = r.json()
    c.email = email
    return c


def add_member(base, owner, role="agent", name="Al Agent"):
    """Invites someone into owner's organization and accepts as them."""
    email = unique_email(role)
    r = owner.post("/api/v1/invitations", {"email": email, "role": role})
    assert r.status_code == 201, r.text
    c = Client(base)
    r = c.post("/api/v1/invitations/accept", {
        "token": r.json()["token"], "name": name, "password": PASSWORD})
    assert r.status_code == 200, r.text
    c.me = r.json()
    c.email = email
    return c
