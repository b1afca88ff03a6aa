"""The master key: a wrong one stops the server at start-up with a clear
message, and rotating it rewraps keys only, so people stay signed in and
stored credentials still decrypt."""
import os
import secrets
import subprocess

import pytest

from apiclient import Client, login, signup
from conftest import ROOT, TEST_PLUGINS, Server
from providers import DEMO

INBOXCTL = os.path.join(ROOT, "app", "inboxctl")


def key_file(tmp_path, name):
    path = tmp_path / name
    path.write_text(secrets.token_hex(32) + "\n")
    path.chmod(0o600)
    return str(path)


def test_wrong_master_key_stops_startup(server, tmp_path):
    srv = Server(str(tmp_path), env={"MASTER_KEY_FILE":
                                     key_file(tmp_path, "wrong.key")})
    with pytest.raises(RuntimeError) as e:
        srv.start()
    srv.stop()
    assert "is not the one this database's keys were wrapped with" in \
        str(e.value)


def test_master_key_file_must_be_private(server, tmp_path):
    path = key_file(tmp_path, "open.key")
    os.chmod(path, 0o644)
    srv = Server(str(tmp_path), env={"MASTER_KEY_FILE": path})
    with pytest.raises(RuntimeError):
        srv.start()
    srv.stop()


def rotate(old, new):
    env = dict(os.environ, MASTER_KEY_FILE=old)
    return subprocess.run([INBOXCTL, "rotate-master-key", new], env=env,
                          capture_output=True, text=True, timeout=60)


def test_rotation_keeps_sessions_and_credentials(server, fakes, tmp_path):
    owner = signup(server.url)
    wa = DEMO["whatsapp"]
    r = owner.post("/api/v1/channels", {
        "adapter": "whatsapp_cloud", "name": "Support", "credentials": {
            "phone_number_id": wa["phone_number_id"],
            "business_account_id": wa["waba_id"],
            "access_token": wa["tokens"][0]}})
    assert r.status_code == 201, r.text
    channel = r.json()["id"]

    old = os.environ["MASTER_KEY_FILE"]
    new = key_file(tmp_path, "new.key")
    first = rotate(old, new)
    try:
        assert first.returncode == 0, first.stderr
        assert "0 failed" in first.stdout
        # Interrupted or not, a second run finds nothing left to do.
        again = rotate(old, new)
        assert again.returncode == 0 and " 0 rewrapped" in again.stdout
        rotated = Server(str(tmp_path), env=dict(
            fakes.bases, PLUGINS=TEST_PLUGINS, MASTER_KEY_FILE=new)).start()
        try:
            same = Client(rotated.url)
            same.http.cookies = owner.http.cookies
            same.csrf = owner.csrf
            assert same.get("/api/v1/me").status_code == 200
            r = same.post(f"/api/v1/channels/{channel}/test")
            assert r.status_code == 200, r.text
            assert r.json()["status"] == "connected"
            login(rotated.url, owner.email)
        finally:
            rotated.stop()
    finally:
        back = rotate(new, old)
        assert back.returncode == 0, back.stderr
    owner.delete(f"/api/v1/channels/{channel}")
