"""Settings › Socials: connecting an account through the form drawn from
its plugin's credential fields, against the fake providers
(tests/fakes), then testing, changing, disconnecting, reconnecting and
deleting it."""
import random
import uuid

import requests

from apiclient import add_member, signup


def example_account(fakes):
    """A fresh account at the fake "example" provider: (id, token)."""
    account_id = str(random.randint(10 ** 11, 10 ** 12 - 1))
    token = "tok-" + uuid.uuid4().hex
    fakes.add_example_account(account_id, [token], "Example Support")
    return account_id, token


def card(b, title):
    for c in b.find_all("[data-testid=adapter-card], [data-testid=channel-card]"):
        if c.find_element("css selector", "h3").text == title:
            return c
    raise AssertionError(f"no card {title!r}; page says:\n{b.text()}")


def test_connect_test_change_disconnect_reconnect_delete(browser, server, fakes):
    account_id, token = example_account(fakes)
    b = browser()
    b.signup(org="Social Club")
    b.open("/settings/socials")
    b.wait_heading("Socials")
    b.wait_text("No accounts connected yet.")
    for name in ("WhatsApp (Meta Cloud API)", "WhatsApp (360dialog)",
                 "Facebook Messenger", "Instagram"):
        card(b, name)
    b.shot("socials")

    b.click("Connect Example (no account needed)")
    form = b.wait_for("form[aria-label='Connect Example (no account needed)']")
    # The form is the plugin's: its labels, hints and a masked secret.
    b.wait_focus(b.field("Name in the inbox", form))
    assert "Digits, as shown by the provider" in form.text
    assert b.field("API token", form).get_attribute("type") == "password"

    b.fill("Name in the inbox", "Support line", form)
    b.fill("Account ID", "not digits", form)
    b.fill("API token", token, form)
    b.click("Connect Example (no account needed)", form)
    b.wait_text("Some credentials are missing or invalid", ".notice-error")
    assert b.field("Account ID", form).get_attribute("aria-invalid") == "true"

    b.fill("Account ID", account_id, form)
    b.fill("API token", "tok-wrong", form)
    b.click("Connect Example (no account needed)", form)
    b.wait_text("The provider did not accept these credentials", ".notice-error")

    b.fill("API token", token, form)
    b.click("Connect Example (no account needed)", form)
    b.wait_for("[data-testid=channel-card]")
    ch = card(b, "Support line")
    assert "Connected" in ch.text and account_id in ch.text
    assert token not in b.driver.page_source, "the secret is never shown"
    assert "••••" + token[-4:] in ch.text
    b.shot("socials-connected")

    # The example provider cannot be told our webhook secret: it is shown
    # once, and webhooks carrying it land in the inbox.
    panel = b.wait_for("[data-testid=webhook-secret]")
    secret = b.field("Webhook secret", panel).get_attribute("value")
    assert len(secret) >= 40 and "X-Inbox-Secret" in panel.text
    b.click("Done", panel)
    assert secret not in b.driver.page_source
    r = requests.post(server.url + "/api/v1/webhooks/example", json={
        "account": account_id, "messages": [{
            "id": "m-" + uuid.uuid4().hex, "from": "555123", "name": "Cleo",
            "text": "hello shop", "timestamp": 1763700000}]},
        headers={"X-Inbox-Secret": secret}, timeout=10)
    assert r.status_code == 200, r.text
    b.nav("Inbox")
    b.wait_text("Cleo", "[data-testid=conversation]")
    b.click("Settings")
    b.click("Socials")
    b.wait_for("[data-testid=channel-card]")
    ch = card(b, "Support line")

    b.click("Test connection", ch)
    b.wait_text("The connection works", "[data-testid=channel-card]")

    b.click("Change", ch)
    edit = b.wait_for("form[aria-label='Change Support line']")
    assert b.field("API token", edit).get_attribute("value") == ""
    b.fill("Name in the inbox", "Helpdesk", edit)
    b.click("Save changes", edit)
    b.wait_text("Saved.", "[data-testid=channel-card]")
    ch = card(b, "Helpdesk")

    b.confirm("Disconnect Helpdesk", "Disconnect")
    b.wait_text("Disconnected", "[data-testid=channel-status]")
    b.click("Reconnect", card(b, "Helpdesk"))
    b.wait_text("Connected", "[data-testid=channel-status]")

    b.confirm("Delete Helpdesk", "Delete")
    b.wait_text("No accounts connected yet.")
    b.driver.refresh()
    b.wait_text("No accounts connected yet.")


def test_agents_see_accounts_but_cannot_change_them(browser, server, fakes):
    account_id, token = example_account(fakes)
    owner = signup(server.url, org="Watchers")
    r = owner.post("/api/v1/channels", {
        "adapter": "example", "name": "Front desk",
        "credentials": {"account_id": account_id, "token": token}})
    assert r.status_code == 201, r.text
    agent = add_member(server.url, owner, role="agent")
    b = browser()
    b.login(agent.email)
    b.wait_path("/inbox")
    b.open("/settings/socials")
    ch = b.wait_for("[data-testid=channel-card]")
    assert "Front desk" in ch.text and "Connected" in ch.text
    assert not b.find_all("button", ch)
    assert "Connect an account" not in b.text()
