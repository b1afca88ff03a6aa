"""The example adapter, end to end: its provider cannot be told a webhook
secret by API, so connecting shows one, once, and webhooks signed with
that header land in the conversation list; without it they are refused."""
import json
import uuid

import requests

from apiclient import signup


def post_hook(server, body, secret=None):
    headers = {"Content-Type": "application/json"}
    if secret is not None:
        headers["X-Inbox-Secret"] = secret
    return requests.post(server.url + "/api/v1/webhooks/example",
                         data=json.dumps(body), headers=headers, timeout=10)


def test_example_channel_gets_a_secret_once_and_receives(server, fakes):
    account = str(uuid.uuid4().int)[:12]
    token = "tok-" + uuid.uuid4().hex
    fakes.add_example_account(account, token, name="Shop")
    owner = signup(server.url)
    r = owner.post("/api/v1/channels", {
        "adapter": "example", "name": "Shop",
        "credentials": {"account_id": account, "token": token}})
    assert r.status_code == 201, r.text
    hook = r.json()["webhook"]
    secret = hook["secret"]
    assert hook["secret_header"] == "X-Inbox-Secret" and len(secret) >= 40
    channel = r.json()["id"]
    assert "secret" not in owner.get(
        f"/api/v1/channels/{channel}").json()["webhook"]

    body = {"account": account, "messages": [{
        "id": "m-" + uuid.uuid4().hex, "from": "555123", "name": "Cleo",
        "text": "hello shop", "timestamp": 1763700000}]}
    assert post_hook(server, body).status_code == 401
    assert post_hook(server, body, "wrong-" + secret[6:]).status_code == 403
    r = post_hook(server, body, secret)
    assert r.status_code == 200, r.text
    assert post_hook(server, body, secret).status_code == 200  # redelivery

    convs = owner.get("/api/v1/conversations").json()["data"]
    assert len(convs) == 1
    msgs = owner.get(f"/api/v1/conversations/{convs[0]['id']}/messages")
    texts = [m.get("text") for m in msgs.json()["data"]]
    assert texts == ["hello shop"], msgs.text
