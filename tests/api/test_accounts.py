"""Accounts, black-box against a real kore: signing up, signing in and out,
sessions and their expiry, CSRF, organizations and switching between
them, and login throttling.

Every test makes its own organizations with unique emails, so the tests
are independent of each other and of their order. Tests that fail
sign-ins on purpose come from a loopback address of their own
(apiclient.fresh_ip), because the server throttles per client address.
Time-based behaviour (idle and absolute expiry, throttle delays) is
reached by ageing rows through the admin_db fixture, not by sleeping.
"""
import hashlib
import statistics
import threading
import time

import pytest

from apiclient import (PASSWORD, Client, add_member, assert_error,
                       fresh_ip, invite, login, new_token, signup,
                       unique_email)

LOGIN = "/api/v1/auth/login"
SIGNUP = "/api/v1/auth/signup"


# ---------------------------------------------------------------- helpers

def cookie_header(r):
    """The session cookie as the server set it, split into its value and
    a {attribute: value} dict with lower-case names."""
    raw = r.headers.get("set-cookie")
    assert raw is not None, "no Set-Cookie in %r" % dict(r.headers)
    first, *attrs = [p.strip() for p in raw.split(";")]
    name, _, value = first.partition("=")
    assert name == "sid", raw
    parsed = {}
    for a in attrs:
        k, _, v = a.partition("=")
        parsed[k.lower()] = v
    return value, parsed


def with_sid(base, sid, csrf=None, **kw):
    """A client holding a given session cookie, as a browser that kept it
    (or an attacker who copied it) would."""
    c = Client(base, **kw)
    c.http.cookies.set("sid", sid)
    c.csrf = csrf
    return c


def sessions_of(admin_db, user_id):
    """The user's session rows, newest first."""
    with admin_db.cursor() as cur:
        cur.execute("SELECT id_hash, org_id, created_at, last_seen_at, "
                    "expires_at, revoked_at FROM sessions "
                    "WHERE user_id = %s ORDER BY created_at DESC",
                    (user_id,))
        return cur.fetchall()


def age_sessions(admin_db, user_id, column, interval):
    """Moves a timestamp of all the user's sessions into the past."""
    assert column in ("last_seen_at", "expires_at", "created_at")
    with admin_db.cursor() as cur:
        cur.execute(f"UPDATE sessions SET {column} = now() - %s::interval "
                    "WHERE user_id = %s", (interval, user_id))
        assert cur.rowcount >= 1


def fail_until_throttled(client, email, limit):
    """Wrong passwords until the server answers 429; the failures before
    it (all 401) and the 429 response."""
    failures = 0
    for _ in range(limit):
        r = client.post(LOGIN, {"email": email, "password": "wrong password!"})
        if r.status_code == 429:
            return failures, r
        assert_error(r, 401, "INVALID_CREDENTIALS")
        failures += 1
    raise AssertionError(f"no 429 after {limit} failed logins")


def age_throttle(admin_db, key, interval="2 hours"):
    """Pretends the last failed sign-in for key happened long ago."""
    with admin_db.cursor() as cur:
        cur.execute("UPDATE login_throttle SET last_failure = "
                    "now() - %s::interval WHERE key = %s", (interval, key))
        assert cur.rowcount == 1, key


def assert_throttled(r):
    """A 429 in the error shape whose Retry-After agrees with details."""
    body = assert_error(r, 429, "TOO_MANY_ATTEMPTS")
    retry = r.headers.get("retry-after")
    assert retry is not None and retry.isdigit(), r.headers
    assert 1 <= int(retry) <= 900
    assert body["details"]["retry_after"] == int(retry)


# ---------------------------------------------------------------- signup

def test_signup_creates_org_and_owner_and_signs_in(server, admin_db):
    email = unique_email("Mixed.Case").replace("mixed", "MiXeD")
    c = Client(server.url)
    r = c.post(SIGNUP, {"organization_name": "  Acme Ltd  ",
                        "name": "Ann Owner", "email": email,
                        "password": PASSWORD})
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["user"]["email"] == email.lower()
    assert body["user"]["name"] == "Ann Owner"
    assert body["organization"]["name"] == "Acme Ltd"
    assert body["organization"]["role"] == "owner"
    assert body["memberships"] == [{
        "organization": {"id": body["organization"]["id"],
                         "name": "Acme Ltd"}, "role": "owner"}]
    assert len(body["csrf_token"]) >= 32

    # The cookie: 256 random bits, out of reach of scripts, not sent on
    # cross-site subrequests, and not marked Secure on a plain-http URL.
    sid, attrs = cookie_header(r)
    assert len(sid) == 43
    assert "httponly" in attrs and attrs.get("samesite") == "Lax"
    assert attrs.get("path") == "/" and "secure" not in attrs
    assert int(attrs["max-age"]) > 0

    # Stored only as a keyed hash: neither the id nor a plain hash of it.
    rows = sessions_of(admin_db, body["user"]["id"])
    assert len(rows) == 1
    stored = bytes(rows[0][0])
    assert len(stored) == 32
    assert stored not in (sid.encode()[:32], hashlib.sha256(
        sid.encode()).digest(), hashlib.blake2b(
        sid.encode(), digest_size=32).digest())

    me = c.get("/api/v1/me")
    assert me.status_code == 200
    assert me.json()["user"]["id"] == body["user"]["id"]
    assert me.json()["csrf_token"] == body["csrf_token"]


def test_signup_duplicate_email_even_in_other_case(server):
    first = signup(server.url)
    for email in (first.email, first.email.upper(),
                  "  " + first.email.title() + " "):
        r = Client(server.url).post(SIGNUP, {
            "organization_name": "Copycat", "name": "Cat",
            "email": email, "password": PASSWORD})
        body = assert_error(r, 409, "EMAIL_TAKEN")
        assert "email" in body["details"]


def test_signup_password_rules_are_stated(server):
    for pw in ("", "123456789", "x" * 129, "é" * 9):
        r = Client(server.url).post(SIGNUP, {
            "organization_name": "Acme", "name": "Ann",
            "email": unique_email(), "password": pw})
        body = assert_error(r, 422, "VALIDATION_FAILED")
        assert "10 to 128 characters" in body["error"], body
        assert "password" in body["details"]
    # The boundaries are accepted, counted in characters, not bytes.
    signup(server.url, password="0123456789")
    signup(server.url, password="é" * 128)


def test_signup_missing_or_invalid_fields(server):
    good = {"organization_name": "Acme", "name": "Ann",
            "email": unique_email(), "password": PASSWORD}
    for field in ("organization_name", "name", "email", "password"):
        body = dict(good)
        del body[field]
        r = Client(server.url).post(SIGNUP, body)
        err = assert_error(r, 422, "VALIDATION_FAILED")
        assert field in err["details"], err
        body[field] = "   " if field != "password" else None
        r = Client(server.url).post(SIGNUP, body)
        err = assert_error(r, 422, "VALIDATION_FAILED")
        assert field in err["details"], err
    for email in ("plainaddress", "a@b", "a b@c.de", "@example.test",
                  "a@@example.test"):
        r = Client(server.url).post(SIGNUP, dict(good, email=email))
        err = assert_error(r, 422, "VALIDATION_FAILED")
        assert err["details"] == {"email": "is not a valid email address"}


# ---------------------------------------------------------------- login

def test_login_gives_a_new_session_id(server, admin_db):
    c = signup(server.url)
    old_sid = c.http.cookies["sid"]
    old_csrf = c.csrf
    r = c.post(LOGIN, {"email": c.email, "password": PASSWORD})
    assert r.status_code == 200, r.text
    new_sid, attrs = cookie_header(r)
    assert new_sid != old_sid and "httponly" in attrs
    assert r.json()["csrf_token"] != old_csrf
    assert r.json()["organization"]["role"] == "owner"
    assert len(sessions_of(admin_db, c.user_id)) == 2
    assert c.get("/api/v1/me").status_code == 200


def test_login_email_is_case_insensitive_and_trimmed(server):
    c = signup(server.url)
    login(server.url, "  " + c.email.upper() + " ")


def test_wrong_password_and_unknown_email_look_the_same(server):
    """Same status, same body, no cookie, and about the same time, so the
    answer does not tell whether an account exists. Four of each stays
    under the per-account (5) and per-address (20) free failures."""
    ip = fresh_ip()
    owner = signup(server.url)
    client = Client(server.url, source_ip=ip)
    times = {"wrong": [], "unknown": []}
    bodies = {}
    for _ in range(4):
        for kind, email in (("wrong", owner.email),
                            ("unknown", unique_email("nobody"))):
            t = time.monotonic()
            r = client.post(LOGIN, {"email": email,
                                    "password": "not the password"})
            times[kind].append(time.monotonic() - t)
            assert_error(r, 401, "INVALID_CREDENTIALS")
            assert "set-cookie" not in r.headers
            bodies[kind] = r.json()
    assert bodies["wrong"] == bodies["unknown"]
    wrong = statistics.median(times["wrong"])
    unknown = statistics.median(times["unknown"])
    # Both verify an Argon2id hash (a dummy one for unknown emails); an
    # early return for unknown emails would be many times faster.
    assert max(wrong, unknown) / min(wrong, unknown) < 3, times


def test_login_field_validation(server):
    c = Client(server.url, source_ip=fresh_ip())
    for body, field in (({"email": "a@example.test"}, "password"),
                        ({"password": PASSWORD}, "email"),
                        ({"email": "a@example.test", "password": 12},
                         "password"),
                        ({"email": ["a@example.test"],
                          "password": PASSWORD}, "email")):
        err = assert_error(c.post(LOGIN, body), 422, "VALIDATION_FAILED")
        assert field in err["details"], err


# ---------------------------------------------------------------- logout, me

def test_logout_revokes_the_session(server, admin_db):
    c = signup(server.url)
    sid, csrf = c.http.cookies["sid"], c.csrf
    r = c.post("/api/v1/auth/logout")
    assert r.status_code == 204 and r.content == b""
    value, attrs = cookie_header(r)
    assert value == "" and attrs.get("max-age") == "0"
    assert sessions_of(admin_db, c.user_id)[0][5] is not None
    # The old cookie, kept by a browser or copied, no longer works.
    again = with_sid(server.url, sid, csrf)
    assert_error(again.get("/api/v1/me"), 401, "UNAUTHENTICATED")
    assert_error(again.post("/api/v1/auth/logout"), 401, "UNAUTHENTICATED")


def test_me_lists_memberships_and_the_current_org(server):
    c = signup(server.url, org="Alpha")
    r = c.post("/api/v1/organizations", {"name": "Beta"})
    assert r.status_code == 201, r.text
    me = c.get("/api/v1/me").json()
    assert me["organization"]["name"] == "Alpha"
    assert sorted((m["organization"]["name"], m["role"])
                  for m in me["memberships"]) == [("Alpha", "owner"),
                                                  ("Beta", "owner")]
    assert me["user"]["email"] == c.email and me["csrf_token"] == c.csrf


def test_unauthenticated_requests(server):
    for client in (Client(server.url),
                   with_sid(server.url, "x" * 43),
                   with_sid(server.url, "short"),
                   with_sid(server.url, "'; DROP TABLE sessions; --")):
        assert_error(client.get("/api/v1/me"), 401, "UNAUTHENTICATED")
        assert_error(client.get("/api/v1/members"), 401, "UNAUTHENTICATED")
    for auth in ("Bearer nonsense", "Basic dXNlcjpwYXNz", "Bearer ",
                 "Bearer ibt_" + "0" * 32 + "_" + "A" * 43):
        r = Client(server.url).get("/api/v1/me",
                                   headers={"Authorization": auth})
        assert_error(r, 401, "UNAUTHENTICATED")


# ---------------------------------------------------------------- sessions

def test_session_idle_expiry(server, admin_db):
    c = signup(server.url)
    age_sessions(admin_db, c.user_id, "last_seen_at", "12 hours 1 minute")
    assert_error(c.get("/api/v1/me"), 401, "UNAUTHENTICATED")


def test_session_activity_keeps_it_alive(server, admin_db):
    c = signup(server.url)
    age_sessions(admin_db, c.user_id, "last_seen_at", "11 hours")
    assert c.get("/api/v1/me").status_code == 200
    seen = sessions_of(admin_db, c.user_id)[0][3]
    with admin_db.cursor() as cur:
        cur.execute("SELECT now() - %s < interval '1 minute'", (seen,))
        assert cur.fetchone()[0], "last_seen_at was not refreshed"


def test_session_absolute_expiry(server, admin_db):
    c = signup(server.url)
    _, _, created, _, expires, _ = sessions_of(admin_db, c.user_id)[0]
    lifetime = expires - created
    assert 13.9 * 86400 < lifetime.total_seconds() <= 14 * 86400 + 5
    # Recently active, but past its absolute end.
    age_sessions(admin_db, c.user_id, "expires_at", "1 second")
    assert_error(c.get("/api/v1/me"), 401, "UNAUTHENTICATED")


def test_revoked_session_stops_at_once(server, admin_db):
    c = signup(server.url)
    with admin_db.cursor() as cur:
        cur.execute("UPDATE sessions SET revoked_at = now() "
                    "WHERE user_id = %s", (c.user_id,))
    assert_error(c.get("/api/v1/me"), 401, "UNAUTHENTICATED")


# ---------------------------------------------------------------- CSRF

def org_count(c):
    return len(c.get("/api/v1/me").json()["memberships"])


def cookie_writes(c):
    """Every state-changing request a signed-in browser can make, aimed
    at real targets, so that a missing check would show as a change."""
    agent = add_member(c.base, c, "agent")
    _, tok = new_token(c)
    inv = invite(c)
    return [("POST", "/api/v1/organizations", {"name": "Sneaky"}),
            ("POST", "/api/v1/auth/switch", {"organization_id": c.org_id}),
            ("POST", "/api/v1/api-tokens", {"name": "sneaky"}),
            ("DELETE", "/api/v1/api-tokens/" + tok["id"], None),
            ("POST", "/api/v1/invitations", {"email": unique_email(),
                                             "role": "owner"}),
            ("DELETE", "/api/v1/invitations/" + inv["id"], None),
            ("PATCH", "/api/v1/members/" + agent.user_id, {"role": "owner"}),
            ("DELETE", "/api/v1/members/" + agent.user_id, None),
            ("POST", "/api/v1/auth/logout", None)]


def state_of(c):
    """What the writes above would change, as the owner sees it."""
    return (c.get("/api/v1/me").json()["memberships"],
            c.get("/api/v1/members").json()["data"],
            c.get("/api/v1/api-tokens").json()["data"],
            c.get("/api/v1/invitations").json()["data"])


def test_csrf_token_missing_or_wrong(server):
    c = signup(server.url)
    other = signup(server.url)
    writes = cookie_writes(c)
    before = state_of(c)
    good = c.csrf
    for token in (None, "", "x" * len(good), good[:-1], good + "x",
                  good.upper(), other.csrf):
        for method, path, body in writes:
            c.csrf = token
            r = c.request(method, path, json=body)
            assert_error(r, 403, "CSRF_FAILED")
    c.csrf = good
    assert state_of(c) == before, "a rejected request changed state"
    assert c.post("/api/v1/auth/logout").status_code == 204


def test_cross_origin_writes_rejected_even_with_token(server):
    c = signup(server.url)
    writes = cookie_writes(c)
    before = state_of(c)
    for headers in ({"Origin": "https://evil.example"},
                    {"Origin": "null"},
                    {"Origin": server.url + ".evil.example"},
                    {"Origin": server.url.replace("127.0.0.1", "localhost")},
                    {"Sec-Fetch-Site": "cross-site"},
                    {"Sec-Fetch-Site": "same-site"},
                    {"Origin": server.url + "/"},
                    {"Origin": server.url, "Sec-Fetch-Site": "cross-site"}):
        for method, path, body in writes:
            r = c.request(method, path, json=body, headers=headers)
            assert_error(r, 403, "CROSS_ORIGIN")
    assert state_of(c) == before


def test_same_origin_by_fetch_metadata_alone(server):
    """A browser that sends Sec-Fetch-Site but no Origin is still judged."""
    c = signup(server.url)
    c.origin = False
    r = c.post("/api/v1/organizations", {"name": "Ok"},
               headers={"Sec-Fetch-Site": "same-origin"})
    assert r.status_code == 201, r.text
    # With neither header the token alone is not enough.
    r = c.post("/api/v1/organizations", {"name": "Nope"})
    assert_error(r, 403, "CSRF_FAILED")
    assert org_count(c) == 2


def test_get_with_cookie_never_needs_csrf(server):
    c = signup(server.url)
    c.csrf = None
    hostile = {"Origin": "https://evil.example",
               "Sec-Fetch-Site": "cross-site"}
    for path in ("/api/v1/me", "/api/v1/members", "/api/v1/api-tokens",
                 "/api/v1/invitations", "/api/v1/audit-log"):
        r = c.get(path, headers=hostile)
        assert r.status_code == 200, (path, r.text)


def test_signed_out_writes_are_origin_checked(server):
    """Login CSRF: another site must not sign a browser into its account."""
    owner = signup(server.url)
    r = Client(server.url).post(LOGIN, {"email": owner.email,
                                        "password": PASSWORD},
                                headers={"Origin": "https://evil.example"})
    assert_error(r, 403, "CROSS_ORIGIN")
    r = Client(server.url).post(SIGNUP, {
        "organization_name": "X", "name": "X", "email": unique_email(),
        "password": PASSWORD}, headers={"Sec-Fetch-Site": "cross-site"})
    assert_error(r, 403, "CROSS_ORIGIN")


def test_get_never_changes_state(server):
    c = signup(server.url)
    for path in ("/api/v1/auth/logout", "/api/v1/auth/switch",
                 "/api/v1/organizations"):
        r = c.get(path)
        assert_error(r, 405, "METHOD_NOT_ALLOWED")
        assert r.headers["allow"] == "POST"
    assert c.get("/api/v1/me").status_code == 200
    assert org_count(c) == 1


# ---------------------------------------------------------------- organizations

def test_create_and_switch_organization(server):
    c = signup(server.url, org="Alpha")
    alpha = c.org_id
    r = c.post("/api/v1/organizations", {"name": "Beta"})
    assert r.status_code == 201, r.text
    beta = r.json()
    assert beta["name"] == "Beta" and beta["role"] == "owner"
    # Creating does not move the session.
    assert c.get("/api/v1/me").json()["organization"]["id"] == alpha

    r = c.post("/api/v1/auth/switch", {"organization_id": beta["id"]})
    assert r.status_code == 200, r.text
    assert r.json()["organization"] == {"id": beta["id"], "name": "Beta",
                                        "role": "owner"}
    assert c.get("/api/v1/me").json()["organization"]["id"] == beta["id"]
    # Work now lands in Beta.
    _, tok = new_token(c)
    assert tok["organization_id"] == beta["id"]
    c.post("/api/v1/auth/switch", {"organization_id": alpha})
    ids = [t["id"] for t in c.get("/api/v1/api-tokens").json()["data"]]
    assert tok["id"] not in ids


def test_switch_to_foreign_or_invalid_org(server):
    c = signup(server.url)
    stranger = signup(server.url)
    r = c.post("/api/v1/auth/switch", {"organization_id": stranger.org_id})
    assert_error(r, 404, "NOT_FOUND")
    for bad in ("not-a-uuid", "", 42, None, "' OR 1=1 --"):
        r = c.post("/api/v1/auth/switch", {"organization_id": bad})
        assert_error(r, 422, "VALIDATION_FAILED")
    assert c.get("/api/v1/me").json()["organization"]["id"] == c.org_id
    token, _ = new_token(c, role="admin")
    r = Client(server.url, token=token).post(
        "/api/v1/auth/switch", {"organization_id": c.org_id})
    assert_error(r, 400, "NOT_A_SESSION")


def test_login_lands_where_the_person_last_was(server):
    c = signup(server.url, org="Alpha")
    beta = c.post("/api/v1/organizations", {"name": "Beta"}).json()["id"]
    c.post("/api/v1/auth/switch", {"organization_id": beta})
    again = login(server.url, c.email)
    assert again.me["organization"]["id"] == beta
    assert len(again.me["memberships"]) == 2


def test_create_organization_validation(server):
    c = signup(server.url)
    for name in (None, "", "   ", 7, ["x"], "x" * 201):
        r = c.post("/api/v1/organizations", {"name": name})
        err = assert_error(r, 422, "VALIDATION_FAILED")
        assert "name" in err["details"]
    token, _ = new_token(c, role="admin")
    r = Client(server.url, token=token).post("/api/v1/organizations",
                                             {"name": "By token"})
    assert_error(r, 403, "FORBIDDEN")
    assert org_count(c) == 1


# ---------------------------------------------------------------- throttling

def test_login_throttled_per_account_then_recovers(server, admin_db):
    owner = signup(server.url)
    attacker = Client(server.url, source_ip=fresh_ip())
    failures, r = fail_until_throttled(attacker, owner.email, 8)
    assert failures >= 5, "fewer than five free failures"
    assert_throttled(r)
    # The account is throttled wherever the attempt comes from, and even
    # the right password waits: the throttle is checked before the hash.
    r = Client(server.url, source_ip=fresh_ip()).post(
        LOGIN, {"email": owner.email, "password": PASSWORD})
    assert_throttled(r)
    # Not a lockout: once the delay has passed, the owner gets in.
    age_throttle(admin_db, "acct:" + owner.email)
    login(server.url, owner.email, source_ip=fresh_ip())


def test_login_throttle_grows(server, admin_db):
    owner = signup(server.url)
    ip = fresh_ip()
    attacker = Client(server.url, source_ip=ip)
    fail_until_throttled(attacker, owner.email, 8)
    waits = []
    for _ in range(3):
        age_throttle(admin_db, "acct:" + owner.email, "20 minutes")
        r = attacker.post(LOGIN, {"email": owner.email, "password": "nope"})
        assert_error(r, 401, "INVALID_CREDENTIALS")
        r = attacker.post(LOGIN, {"email": owner.email, "password": "nope"})
        assert_throttled(r)
        waits.append(int(r.headers["retry-after"]))
    assert waits[0] < waits[1] < waits[2], waits


def test_login_throttle_forgets_old_failures(server, admin_db):
    """Growing delays, not a permanent lockout: failures from long ago no
    longer count, so one mistyped password later does not lock the
    account (or a whole office behind one address) again at once."""
    owner = signup(server.url)
    ip = fresh_ip()
    attacker = Client(server.url, source_ip=ip)
    fail_until_throttled(attacker, owner.email, 8)
    age_throttle(admin_db, "acct:" + owner.email, "1 day")
    age_throttle(admin_db, "ip:" + ip, "1 day")
    r = attacker.post(LOGIN, {"email": owner.email, "password": "typo!"})
    assert_error(r, 401, "INVALID_CREDENTIALS")
    login(server.url, owner.email, source_ip=ip)


def test_stale_throttle_rows_are_pruned(server, admin_db):
    """Counters older than the window no longer count, and failed sign-ins
    clear them away, so a spraying run does not grow the table for ever."""
    stale = [f"ip:198.51.100.{i}" for i in range(20)]
    with admin_db.cursor() as cur:
        cur.executemany(
            "INSERT INTO login_throttle (key, failures, last_failure) "
            "VALUES (%s, 3, now() - interval '30 days') "
            "ON CONFLICT (key) DO UPDATE SET last_failure = "
            "excluded.last_failure", [(k,) for k in stale])
    attacker = Client(server.url, source_ip=fresh_ip())
    for _ in range(3):
        r = attacker.post(LOGIN, {"email": unique_email("spray"),
                                  "password": "Winter2024!"})
        assert_error(r, 401, "INVALID_CREDENTIALS")
    with admin_db.cursor() as cur:
        cur.execute("SELECT count(*) FROM login_throttle WHERE key = ANY(%s)",
                    (stale,))
        assert cur.fetchone()[0] == 0


def test_login_throttled_per_address(server, admin_db):
    """Twenty free failures per address, spread over many accounts (so no
    account throttle applies), then even a valid login from that address
    waits; the same account from elsewhere is unaffected."""
    victim = signup(server.url)
    ip = fresh_ip()
    attacker = Client(server.url, source_ip=ip)
    failures = 0
    for _ in range(24):
        r = attacker.post(LOGIN, {"email": unique_email("spray"),
                                  "password": "Winter2024!"})
        if r.status_code == 429:
            break
        assert_error(r, 401, "INVALID_CREDENTIALS")
        failures += 1
    assert failures >= 20
    assert_throttled(r)
    r = Client(server.url, source_ip=ip).post(
        LOGIN, {"email": victim.email, "password": PASSWORD})
    assert_throttled(r)
    login(server.url, victim.email, source_ip=fresh_ip())
    age_throttle(admin_db, "ip:" + ip)
    login(server.url, victim.email, source_ip=ip)


# ---------------------------------------------------------------- load

def test_concurrent_logins_keep_the_server_responsive(server):
    """Argon2id runs off the event loop: 50 logins at once all succeed and
    health keeps answering quickly while they hash. Were hashing done on
    the event loop, each probe would wait behind several 50-100 ms hashes
    and the median alone would fail."""
    owner = signup(server.url)
    ip = fresh_ip()
    results = []
    go = threading.Event()

    def one_login():
        c = Client(server.url, source_ip=ip)
        go.wait()
        r = c.post(LOGIN, {"email": owner.email, "password": PASSWORD})
        results.append((r.status_code, time.monotonic()))

    threads = [threading.Thread(target=one_login) for _ in range(50)]
    for t in threads:
        t.start()
    probe = Client(server.url)
    assert probe.get("/api/v1/health").status_code == 200  # connected
    go.set()
    health = []
    while any(t.is_alive() for t in threads) and len(health) < 500:
        t0 = time.monotonic()
        r = probe.get("/api/v1/health")
        health.append((r.status_code, time.monotonic() - t0, t0))
        time.sleep(0.01)
    for t in threads:
        t.join(60)
    assert sorted(s for s, _ in results) == [200] * 50, results
    last_login = max(t for _, t in results)
    during = [h for h in health if h[2] < last_login]
    assert len(during) >= 5, "health was not probed during the logins"
    assert all(s == 200 for s, _, _ in during)
    took = sorted(d for _, d, _ in during)
    assert statistics.median(took) < 0.1, took
    assert took[-1] < 1.5, took


# ---------------------------------------------------------------- https

@pytest.fixture(scope="module")
def https_server(tmp_path_factory):
    """A second kore whose PUBLIC_URL is https (behind a TLS proxy): its
    cookies must be Secure and only that origin is same-origin."""
    from conftest import Server
    srv = Server(str(tmp_path_factory.mktemp("kore-https")),
                 env={"PUBLIC_URL": "https://inbox.example.test"}).start()
    yield srv
    srv.stop()
    assert "died" not in srv.read_log()


def test_secure_cookie_when_public_url_is_https(https_server):
    origin = {"Origin": "https://inbox.example.test"}
    c = Client(https_server.url, origin=False)
    r = c.post(SIGNUP, {"organization_name": "Tls", "name": "T",
                        "email": unique_email(), "password": PASSWORD},
               headers=origin)
    assert r.status_code == 201, r.text
    _, attrs = cookie_header(r)
    assert "secure" in attrs and "httponly" in attrs
    # The server's own http address is not its public origin.
    r = Client(https_server.url).post(LOGIN, {
        "email": unique_email(), "password": PASSWORD})
    assert_error(r, 403, "CROSS_ORIGIN")
