"""Channel credentials at rest and in transit, black-box against a real
kore, the fake providers and the database (admin_db):

- what the database holds: sealed blobs (docs/vault.md: version byte,
  nonce, ciphertext, tag), hints, the wrapped organization data key; never
  the plaintext;
- tampering fails closed: a sealed blob copied to another channel, another
  organization or another field, a flipped bit, a wrong key version, a
  damaged data key: the server answers 500 VAULT_ERROR, asks no provider
  anything and shows no plaintext;
- canaries: distinctive secrets ("CANARY-<uuid>") taken through every
  operation must appear in no API response, no audit log entry, no server
  log line and no database column, and not in what the server hands the
  database either.
"""
import os
import re
import uuid

import pytest

from apiclient import add_member, assert_error, signup
from providers import graph_error
from test_channels import (CHANNELS, D360, KINDS, MASK, Example, Messenger,
                           WhatsAppCloud, add_token, audit_actions,
                           channel_rows, connect, connect_own_app,
                           connect_shown,
                           program,  # noqa: F401  (a fixture)
                           registered_secret)

SEALED_OVERHEAD = 1 + 24 + 16          # version byte, nonce, tag
WRAPPED_LEN = 73


def secrets_of(admin_db, channel_id):
    """{field: (sealed bytes, key_version, hint)} of a channel."""
    with admin_db.cursor() as cur:
        cur.execute("SELECT field, sealed, key_version, hint "
                    "FROM channel_secrets WHERE channel_id = %s",
                    (channel_id,))
        return {f: (bytes(s), v, h) for f, s, v, h in cur.fetchall()}


def set_sealed(admin_db, channel_id, field, sealed, key_version=None):
    with admin_db.cursor() as cur:
        cur.execute("UPDATE channel_secrets SET sealed = %s, "
                    "key_version = coalesce(%s, key_version) "
                    "WHERE channel_id = %s AND field = %s",
                    (sealed, key_version, channel_id, field))
        assert cur.rowcount == 1


def data_key_of(admin_db, org_id):
    with admin_db.cursor() as cur:
        cur.execute("SELECT data_key, data_key_version FROM organizations "
                    "WHERE id = %s", (org_id,))
        key, version = cur.fetchone()
        return (None if key is None else bytes(key)), version


def flip(blob, index, bit=0):
    b = bytearray(blob)
    b[index] ^= 1 << bit
    return bytes(b)


def db_text(admin_db, org_id):
    """Every row the organization has in the channel tables, the audit
    log and organizations, as text (bytea as hex)."""
    out = []
    with admin_db.cursor() as cur:
        for table, col in (("channels", "org_id"),
                           ("channel_secrets", "org_id"),
                           ("channel_routes", "org_id"),
                           ("audit_events", "org_id"),
                           ("organizations", "id")):
            cur.execute(f"SELECT t::text FROM {table} t WHERE {col} = %s",
                        (org_id,))
            out += [r[0] for r in cur.fetchall()]
    return "\n".join(out)


def assert_fails_closed(server, client, acct, channel_id, *plaintexts):
    """Every operation that needs the credentials answers 500 VAULT_ERROR
    without asking the provider or showing a secret; the channel can
    still be read, renamed (which needs no credentials), disconnected
    and deleted."""
    sent = len(acct.fakes.requests())
    log_before = len(server.read_log())
    url = f"{CHANNELS}/{channel_id}"
    before = client.get(url).json()
    for method, path, body in (("POST", url + "/test", None),
                               ("POST", url + "/reconnect", None),
                               ("PATCH", url, {"name": "Renamed",
                                               "credentials": {}})):
        r = client.request(method, path, json=body)
        assert_error(r, 500, "VAULT_ERROR")
        for p in plaintexts:
            assert p not in r.text
    assert len(acct.fakes.requests()) == sent, "a provider was asked"
    assert client.get(url).json() == before     # nothing saved
    log = server.read_log()[log_before:]
    assert "does not decrypt" in log or "data key" in log, log
    for p in plaintexts:
        assert p not in log
    r = client.patch(url, {"name": "Renamed"})
    assert r.status_code == 200 and r.json()["name"] == "Renamed", r.text
    assert len(acct.fakes.requests()) == sent, "a provider was asked"
    r = client.post(url + "/disconnect")
    assert r.status_code == 200 and r.json()["status"] == "disconnected"
    assert client.delete(url).status_code == 204


# ---------------------------------------------------------------- at rest

def test_secrets_are_sealed_not_stored(server, fakes, admin_db):
    owner = signup(server.url)
    acct = WhatsAppCloud(fakes)
    ch, app_secret = connect_own_app(owner, acct)

    stored = secrets_of(admin_db, ch["id"])
    assert set(stored) == {"access_token", "app_secret"}
    for field, plain in (("access_token", acct.token),
                         ("app_secret", app_secret)):
        sealed, version, hint = stored[field]
        assert plain.encode() not in sealed
        assert len(sealed) == len(plain) + SEALED_OVERHEAD
        assert sealed[0] == 1 and version == 1
        assert hint == MASK + plain[-4:]
    # Only the ids in the clear.
    with admin_db.cursor() as cur:
        cur.execute("SELECT config FROM channels WHERE id = %s", (ch["id"],))
        assert cur.fetchone()[0] == acct.config
    text = db_text(admin_db, owner.org_id)
    assert acct.token not in text and app_secret not in text
    key, version = data_key_of(admin_db, owner.org_id)
    assert len(key) == WRAPPED_LEN and key[0] == 1 and version == 1

    # Sealing again (an update with credentials) uses a fresh nonce:
    # same value, new blob.
    r = owner.patch(f"{CHANNELS}/{ch['id']}", {"credentials": {
        "business_account_id": acct.config["business_account_id"]}})
    assert r.status_code == 200, r.text
    again = secrets_of(admin_db, ch["id"])
    assert again["access_token"][0] != stored["access_token"][0]
    assert len(again["access_token"][0]) == len(stored["access_token"][0])
    # One data key per organization, kept across channels.
    connect(owner, Example(fakes))
    assert data_key_of(admin_db, owner.org_id)[0] == key
    other = signup(server.url)
    connect(other, Example(fakes))
    assert data_key_of(admin_db, other.org_id)[0] != key


# ---------------------------------------------------------------- tampering

def two_channels(server, fakes, same_org=True):
    """Two example channels (maybe of two organizations) with their
    clients, accounts and ids."""
    a = signup(server.url)
    b = a if same_org else signup(server.url)
    acct_a, acct_b = Example(fakes), Example(fakes)
    ch_a, ch_b = connect(a, acct_a), connect(b, acct_b)
    return (a, acct_a, ch_a["id"]), (b, acct_b, ch_b["id"])


def test_blob_copied_to_another_channel_fails_closed(server, fakes,
                                                     admin_db):
    (owner, acct_a, id_a), (_, acct_b, id_b) = two_channels(server, fakes)
    sealed_a = secrets_of(admin_db, id_a)["token"][0]
    set_sealed(admin_db, id_b, "token", sealed_a)
    assert_fails_closed(server, owner, acct_b, id_b, acct_a.token,
                        acct_b.token)
    # The original still works.
    r = owner.post(f"{CHANNELS}/{id_a}/test")
    assert r.status_code == 200 and r.json()["status"] == "connected"


def test_blob_copied_to_another_org_fails_closed(server, fakes, admin_db):
    (_, acct_a, id_a), (mallory, acct_b, id_b) = two_channels(
        server, fakes, same_org=False)
    sealed_a = secrets_of(admin_db, id_a)["token"][0]
    set_sealed(admin_db, id_b, "token", sealed_a)
    assert_fails_closed(server, mallory, acct_b, id_b, acct_a.token,
                        acct_b.token)


def test_blob_and_data_key_copied_to_another_org_fail_closed(server, fakes,
                                                             admin_db):
    """Copying the victim's wrapped data key along with the blob does not
    help: the data key is bound to its organization."""
    (alice, acct_a, id_a), (mallory, acct_b, id_b) = two_channels(
        server, fakes, same_org=False)
    sealed_a = secrets_of(admin_db, id_a)["token"][0]
    key_a, _ = data_key_of(admin_db, alice.org_id)
    key_b, _ = data_key_of(admin_db, mallory.org_id)
    set_sealed(admin_db, id_b, "token", sealed_a)
    with admin_db.cursor() as cur:
        cur.execute("UPDATE organizations SET data_key = %s WHERE id = %s",
                    (key_a, mallory.org_id))
    try:
        assert_fails_closed(server, mallory, acct_b, id_b, acct_a.token,
                            acct_b.token)
        # A new channel cannot be sealed with it either; nothing is saved.
        r = mallory.post(CHANNELS, Example(fakes).body())
        assert_error(r, 500, "VAULT_ERROR")
        assert channel_rows(admin_db, mallory.org_id)[0] == 0
    finally:
        # Every organization's data key must open again: master key
        # rotation (test_master_key) stops at one that does not.
        with admin_db.cursor() as cur:
            cur.execute("UPDATE organizations SET data_key = %s "
                        "WHERE id = %s", (key_b, mallory.org_id))


def test_blob_moved_to_another_field_fails_closed(server, fakes, admin_db):
    owner = signup(server.url)
    acct = Messenger(fakes)
    ch, app_secret = connect_own_app(owner, acct)
    stored = secrets_of(admin_db, ch["id"])
    set_sealed(admin_db, ch["id"], "app_secret",
               stored["page_access_token"][0])
    assert_fails_closed(server, owner, acct, ch["id"], acct.token,
                        app_secret)


@pytest.mark.parametrize("where", ["version", "nonce", "ciphertext", "tag",
                                   "truncated", "empty"])
def test_damaged_blob_fails_closed(server, fakes, admin_db, where):
    owner = signup(server.url)
    acct = Example(fakes)
    cid = connect(owner, acct)["id"]
    sealed = secrets_of(admin_db, cid)["token"][0]
    damaged = {"version": flip(sealed, 0), "nonce": flip(sealed, 5, 3),
               "ciphertext": flip(sealed, 25 + 2, 7),
               "tag": flip(sealed, len(sealed) - 1, 1),
               "truncated": sealed[:-1], "empty": b""}[where]
    set_sealed(admin_db, cid, "token", damaged)
    assert_fails_closed(server, owner, acct, cid, acct.token)


def test_wrong_key_version_fails_closed(server, fakes, admin_db):
    owner = signup(server.url)
    acct = Example(fakes)
    cid = connect(owner, acct)["id"]
    sealed = secrets_of(admin_db, cid)["token"][0]
    set_sealed(admin_db, cid, "token", sealed, key_version=2)
    assert_fails_closed(server, owner, acct, cid, acct.token)


def test_damaged_data_key_fails_closed(server, fakes, admin_db):
    owner = signup(server.url)
    acct = Example(fakes)
    cid = connect(owner, acct)["id"]
    key, _ = data_key_of(admin_db, owner.org_id)
    with admin_db.cursor() as cur:
        cur.execute("UPDATE organizations SET data_key = %s WHERE id = %s",
                    (flip(key, 40), owner.org_id))
    try:
        assert_fails_closed(server, owner, acct, cid, acct.token)
        other = Example(fakes)
        r = owner.post(CHANNELS, other.body())
        body = assert_error(r, 500, "VAULT_ERROR")
        assert "master key" in body["error"]
        assert channel_rows(admin_db, owner.org_id) == (0, 0, 0)
        assert not other.sent()
    finally:
        with admin_db.cursor() as cur:
            cur.execute("UPDATE organizations SET data_key = %s "
                        "WHERE id = %s", (key, owner.org_id))


# ---------------------------------------------------------------- canaries

def postgres_log():
    """The test cluster's log (conf/pgcluster.sh: <dir>/log/postgres.log
    next to the <dir>/run socket directory), or None when the database is
    elsewhere."""
    m = re.search(r"host=(\S+)/run\b", os.environ.get(
        "ADMIN_DATABASE_URL", ""))
    path = m and os.path.join(m.group(1), "log", "postgres.log")
    return path if path and os.access(path, os.R_OK) else None


def canary():
    return "CANARY-" + uuid.uuid4().hex


class Recorder:
    """Every response the test saw, to search for secrets afterwards."""

    def __init__(self):
        self.texts = []

    def wrap(self, client):
        original = client.request

        def request(*a, **kw):
            r = original(*a, **kw)
            self.texts.append("%s %s\n%s\n%s" % (
                r.request.method, r.request.url, r.headers, r.text))
            return r
        client.request = request
        return client


def test_canary_secrets_appear_nowhere(server, fakes, admin_db, program):
    rec = Recorder()
    owner = rec.wrap(signup(server.url, org="Canary Co"))
    agent = rec.wrap(add_member(server.url, owner, "agent"))
    rival = rec.wrap(signup(server.url, org="Rival Co"))
    log_start = len(server.read_log())
    pg_log = postgres_log()
    pg_start = os.path.getsize(pg_log) if pg_log else 0
    canaries = []
    shown = []          # webhook secrets shown once, on purpose

    for adapter, kind in KINDS.items():
        token = canary()
        acct = kind(fakes, token=token)
        canaries.append(token)
        # A wrong canary first (rejected by the provider), then the
        # right one.
        wrong = canary()
        canaries.append(wrong)
        r = owner.post(CHANNELS, acct.body(token=wrong))
        assert r.status_code == 422, r.text
        ch, shown_secret = connect_shown(owner, acct)
        if shown_secret:
            shown.append(shown_secret)
        if adapter == "360dialog":
            canaries.append(registered_secret(server, acct))
        url = f"{CHANNELS}/{ch['id']}"
        # Everyone reads it; the rival claims the same account.
        owner.get(url), owner.get(CHANNELS), agent.get(url)
        agent.get(CHANNELS), agent.post(url + "/test")
        assert rival.post(CHANNELS, acct.body()).status_code == 409
        # Tests, a failing one, a revoked token, a rotation.
        owner.post(url + "/test")
        program("GET", acct.test_path, status=500)
        owner.post(url + "/test")
        fakes.revoke_token(token)
        assert owner.post(url + "/test").json()["status"] == "error"
        rotated = add_token(acct)
        canaries.append(rotated)
        assert owner.patch(url, {"credentials": {
            acct.secret_field: rotated}}).status_code == 200
        if adapter == "360dialog":
            canaries.append(registered_secret(server, acct, rotated))
        owner.post(url + "/disconnect")
        r = owner.post(url + "/reconnect")
        if "secret" in r.json()["webhook"]:
            shown.append(r.json()["webhook"]["secret"])
        if adapter == "360dialog":
            canaries.append(registered_secret(server, acct, rotated))
        # Invalid values quoted nowhere either.
        for bad in (canary() + " x", canary() + "\u0001",
                    canary() * 200):
            canaries.append(bad.split(" ")[0].split("\u0001")[0][:43])
            r = owner.patch(url, {"credentials": {acct.secret_field: bad}})
            assert r.status_code == 422, r.text
            r = owner.post(CHANNELS, {"adapter": adapter, "name": "x",
                                      "credentials": dict(acct.config, **{
                                          acct.secret_field: bad})})
            assert r.status_code == 422, r.text
        # An app secret (hex only) where the adapter has one.
        if adapter in ("whatsapp_cloud", "messenger", "instagram"):
            app_secret = uuid.uuid4().hex
            canaries.append(app_secret)
            assert owner.patch(url, {"credentials": {
                "app_secret": app_secret}}).status_code == 200
        if adapter == "example":
            owner.delete(url)

    audit = owner.get("/api/v1/audit-log", params={"limit": 200})
    assert audit.status_code == 200
    actions = audit_actions(owner)
    assert "channel_credentials_updated" in actions
    server_log = server.read_log()[log_start:]
    if pg_log:
        with open(pg_log, "rb") as f:
            f.seek(pg_start)
            server_log += f.read().decode("utf-8", "replace")
    database = db_text(admin_db, owner.org_id) + db_text(admin_db,
                                                         rival.org_id)
    assert len(rec.texts) > 100
    for secret in canaries:
        assert len(secret) >= 32
        for text in rec.texts:
            assert secret not in text, (secret, text[:500])
        assert secret not in server_log, secret
        assert secret not in database, secret
    # A webhook secret the tenant must paste into the provider is shown
    # in the one answer that made it, and nowhere else.
    assert len(shown) == 2
    for secret in shown:
        assert sum(secret in text for text in rec.texts) == 1, secret
        assert secret not in server_log and secret not in database
    # The hints are what is shown instead.
    assert MASK in "".join(rec.texts)


@pytest.mark.parametrize("adapter", ["whatsapp_cloud"])
def test_provider_echoing_the_secret_is_masked(server, fakes, admin_db,
                                               program, adapter):
    owner = signup(server.url)
    token = canary()
    acct = KINDS[adapter](fakes, token=token)
    program("GET", acct.test_path, status=400,
            body=graph_error(190, "Malformed access token " + token))
    r = owner.post(CHANNELS, acct.body())
    assert r.status_code == 422
    assert "Malformed access token" in r.text
    assert token not in r.text
    ch = connect(owner, acct)
    program("GET", acct.test_path, status=400,
            body=graph_error(190, "Malformed access token " + token))
    r = owner.post(f"{CHANNELS}/{ch['id']}/test")
    assert r.json()["status"] == "error"
    assert token not in r.text
    assert token not in db_text(admin_db, owner.org_id)


# ---------------------------------------------------------------- to the database

@pytest.fixture
def db_arguments(admin_db):
    """Records what the server hands api.channel_begin and
    api.channel_save (p_in, p_srv), by wrapping both for the duration of
    the test (restored afterwards). Returns a function giving the rows."""
    fns = ("channel_begin", "channel_save")

    def restore(cur):
        for fn in fns:
            cur.execute("SELECT 1 FROM pg_proc p JOIN pg_namespace n ON "
                        "n.oid = p.pronamespace WHERE n.nspname = 'api' "
                        "AND p.proname = %s", (fn + "_unwrapped",))
            if cur.fetchone():
                cur.execute(f"DROP FUNCTION IF EXISTS api.{fn}"
                            "(text, jsonb, jsonb)")
                cur.execute(f"ALTER FUNCTION api.{fn}_unwrapped"
                            f"(text, jsonb, jsonb) RENAME TO {fn}")
        cur.execute("DROP TABLE IF EXISTS public.test_vault_seen")

    with admin_db.cursor() as cur:
        restore(cur)            # after an interrupted run
        cur.execute("CREATE TABLE public.test_vault_seen "
                    "(fn text, p_in text, p_srv text)")
        cur.execute("GRANT INSERT ON public.test_vault_seen TO inbox_app")
        for fn in fns:
            cur.execute(f"ALTER FUNCTION api.{fn}(text, jsonb, jsonb) "
                        f"RENAME TO {fn}_unwrapped")
            cur.execute(f"""
                CREATE FUNCTION api.{fn}(p_auth text, p_in jsonb,
                    p_srv jsonb, OUT status int, OUT body jsonb)
                LANGUAGE plpgsql AS $$
                BEGIN
                    INSERT INTO public.test_vault_seen
                    VALUES ('{fn}', p_in::text, p_srv::text);
                    SELECT r.status, r.body INTO status, body
                    FROM api.{fn}_unwrapped(p_auth, p_in, p_srv) r;
                END $$""")
            cur.execute(f"GRANT EXECUTE ON FUNCTION api.{fn}"
                        "(text, jsonb, jsonb) TO inbox_app")

    def seen():
        with admin_db.cursor() as cur:
            cur.execute("SELECT fn, p_in, p_srv FROM public.test_vault_seen")
            return cur.fetchall()
    try:
        yield seen
    finally:
        with admin_db.cursor() as cur:
            restore(cur)


def test_plaintext_credentials_are_not_sent_to_the_database_sealed_are(
        server, fakes, db_arguments):
    """What the server sends the database is sealed, not plaintext. The
    sealed part of this test; the plaintext part is the xfail below."""
    owner = signup(server.url)
    acct = D360(fakes, token=canary())
    ch = connect(owner, acct)
    webhook_secret = registered_secret(server, acct)
    rows = db_arguments()
    assert {fn for fn, _, _ in rows} == {"channel_begin", "channel_save"}
    save_srv = [srv for fn, _, srv in rows if fn == "channel_save"][0]
    assert '"sealed"' in save_srv and '"webhook_secret_hash"' in save_srv
    for _, _, srv in rows:
        assert acct.token not in srv and webhook_secret not in srv
    assert ch["status"] == "connected"


def test_plaintext_credentials_are_not_sent_to_the_database(
        server, fakes, db_arguments):
    owner = signup(server.url)
    acct = Example(fakes, token=canary())
    ch = connect(owner, acct)
    new = canary()
    acct.setup(extra_tokens=(new,))
    r = owner.patch(f"{CHANNELS}/{ch['id']}",
                    {"credentials": {"token": new}})
    assert r.status_code == 200, r.text
    rows = db_arguments()
    assert len(rows) == 4
    for fn, p_in, p_srv in rows:
        for secret in (acct.token, new):
            assert secret not in p_in, (fn, p_in)
            assert secret not in p_srv, (fn, p_srv)
