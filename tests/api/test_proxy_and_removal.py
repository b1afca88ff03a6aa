"""Client addresses behind a trusted load balancer, and what a removed
member leaves behind (nothing that still works)."""
from apiclient import Client, add_member, assert_error, signup, unique_email
from conftest import Server


def audit_ips(client):
    r = client.get("/api/v1/audit-log")
    assert r.status_code == 200, r.text
    return [e["ip"] for e in r.json()["data"]]


def test_forwarded_for_ignored_unless_the_peer_is_trusted(server):
    c = signup(server.url)
    r = c.post("/api/v1/api-tokens", {"name": "ci"},
               headers={"X-Forwarded-For": "203.0.113.7"})
    assert r.status_code == 201, r.text
    assert "203.0.113.7" not in audit_ips(c)


def test_forwarded_for_from_a_trusted_proxy(server, tmp_path):
    proxied = Server(str(tmp_path), env={
        "TRUSTED_PROXIES": "10.9.9.9, 127.0.0.1"}).start()
    try:
        c = Client(proxied.url)
        r = c.post("/api/v1/auth/signup", {
            "organization_name": "Proxied", "name": "Pat",
            "email": unique_email("proxied"),
            "password": "correct horse battery staple"},
            headers={"X-Forwarded-For": "198.51.100.1, 203.0.113.9"})
        assert r.status_code == 201, r.text
        # The proxy's own entry (the last) counts, the client's does not.
        assert audit_ips(c)[0] == "203.0.113.9"
        r = c.post("/api/v1/api-tokens", {"name": "ci"},
                   headers={"X-Forwarded-For": "not-an-address"})
        assert r.status_code == 201, r.text
        assert audit_ips(c)[0] == "127.0.0.1"
    finally:
        proxied.stop()


def test_removed_admin_loses_tokens_and_invitations(server):
    owner = signup(server.url)
    admin = add_member(server.url, owner, role="admin")
    r = admin.post("/api/v1/api-tokens", {"name": "ci", "role": "admin"})
    assert r.status_code == 201, r.text
    token = r.json()["token"]
    r = admin.post("/api/v1/invitations", {
        "email": unique_email("backdoor"), "role": "admin"})
    assert r.status_code == 201, r.text
    invite = r.json()["token"]
    assert Client(server.url, token=token).get(
        "/api/v1/members").status_code == 200

    r = owner.delete(f"/api/v1/members/{admin.user_id}")
    assert r.status_code == 204, r.text

    assert_error(Client(server.url, token=token).get("/api/v1/members"),
                 401, "UNAUTHENTICATED")
    r = Client(server.url).post("/api/v1/invitations/accept", {
        "token": invite, "name": "Back Door",
        "password": "correct horse battery staple"})
    assert_error(r, 404, "INVITATION_NOT_FOUND")
