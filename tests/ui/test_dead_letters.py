"""Settings › Dead letters: a reply the provider refuses for good fails
in the thread (live, with the provider's reason) and is listed for
owners and admins with why and when; queued again, it goes out."""
import time

import webhooks as wh
from providers import graph_error
from test_inbox import digits, whatsapp_in, whatsapp_shop


def wait_status(client, message_id, statuses, timeout=15):
    deadline = time.time() + timeout
    while True:
        m = client.get(f"/api/v1/messages/{message_id}").json()
        if m["status"] in statuses:
            return m
        assert time.time() < deadline, m
        time.sleep(0.2)


def test_a_dead_letter_is_shown_and_queued_again(browser, server, fakes,
                                                 dispatcher):
    b = browser()
    owner, pnid, _, _ = whatsapp_shop(b, fakes, "Dead Letter Office")
    whatsapp_in(server, pnid, "1555" + digits(7), "Nora Number",
                wh.whatsapp_text("Please call me back"))
    rule = fakes.program("POST", rf"/{pnid}/messages$", status=400,
                         body=graph_error(131026,
                                          "(#131026) Message undeliverable"))
    try:
        b.open("/inbox")
        b.wait_for("[data-testid=conversation]").click()
        b.wait_text("Please call me back", "[data-testid=message]")
        b.field("Reply").send_keys("We tried to call you")
        b.click("Send")
        # The failure comes back live, with the provider's words.
        b.wait_text("Message undeliverable", ".msg-out .msg-error")
        assert b.find(".msg-out .tick").get_attribute("aria-label") \
            == "Not delivered"
    finally:
        fakes.cancel(rule)

    b.click("Settings")
    b.click("Dead letters")
    b.wait_heading("Dead letters")
    row = b.wait_for("[data-testid=dead-letter]")
    assert "We tried to call you" in row.text
    assert "The provider refused it" in row.text
    assert "(#131026) Message undeliverable (131026)" in row.text
    assert "1 attempt" in row.text and "given up" in row.text
    b.shot("dead-letters")

    b.click("Queue again", row)
    b.wait_text("Queued again", "[data-testid=dead-letter]")
    b.wait_focus(b.find("[data-testid=dead-letter] .row-ok"))
    assert not b.find_all("[data-testid=dead-letter] .row-actions")
    [m] = owner.get("/api/v1/conversations").json()["data"]
    out = [x for x in owner.get(
        f"/api/v1/conversations/{m['id']}/messages").json()["data"]
        if x["direction"] == "out"]
    wait_status(owner, out[0]["id"], ("sent", "delivered", "read"))
    assert len(fakes.requests(path=rf"/{pnid}/messages$")) == 2

    # Once sent, it is no dead letter any more.
    b.click("Refresh")
    b.wait_text("No dead letters.")
    b.nav("Inbox")
    b.wait_for("[data-testid=conversation]").click()
    b.wait.until(lambda d: b.find(".msg-out .tick").get_attribute(
        "aria-label") == "Sent")
    assert not b.find_all(".msg-out .msg-error")
