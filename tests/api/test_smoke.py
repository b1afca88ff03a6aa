"""The server answers, in the documented shapes."""
from apiclient import Client, signup


def test_health(server):
    r = Client(server.url).get("/api/v1/health")
    assert r.status_code == 200
    body = r.json()
    assert body["database"] == "ok" and body["version"]


def test_signup_me_logout(server):
    c = signup(server.url)
    r = c.get("/api/v1/me")
    assert r.status_code == 200
    assert r.json()["organization"]["role"] == "owner"
    assert c.post("/api/v1/auth/logout").status_code == 204
    assert c.get("/api/v1/me").status_code == 401
