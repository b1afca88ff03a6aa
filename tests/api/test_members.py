"""Members, roles, invitations, API tokens and the audit log, black-box
against a real kore.

Roles are owner > admin > agent. The rules under test: agents do no
admin work; only owners grant, take away or remove ownership; an
organization always keeps an owner; a change of role or a removal takes
effect on the very next request. Every test builds its own organization
(apiclient.signup and add_member), so none depends on another.
"""
import re
import threading
from datetime import datetime, timedelta, timezone

from apiclient import (PASSWORD, Client, add_member, assert_error,
                       fresh_ip, invite, login, new_token, signup,
                       unique_email)

ACCEPT = "/api/v1/invitations/accept"
PREVIEW = "/api/v1/invitations/preview"
TOKEN_RE = re.compile(r"^ibt_[0-9a-f]{32}_[A-Za-z0-9_-]{43}$")
INVITE_RE = re.compile(r"^inv_[0-9a-f]{32}_[A-Za-z0-9_-]{43}$")


def members(client):
    r = client.get("/api/v1/members")
    assert r.status_code == 200, r.text
    return {m["user_id"]: m for m in r.json()["data"]}


def role_of(client, user_id):
    return members(client)[user_id]["role"]


def parse_time(s):
    """An ISO 8601 timestamp, which the API promises in UTC."""
    assert s.endswith("+00:00"), s
    return datetime.fromisoformat(s)


def audit(client, **query):
    r = client.get("/api/v1/audit-log", params=query)
    assert r.status_code == 200, r.text
    return r.json()


# ---------------------------------------------------------------- members

def test_members_list(server):
    owner = signup(server.url, name="Olive Owner")
    admin = add_member(server.url, owner, "admin", name="Adam Admin")
    agent = add_member(server.url, owner, "agent", name="Agnes Agent")
    r = agent.get("/api/v1/members")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["next_cursor"] is None
    assert [m["role"] for m in body["data"]] == ["owner", "admin", "agent"]
    first = body["data"][0]
    assert set(first) == {"id", "user_id", "email", "name", "role",
                          "joined_at"}
    assert first["user_id"] == owner.user_id == first["id"]
    assert first["email"] == owner.email and first["name"] == "Olive Owner"
    parse_time(first["joined_at"])
    assert {m["user_id"] for m in body["data"]} == {
        owner.user_id, admin.user_id, agent.user_id}


def test_agent_cannot_do_admin_work(server):
    owner = signup(server.url)
    agent = add_member(server.url, owner, "agent")
    other = add_member(server.url, owner, "agent")
    _, tok = new_token(owner)
    inv = invite(owner)
    for method, path, body in (
            ("GET", "/api/v1/api-tokens", None),
            ("POST", "/api/v1/api-tokens", {"name": "mine"}),
            ("DELETE", "/api/v1/api-tokens/" + tok["id"], None),
            ("GET", "/api/v1/invitations", None),
            ("POST", "/api/v1/invitations",
             {"email": unique_email(), "role": "agent"}),
            ("DELETE", "/api/v1/invitations/" + inv["id"], None),
            ("PATCH", "/api/v1/members/" + other.user_id, {"role": "admin"}),
            ("PATCH", "/api/v1/members/" + agent.user_id, {"role": "admin"}),
            ("DELETE", "/api/v1/members/" + other.user_id, None),
            ("GET", "/api/v1/audit-log", None)):
        r = agent.request(method, path, json=body)
        assert_error(r, 403, "FORBIDDEN")
    # Nothing changed.
    assert role_of(owner, other.user_id) == "agent"
    assert role_of(owner, agent.user_id) == "agent"
    assert owner.get("/api/v1/api-tokens").json()["data"][0][
        "revoked_at"] is None
    assert [i["id"] for i in owner.get(
        "/api/v1/invitations").json()["data"]] == [inv["id"]]


def test_admin_manages_agents_but_not_owners(server):
    owner = signup(server.url)
    admin = add_member(server.url, owner, "admin")
    agent = add_member(server.url, owner, "agent")
    for method, path, body in (
            ("PATCH", "/api/v1/members/" + agent.user_id, {"role": "owner"}),
            ("PATCH", "/api/v1/members/" + admin.user_id, {"role": "owner"}),
            ("PATCH", "/api/v1/members/" + owner.user_id, {"role": "agent"}),
            ("DELETE", "/api/v1/members/" + owner.user_id, None),
            ("POST", "/api/v1/invitations",
             {"email": unique_email(), "role": "owner"})):
        assert_error(admin.request(method, path, json=body), 403,
                     "FORBIDDEN")
    assert role_of(owner, owner.user_id) == "owner"
    r = admin.patch("/api/v1/members/" + agent.user_id, {"role": "admin"})
    assert r.status_code == 200, r.text
    assert r.json()["role"] == "admin" and r.json()["user_id"] == \
        agent.user_id
    r = admin.patch("/api/v1/members/" + agent.user_id, {"role": "agent"})
    assert r.json()["role"] == "agent"
    assert admin.delete("/api/v1/members/" + agent.user_id).status_code == 204
    assert agent.user_id not in members(owner)


def test_last_owner_cannot_demote_themselves_or_leave(server):
    owner = signup(server.url)
    add_member(server.url, owner, "admin")
    for role in ("admin", "agent"):
        r = owner.patch("/api/v1/members/" + owner.user_id, {"role": role})
        assert_error(r, 409, "LAST_OWNER")
    assert_error(owner.delete("/api/v1/members/" + owner.user_id), 409,
                 "LAST_OWNER")
    assert role_of(owner, owner.user_id) == "owner"
    assert owner.get("/api/v1/me").status_code == 200


def test_owner_transfer(server):
    owner = signup(server.url)
    heir = add_member(server.url, owner, "admin")
    r = owner.patch("/api/v1/members/" + heir.user_id, {"role": "owner"})
    assert r.status_code == 200 and r.json()["role"] == "owner", r.text
    r = owner.patch("/api/v1/members/" + owner.user_id, {"role": "agent"})
    assert r.status_code == 200 and r.json()["role"] == "agent", r.text
    # The old owner is an agent from the very next request.
    assert_error(owner.get("/api/v1/audit-log"), 403, "FORBIDDEN")
    assert owner.get("/api/v1/me").json()["organization"]["role"] == "agent"
    # And the new one is now the last owner.
    assert_error(heir.patch("/api/v1/members/" + heir.user_id,
                            {"role": "admin"}), 409, "LAST_OWNER")


def test_owners_stepping_down_at_once_leave_one(server, admin_db):
    """Two owners demoting themselves (or removing each other) at the same
    moment: role changes are serialized per organization, so exactly one
    succeeds and the organization keeps an owner."""
    owner = signup(server.url)
    second = add_member(server.url, owner, "owner")
    for _ in range(3):
        results = []

        def step_down(c):
            r = c.patch("/api/v1/members/" + c.user_id, {"role": "admin"})
            results.append(r.status_code)

        threads = [threading.Thread(target=step_down, args=(c,))
                   for c in (owner, second)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
        assert sorted(results) == [200, 409], results
        roles = members(owner)
        assert sorted(m["role"] for m in roles.values()) == ["admin",
                                                            "owner"]
        # Back to two owners for the next round.
        still = owner if roles[owner.user_id]["role"] == "owner" else second
        demoted = second if still is owner else owner
        r = still.patch("/api/v1/members/" + demoted.user_id,
                        {"role": "owner"})
        assert r.status_code == 200

    results = []

    def remove(c, target):
        results.append(c.delete("/api/v1/members/" + target).status_code)

    threads = [threading.Thread(target=remove, args=(owner, second.user_id)),
               threading.Thread(target=remove, args=(second, owner.user_id))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert results.count(204) == 1, results
    with admin_db.cursor() as cur:
        cur.execute("SELECT count(*) FROM memberships WHERE org_id = %s "
                    "AND role = 'owner'", (owner.org_id,))
        assert cur.fetchone()[0] == 1


def test_owner_may_leave_when_another_owner_remains(server):
    owner = signup(server.url)
    second = add_member(server.url, owner, "owner")
    assert owner.delete("/api/v1/members/" + owner.user_id).status_code == 204
    assert_error(owner.get("/api/v1/me"), 401, "UNAUTHENTICATED")
    assert list(members(second)) == [second.user_id]
    # With no organization left, signing in says so (after the password).
    r = Client(server.url).post("/api/v1/auth/login", {
        "email": owner.email, "password": PASSWORD})
    assert_error(r, 403, "NO_ORGANIZATION")


def test_agent_may_leave(server):
    owner = signup(server.url)
    agent = add_member(server.url, owner, "agent")
    assert agent.delete("/api/v1/members/" + agent.user_id).status_code == 204
    assert_error(agent.get("/api/v1/me"), 401, "UNAUTHENTICATED")
    assert agent.user_id not in members(owner)
    kinds = [e["action"] for e in audit(owner)["data"]]
    assert "member_left" in kinds


def test_removed_member_sessions_stop_at_once(server):
    owner = signup(server.url)
    agent = add_member(server.url, owner, "agent")
    # A second session of theirs, moved to an organization of their own.
    elsewhere = login(server.url, agent.email)
    own = elsewhere.post("/api/v1/organizations", {"name": "Mine"}).json()
    r = elsewhere.post("/api/v1/auth/switch", {"organization_id": own["id"]})
    assert r.status_code == 200
    third = login(server.url, agent.email)
    assert third.org_id == own["id"]  # lands where they last were
    third.post("/api/v1/auth/switch", {"organization_id": owner.org_id})
    assert third.get("/api/v1/members").status_code == 200

    assert owner.delete("/api/v1/members/" + agent.user_id).status_code == 204
    # Every session acting in the organization ends on the next request.
    for c in (agent, third):
        assert_error(c.get("/api/v1/members"), 401, "UNAUTHENTICATED")
        assert_error(c.get("/api/v1/me"), 401, "UNAUTHENTICATED")
    # The one acting in their own organization goes on, but cannot come
    # back to the one they were removed from.
    assert elsewhere.get("/api/v1/me").status_code == 200
    r = elsewhere.post("/api/v1/auth/switch",
                       {"organization_id": owner.org_id})
    assert_error(r, 404, "NOT_FOUND")


def test_role_change_takes_effect_at_once(server):
    owner = signup(server.url)
    admin = add_member(server.url, owner, "admin")
    assert admin.get("/api/v1/api-tokens").status_code == 200
    owner.patch("/api/v1/members/" + admin.user_id, {"role": "agent"})
    assert_error(admin.get("/api/v1/api-tokens"), 403, "FORBIDDEN")


def test_member_update_validation(server):
    owner = signup(server.url)
    agent = add_member(server.url, owner, "agent")
    path = "/api/v1/members/" + agent.user_id
    for body in ({}, {"role": None}, {"role": ""}, {"role": "superuser"},
                 {"role": "OWNER"}, {"role": 3}, {"role": ["admin"]},
                 {"role": {"name": "admin"}}):
        err = assert_error(owner.patch(path, body), 422, "VALIDATION_FAILED")
        assert "role" in err["details"], err
    assert role_of(owner, agent.user_id) == "agent"
    for bad in ("00000000-0000-0000-0000-000000000000", "nope", "1",
                agent.user_id + "x", agent.user_id.upper()[:-1] + "Z"):
        r = owner.patch("/api/v1/members/" + bad, {"role": "admin"})
        assert_error(r, 404, "NOT_FOUND")
        assert_error(owner.delete("/api/v1/members/" + bad), 404,
                     "NOT_FOUND")


# ---------------------------------------------------------------- invitations

def test_invitation_for_a_new_user(server):
    owner = signup(server.url, org="Invitors")
    email = unique_email("new.person")
    r = owner.post("/api/v1/invitations",
                   {"email": "  " + email.upper() + " ", "role": "admin"})
    assert r.status_code == 201, r.text
    inv = r.json()
    assert inv["email"] == email and inv["role"] == "admin"
    assert inv["organization_id"] == owner.org_id
    assert INVITE_RE.match(inv["token"]), inv["token"]
    assert inv["link"] == server.url + "/#/invite/" + inv["token"]
    expires = parse_time(inv["expires_at"]) - parse_time(inv["created_at"])
    assert abs(expires - timedelta(days=7)) < timedelta(minutes=1)
    assert inv["accepted_at"] is None and inv["revoked_at"] is None

    # Listed for admins, without the token.
    listed = owner.get("/api/v1/invitations")
    assert [i["id"] for i in listed.json()["data"]] == [inv["id"]]
    assert inv["token"] not in listed.text and "token" not in \
        listed.json()["data"][0]

    r = Client(server.url).post(PREVIEW, {"token": inv["token"]})
    assert r.status_code == 200, r.text
    assert r.json()["email"] == email and r.json()["role"] == "admin"
    assert r.json()["organization"] == {"id": owner.org_id,
                                        "name": "Invitors"}
    assert r.json()["existing_user"] is False

    newbie = Client(server.url)
    r = newbie.post(ACCEPT, {"token": inv["token"], "name": "Nina New",
                             "password": PASSWORD})
    assert r.status_code == 200, r.text
    assert r.json()["organization"]["role"] == "admin"
    assert r.json()["user"]["name"] == "Nina New" and r.json()["csrf_token"]
    assert "httponly" in r.headers["set-cookie"].lower()
    assert newbie.get("/api/v1/api-tokens").status_code == 200  # admin
    # The new account signs in like any other.
    login(server.url, email)
    assert owner.get("/api/v1/invitations").json()["data"] == []

    # A used invitation is gone, for preview and accept alike.
    for path in (PREVIEW, ACCEPT):
        r = Client(server.url).post(path, {
            "token": inv["token"], "name": "Again", "password": PASSWORD})
        assert_error(r, 404, "INVITATION_NOT_FOUND")


def test_invitation_for_an_existing_user_needs_their_password(server):
    owner = signup(server.url, org="Host")
    guest = signup(server.url, org="Guest home", name="Gus Guest")
    inv = invite(owner, guest.email.upper(), "agent")
    r = Client(server.url).post(PREVIEW, {"token": inv["token"]})
    assert r.json()["existing_user"] is True
    # Whoever holds the link cannot set a new password for the account.
    for pw in ("a brand new password", "short", ""):
        r = Client(server.url, source_ip=fresh_ip()).post(ACCEPT, {
            "token": inv["token"], "name": "Mallory", "password": pw})
        assert_error(r, 401, "INVALID_CREDENTIALS")
        assert "set-cookie" not in r.headers
    login(server.url, guest.email)  # their password still works
    c = Client(server.url)
    r = c.post(ACCEPT, {"token": inv["token"], "name": "Ignored",
                        "password": PASSWORD})
    assert r.status_code == 200, r.text
    me = r.json()
    assert me["organization"] == {"id": owner.org_id, "name": "Host",
                                  "role": "agent"}
    assert me["user"]["id"] == guest.user_id
    assert me["user"]["name"] == "Gus Guest"
    assert sorted(m["organization"]["name"] for m in me["memberships"]) == [
        "Guest home", "Host"]
    assert members(owner)[guest.user_id]["role"] == "agent"


def test_invitation_accept_is_throttled_for_existing_accounts(server,
                                                              admin_db):
    """Accepting as an existing account checks its password, so it must
    not be a way round the sign-in throttle."""
    owner = signup(server.url)
    guest = signup(server.url)
    inv = invite(owner, guest.email)
    attacker = Client(server.url, source_ip=fresh_ip())
    for attempt in range(8):
        r = attacker.post(ACCEPT, {"token": inv["token"],
                                   "password": "guess %d" % attempt})
        if r.status_code == 429:
            break
        assert_error(r, 401, "INVALID_CREDENTIALS")
    else:
        raise AssertionError("never throttled")
    assert attempt >= 5
    assert int(r.headers["retry-after"]) >= 1
    with admin_db.cursor() as cur:
        cur.execute("UPDATE login_throttle SET last_failure = now() - "
                    "interval '2 hours' WHERE key = %s",
                    ("acct:" + guest.email,))
    r = Client(server.url).post(ACCEPT, {"token": inv["token"],
                                         "password": PASSWORD})
    assert r.status_code == 200, r.text


def test_expired_and_revoked_invitations(server, admin_db):
    owner = signup(server.url)
    expired = invite(owner)
    with admin_db.cursor() as cur:
        cur.execute("UPDATE invitations SET expires_at = now() - "
                    "interval '1 second' WHERE id = %s", (expired["id"],))
    revoked = invite(owner)
    assert owner.delete("/api/v1/invitations/" + revoked["id"]
                        ).status_code == 204
    for inv in (expired, revoked):
        for path in (PREVIEW, ACCEPT):
            r = Client(server.url).post(path, {
                "token": inv["token"], "name": "Late",
                "password": PASSWORD})
            assert_error(r, 404, "INVITATION_NOT_FOUND")
    assert owner.get("/api/v1/invitations").json()["data"] == []
    # An accepted invitation can no longer be revoked.
    used = invite(owner)
    Client(server.url).post(ACCEPT, {"token": used["token"], "name": "U",
                                     "password": PASSWORD})
    assert_error(owner.delete("/api/v1/invitations/" + used["id"]), 404,
                 "NOT_FOUND")


def test_forged_invitation_tokens(server):
    owner = signup(server.url)
    other = signup(server.url)
    inv = invite(owner)
    secret = inv["token"][-43:]
    other_hex = other.org_id.replace("-", "")
    for token in ("", "inv_", "nonsense", inv["token"][:-1],
                  inv["token"] + "A", inv["token"].replace("inv_", "ibt_"),
                  "inv_" + other_hex + "_" + secret,
                  inv["token"][:-43] + "A" * 43,
                  inv["token"].upper(), 42, None, ["x"]):
        for path in (PREVIEW, ACCEPT):
            r = Client(server.url).post(path, {
                "token": token, "name": "X", "password": PASSWORD})
            assert_error(r, 404, "INVITATION_NOT_FOUND")
    # The real one still works after all that.
    r = Client(server.url).post(PREVIEW, {"token": inv["token"]})
    assert r.status_code == 200


def test_invitation_create_validation(server):
    owner = signup(server.url)
    for body, field in (({"role": "agent"}, "email"),
                        ({"email": "not-an-email", "role": "agent"}, "email"),
                        ({"email": 5, "role": "agent"}, "email"),
                        ({"email": "x" * 250 + "@e.test", "role": "agent"},
                         "email"),
                        ({"email": unique_email()}, "role"),
                        ({"email": unique_email(), "role": "boss"}, "role"),
                        ({"email": unique_email(), "role": None}, "role")):
        err = assert_error(owner.post("/api/v1/invitations", body), 422,
                           "VALIDATION_FAILED")
        assert field in err["details"], (body, err)
    r = owner.post("/api/v1/invitations",
                   {"email": owner.email.upper(), "role": "agent"})
    assert_error(r, 409, "ALREADY_MEMBER")
    assert owner.get("/api/v1/invitations").json()["data"] == []


def test_accept_as_new_user_validation(server):
    owner = signup(server.url)
    inv = invite(owner)
    for body, field in (({"name": "N", "password": "short"}, "password"),
                        ({"name": "N"}, "password"),
                        ({"name": "N", "password": 1234567890}, "password"),
                        ({"password": PASSWORD}, "name"),
                        ({"name": "  ", "password": PASSWORD}, "name"),
                        ({"name": "x" * 201, "password": PASSWORD}, "name")):
        r = Client(server.url).post(ACCEPT, dict(body, token=inv["token"]))
        err = assert_error(r, 422, "VALIDATION_FAILED")
        assert field in err["details"], (body, err)
    # None of those used the invitation up.
    r = Client(server.url).post(ACCEPT, {"token": inv["token"], "name": "N",
                                         "password": PASSWORD})
    assert r.status_code == 200, r.text


# ---------------------------------------------------------------- API tokens

def test_api_token_lifecycle(server):
    owner = signup(server.url)
    r = owner.post("/api/v1/api-tokens", {"name": "CI deploy",
                                          "role": "admin"})
    assert r.status_code == 201, r.text
    created = r.json()
    token = created["token"]
    assert TOKEN_RE.match(token), token
    assert created["organization_id"] == owner.org_id
    assert token[4:36] == owner.org_id.replace("-", "")
    assert created["name"] == "CI deploy" and created["role"] == "admin"
    assert created["hint"] == "ibt_…" + token[-4:]
    assert created["last_used_at"] is None and created["revoked_at"] is None

    # Shown once: never again in the list.
    listed = owner.get("/api/v1/api-tokens")
    assert listed.status_code == 200
    assert token not in listed.text and token[-43:] not in listed.text
    row = listed.json()["data"][0]
    assert "token" not in row and row["id"] == created["id"]
    assert listed.json()["next_cursor"] is None

    bot = Client(server.url, token=token, origin=False)
    me = bot.get("/api/v1/me").json()
    assert me["user"] is None and me["memberships"] == []
    assert me["organization"]["id"] == owner.org_id
    assert me["organization"]["role"] == "admin"
    assert "csrf_token" not in me
    # Bearer requests need neither CSRF token nor Origin.
    inv = bot.post("/api/v1/invitations",
                   {"email": unique_email(), "role": "agent"})
    assert inv.status_code == 201, inv.text

    row = owner.get("/api/v1/api-tokens").json()["data"][0]
    used = parse_time(row["last_used_at"])
    assert abs(datetime.now(timezone.utc) - used) < timedelta(minutes=1)

    assert owner.delete("/api/v1/api-tokens/" + created["id"]
                        ).status_code == 204
    assert_error(bot.get("/api/v1/me"), 401, "UNAUTHENTICATED")
    row = owner.get("/api/v1/api-tokens").json()["data"][0]
    assert row["revoked_at"] is not None


def test_api_token_roles_and_limits(server):
    owner = signup(server.url)
    agent_token, _ = new_token(owner, role="agent")
    bot = Client(server.url, token=agent_token)
    assert bot.get("/api/v1/members").status_code == 200
    assert_error(bot.get("/api/v1/api-tokens"), 403, "FORBIDDEN")
    assert_error(bot.post("/api/v1/api-tokens", {"name": "escalate",
                                                 "role": "admin"}),
                 403, "FORBIDDEN")
    admin_token, _ = new_token(owner, role="admin")
    admin_bot = Client(server.url, token=admin_token)
    # Sessions are for people: a token neither logs out nor switches.
    assert_error(admin_bot.post("/api/v1/auth/logout"), 400, "NOT_A_SESSION")
    # An admin token cannot touch the owner.
    assert_error(admin_bot.patch("/api/v1/members/" + owner.user_id,
                                 {"role": "agent"}), 403, "FORBIDDEN")
    assert_error(admin_bot.delete("/api/v1/members/" + owner.user_id),
                 403, "FORBIDDEN")
    assert admin_bot.get("/api/v1/me").status_code == 200
    for body, field in (({}, "name"), ({"name": ""}, "name"),
                        ({"name": "x" * 101}, "name"),
                        ({"name": 1}, "name"),
                        ({"name": "t", "role": "owner"}, "role"),
                        ({"name": "t", "role": 1}, "role")):
        err = assert_error(owner.post("/api/v1/api-tokens", body), 422,
                           "VALIDATION_FAILED")
        assert field in err["details"], (body, err)
    # A session cookie and a token: the token decides.
    both = Client(server.url, token=agent_token)
    both.http.cookies.update(owner.http.cookies)
    assert_error(both.get("/api/v1/api-tokens"), 403, "FORBIDDEN")


# ---------------------------------------------------------------- audit log

def test_audit_log_records_account_events(server):
    owner = signup(server.url)
    Client(server.url, source_ip=fresh_ip()).post(
        "/api/v1/auth/login", {"email": owner.email, "password": "wrong!"})
    login(server.url, owner.email)
    agent = add_member(server.url, owner, "agent")
    owner.patch("/api/v1/members/" + agent.user_id, {"role": "admin"})
    _, tok = new_token(owner, name="audited")
    owner.delete("/api/v1/api-tokens/" + tok["id"])
    owner.delete("/api/v1/members/" + agent.user_id)

    body = audit(owner)
    assert body["next_cursor"] is None
    events = body["data"]
    actions = [e["action"] for e in events]
    # Newest first.
    assert actions == ["member_removed", "api_token_revoked",
                       "api_token_created", "role_changed",
                       "invitation_accepted", "invitation_created", "login",
                       "login_failed", "signup"], actions
    by = {e["action"]: e for e in events}
    e = by["signup"]
    assert set(e) == {"id", "at", "action", "target", "details", "ip",
                      "actor"}
    assert e["actor"] == {"id": owner.user_id, "name": "Ann Owner",
                          "email": owner.email}
    assert e["target"] == owner.email and e["ip"] == "127.0.0.1"
    parse_time(e["at"])
    assert by["login_failed"]["actor"] is None
    assert by["login_failed"]["target"] == owner.email
    assert by["login_failed"]["ip"] != "127.0.0.1"  # the attacker's
    assert by["role_changed"]["target"] == agent.user_id
    assert by["role_changed"]["details"] == {"from": "agent", "to": "admin"}
    assert by["api_token_created"]["target"] == tok["id"]
    assert by["api_token_created"]["details"] == {"name": "audited",
                                                  "role": "agent"}
    assert by["api_token_revoked"]["target"] == tok["id"]
    assert by["member_removed"]["target"] == agent.user_id
    assert by["member_removed"]["details"] == {"role": "admin"}


def test_audit_log_by_token_names_the_token(server):
    owner = signup(server.url)
    token, row = new_token(owner, role="admin")
    Client(server.url, token=token).post("/api/v1/api-tokens",
                                         {"name": "child"})
    e = audit(owner)["data"][0]
    assert e["action"] == "api_token_created" and e["actor"] is None
    assert e["details"]["api_token_id"] == row["id"]


def test_audit_log_pagination(server, admin_db):
    owner = signup(server.url)
    for i in range(4):
        _, tok = new_token(owner, name="t%d" % i)
        owner.delete("/api/v1/api-tokens/" + tok["id"])
    everything = audit(owner, limit=200)["data"]
    with admin_db.cursor() as cur:
        cur.execute("SELECT count(*) FROM audit_events WHERE org_id = %s",
                    (owner.org_id,))
        assert len(everything) == cur.fetchone()[0] == 9

    seen, cursor, pages = [], None, 0
    while True:
        query = {"limit": 4}
        if cursor:
            query["cursor"] = cursor
        page = audit(owner, **query)
        pages += 1
        assert len(page["data"]) <= 4
        seen += page["data"]
        cursor = page["next_cursor"]
        if cursor is None:
            break
        assert cursor == page["data"][-1]["id"]
    assert pages == 3
    assert seen == everything
    ids = [int(e["id"]) for e in seen]
    assert ids == sorted(ids, reverse=True) and len(set(ids)) == len(ids)
    assert audit(owner)["data"] == everything  # default page size is 50


def test_audit_log_query_validation(server):
    owner = signup(server.url)
    for qs in ("limit=0", "limit=201", "limit=abc", "limit=-1",
               "limit=1e3", "cursor=abc", "cursor=1%20OR%201=1",
               "cursor=-5", "cursor=" + "9" * 19, "limit=5&limit=6",
               "LIMIT=5", "limit=%00"):
        r = owner.get("/api/v1/audit-log?" + qs)
        assert_error(r, 400, "INVALID_QUERY")


def test_audit_log_is_for_owners_and_admins(server):
    owner = signup(server.url)
    admin = add_member(server.url, owner, "admin")
    agent = add_member(server.url, owner, "agent")
    assert admin.get("/api/v1/audit-log").status_code == 200
    assert_error(agent.get("/api/v1/audit-log"), 403, "FORBIDDEN")
    agent_token, _ = new_token(owner, role="agent")
    assert_error(Client(server.url, token=agent_token).get(
        "/api/v1/audit-log"), 403, "FORBIDDEN")
