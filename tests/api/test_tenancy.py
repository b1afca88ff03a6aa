"""Tenant isolation: through the API, another organization's resources do
not exist (404, never 403, so ids leak nothing), and in the database the
role the server connects as sees no tenant rows at all unless a tenant is
set, and cannot switch row-level security off.
"""
import psycopg2
import psycopg2.errors
import pytest

from apiclient import Client, add_member, invite, new_token, signup

TENANT_TABLES = ("organizations", "memberships", "api_tokens",
                 "invitations", "audit_events")


class Org:
    """An organization with one of everything: owner, agent, API token and
    an open invitation."""

    def __init__(self, base, name):
        self.owner = signup(base, org=name)
        self.agent = add_member(base, self.owner, "agent")
        self.token, self.token_row = new_token(self.owner, role="admin")
        self.invitation = invite(self.owner)
        self.id = self.owner.org_id

    def intact(self, base):
        """Asserts nothing of this organization was touched."""
        bot = Client(base, token=self.token)
        assert bot.get("/api/v1/me").status_code == 200
        roles = {m["user_id"]: m["role"] for m in
                 self.owner.get("/api/v1/members").json()["data"]}
        assert roles == {self.owner.user_id: "owner",
                         self.agent.user_id: "agent"}
        open_ids = [i["id"] for i in
                    self.owner.get("/api/v1/invitations").json()["data"]]
        assert open_ids == [self.invitation["id"]]


@pytest.fixture
def two_orgs(server):
    return Org(server.url, "Alpha"), Org(server.url, "Beta")


def foreign_writes(b):
    """Every write by id, aimed at organization b's resources."""
    return (("PATCH", "/api/v1/members/" + b.agent.user_id,
             {"role": "admin"}),
            ("PATCH", "/api/v1/members/" + b.owner.user_id,
             {"role": "agent"}),
            ("DELETE", "/api/v1/members/" + b.agent.user_id, None),
            ("DELETE", "/api/v1/members/" + b.owner.user_id, None),
            ("DELETE", "/api/v1/api-tokens/" + b.token_row["id"], None),
            ("DELETE", "/api/v1/invitations/" + b.invitation["id"], None))


def test_foreign_ids_are_not_found_by_session(server, two_orgs):
    a, b = two_orgs
    for method, path, body in foreign_writes(b):
        r = a.owner.request(method, path, json=body)
        assert r.status_code == 404, (method, path, r.text)
        assert r.json()["error_code"] == "NOT_FOUND"
    b.intact(server.url)


def test_foreign_ids_are_not_found_by_token(server, two_orgs):
    a, b = two_orgs
    bot = Client(server.url, token=a.token)
    for method, path, body in foreign_writes(b):
        r = bot.request(method, path, json=body)
        assert r.status_code == 404, (method, path, r.text)
    b.intact(server.url)


def test_token_is_bound_to_its_org(server, two_orgs):
    """The organization is part of the token: pointing A's secret at B
    (or the reverse) finds nothing."""
    a, b = two_orgs
    a_secret = a.token[-43:]
    for token in ("ibt_" + b.id.replace("-", "") + "_" + a_secret,
                  b.token[:-43] + a_secret):
        r = Client(server.url, token=token).get("/api/v1/members")
        assert r.status_code == 401, r.text


def test_lists_show_only_the_current_org(server, two_orgs):
    a, b = two_orgs
    b_users = {b.owner.user_id, b.agent.user_id}
    for client in (a.owner, Client(server.url, token=a.token)):
        ids = {m["user_id"] for m in client.get(
            "/api/v1/members").json()["data"]}
        assert ids == {a.owner.user_id, a.agent.user_id}
        tokens = client.get("/api/v1/api-tokens").json()["data"]
        assert {t["organization_id"] for t in tokens} == {a.id}
        invs = client.get("/api/v1/invitations").json()["data"]
        assert [i["id"] for i in invs] == [a.invitation["id"]]
        log = client.get("/api/v1/audit-log?limit=200").text
        for secret in b_users | {b.owner.email, b.agent.email,
                                 b.token_row["id"], b.invitation["email"]}:
            assert secret not in log
    assert not b_users & {m["user_id"] for m in a.agent.get(
        "/api/v1/members").json()["data"]}


def test_a_person_in_two_orgs_acts_in_one(server, two_orgs):
    """Belonging to B does not help while acting in A, and the role is the
    one held in the organization acted in."""
    a, b = two_orgs
    # a.owner joins B as an agent.
    inv = invite(b.owner, a.owner.email, "agent")
    r = Client(server.url).post("/api/v1/invitations/accept", {
        "token": inv["token"], "password": "correct horse battery staple"})
    assert r.status_code == 200, r.text
    # Acting in A (where they own), B's ids are still not found.
    r = a.owner.patch("/api/v1/members/" + b.agent.user_id,
                      {"role": "admin"})
    assert r.status_code == 404
    r = a.owner.post("/api/v1/auth/switch", {"organization_id": b.id})
    assert r.json()["organization"]["role"] == "agent"
    # In B they are an agent, and see B's people only.
    assert a.owner.get("/api/v1/api-tokens").status_code == 403
    ids = {m["user_id"] for m in a.owner.get(
        "/api/v1/members").json()["data"]}
    assert ids == {b.owner.user_id, b.agent.user_id, a.owner.user_id}
    # Leaving B as themselves works and leaves A untouched.
    assert a.owner.delete("/api/v1/members/" + a.owner.user_id
                          ).status_code == 204
    login_again = Client(server.url)
    r = login_again.post("/api/v1/auth/login", {
        "email": a.owner.email, "password": "correct horse battery staple"})
    assert r.json()["organization"]["id"] == a.id


# ---------------------------------------------------------------- database

@pytest.fixture
def app_db(app_db_url):
    """A connection as the server's own role (inbox_app)."""
    conn = psycopg2.connect(app_db_url)
    conn.autocommit = True
    yield conn
    conn.close()


def test_no_rows_without_tenant_context(server, two_orgs, admin_db, app_db):
    with admin_db.cursor() as cur:
        for table in TENANT_TABLES:
            cur.execute(f"SELECT count(*) FROM {table}")
            assert cur.fetchone()[0] > 0, f"{table} is empty: proves nothing"
    with app_db.cursor() as cur:
        cur.execute("SELECT current_user")
        assert cur.fetchone()[0] == "inbox_app"
        for table in TENANT_TABLES:
            cur.execute(f"SELECT count(*) FROM {table}")
            assert cur.fetchone()[0] == 0, table
            cur.execute(f"SELECT * FROM {table} LIMIT 1")
            assert cur.fetchall() == [], table


def test_tenant_context_shows_one_org(server, two_orgs, app_db):
    a, b = two_orgs
    with app_db.cursor() as cur:
        cur.execute("BEGIN")
        cur.execute("SELECT app.set_tenant(%s, NULL)", (a.id,))
        for table, col in (("organizations", "id"),
                           ("memberships", "org_id"),
                           ("api_tokens", "org_id"),
                           ("invitations", "org_id"),
                           ("audit_events", "org_id")):
            cur.execute(f"SELECT DISTINCT {col}::text FROM {table}")
            assert cur.fetchall() == [(a.id,)], table
        # Writes into another tenant are refused, not silently done.
        with pytest.raises(psycopg2.errors.InsufficientPrivilege):
            cur.execute("INSERT INTO audit_events (org_id, action) "
                        "VALUES (%s, 'forged')", (b.id,))
        cur.execute("ROLLBACK")
        cur.execute("UPDATE memberships SET role = 'owner' "
                    "WHERE org_id = %s", (b.id,))
        assert cur.rowcount == 0


def test_app_role_cannot_bypass_rls(app_db):
    with app_db.cursor() as cur:
        cur.execute("SELECT rolsuper, rolbypassrls, rolcreaterole "
                    "FROM pg_roles WHERE rolname = current_user")
        assert cur.fetchone() == (False, False, False)
        # It owns none of the tables, directly or through a role it is in.
        cur.execute("SELECT c.relname FROM pg_class c "
                    "JOIN pg_namespace n ON n.oid = c.relnamespace "
                    "WHERE n.nspname NOT IN ('pg_catalog', "
                    "'information_schema', 'pg_toast') "
                    "AND pg_has_role(current_user, c.relowner, 'USAGE')")
        assert cur.fetchall() == []
        # And every tenant table forces row-level security.
        cur.execute("SELECT relname FROM pg_class WHERE relname = ANY(%s) "
                    "AND relrowsecurity AND relforcerowsecurity",
                    (list(TENANT_TABLES),))
        assert sorted(r[0] for r in cur.fetchall()) == sorted(TENANT_TABLES)
    for attempt in ("SET row_security = off; "
                    "SELECT count(*) FROM memberships",
                    "ALTER TABLE memberships DISABLE ROW LEVEL SECURITY",
                    "ALTER TABLE memberships NO FORCE ROW LEVEL SECURITY",
                    "DROP POLICY tenant ON memberships",
                    "CREATE POLICY everything ON memberships USING (true)",
                    "SET ROLE inbox_owner",
                    "SET SESSION AUTHORIZATION postgres"):
        with app_db.cursor() as cur:
            with pytest.raises(psycopg2.Error):
                cur.execute(attempt)
        with app_db.cursor() as cur:
            cur.execute("RESET ALL")
