"""The inbox, live: what signed webhooks bring (tests/fakes/webhooks.py
builds and signs them as Meta does) shows up without a reload, over the
/api/v1/stream websocket; a reply goes out through a real dispatcher to
the fake provider and its tick moves on as status webhooks arrive; after
the socket drops, the page reconnects and catches up on what it missed.

window.__sameLoad (Browser.mark_page) proves nothing was reloaded."""
import webhooks as wh
from test_inbox import (conversation, digits, post, whatsapp_account,
                        whatsapp_in, whatsapp_shop)


def wait_live(b, state="up"):
    """Waits for the live stream to be in state (up: hello received).
    The status element is empty, so hidden, while all is well."""
    css = f"[data-testid=live-status][data-state={state}]"
    try:
        b.wait.until(lambda d: b.find_all(css))
    except Exception:
        raise AssertionError("the live stream is " + b.find(
            "[data-testid=live-status]").get_attribute("data-state"))


def tick_of(b, text):
    """The delivery tick of our message holding text."""
    for m in b.find_all(".msg-out"):
        if text in m.text:
            ticks = b.find_all(".tick", m)
            return ticks[0].get_attribute("aria-label") if ticks else None
    return None


def wait_tick(b, text, label):
    try:
        b.wait.until(lambda d: tick_of(b, text) == label)
    except Exception:
        raise AssertionError(f"tick of {text!r} is {tick_of(b, text)!r}, "
                             f"not {label!r}")


def test_a_conversation_arrives_live_and_its_ticks_advance(
        browser, server, fakes, dispatcher):
    b = browser()
    _, pnid, _, _ = whatsapp_shop(b, fakes, "Live Co", name="Lou Live")
    b.open("/inbox")
    b.wait_text("No conversations here yet.")
    wait_live(b)
    b.mark_page()

    # A customer writes: the conversation appears, unread, by itself.
    customer = "1555" + digits(7)
    whatsapp_in(server, pnid, customer, "Lena Live",
                wh.whatsapp_text("Anyone there?"))
    b.wait_text("Lena Live", "[data-testid=conversation]")
    conv = conversation(b, "Lena Live")
    assert "Anyone there?" in conv.text
    b.wait_text("1", "[data-testid=unread]")
    b.wait_text("1", "[data-testid=unread-total]")

    # Opening it marks it read, here and in the top bar.
    conv.click()
    b.wait_text("Anyone there?", "[data-testid=message]")
    b.wait.until(lambda d: not b.find_all("[data-testid=unread-total]"))
    assert not b.find_all("[data-testid=unread]")

    # A reply leaves through the dispatcher: queued, then sent.
    b.field("Reply").send_keys("Yes, how can I help?")
    b.click("Send")
    b.wait_text("Yes, how can I help?", ".msg-out")
    wait_tick(b, "Yes, how can I help?", "Sent")
    sent = fakes.wait_for(path=rf"/{pnid}/messages$", method="POST")[-1]
    assert sent.json()["text"]["body"] == "Yes, how can I help?"
    assert sent.json()["to"] == customer
    wamid = sent.response_json()["messages"][0]["id"]

    # The provider's status webhooks move the tick on.
    post(server, wh.whatsapp_payload(pnid, statuses=[
        wh.whatsapp_status(wamid, "delivered", recipient_id=customer)]))
    wait_tick(b, "Yes, how can I help?", "Delivered")
    post(server, wh.whatsapp_payload(pnid, statuses=[
        wh.whatsapp_status(wamid, "read", recipient_id=customer)]))
    wait_tick(b, "Yes, how can I help?", "Read")

    # And the customer's answer lands in the open thread.
    whatsapp_in(server, pnid, customer, "Lena Live",
                wh.whatsapp_text("My parcel is late"))
    b.wait_text("My parcel is late", "[data-testid=message]")
    b.wait_text("My parcel is late", "[data-testid=conversation]")
    assert b.page_was_kept(), "the page was reloaded"


def test_after_a_drop_it_reconnects_and_catches_up(browser, fakes,
                                                   kore_nodes):
    # Two kore nodes on one database: the page talks to `near`, which
    # goes down for a while; webhooks keep arriving at `far`.
    near, far = kore_nodes(), kore_nodes()
    b = browser(base=near.url)
    _, pnid, _, _ = whatsapp_shop(b, fakes, "Flaky Server")
    customer = "1555" + digits(7)
    whatsapp_in(far, pnid, customer, "Rita Reconnect",
                wh.whatsapp_text("First message"))
    b.open("/inbox")
    b.wait_for("[data-testid=conversation]").click()
    b.wait_text("First message", "[data-testid=message]")
    wait_live(b)
    b.mark_page()

    # Events from the other node arrive too (NOTIFY fans out).
    whatsapp_in(far, pnid, customer, "Rita Reconnect",
                wh.whatsapp_text("Via the other node"))
    b.wait_text("Via the other node", "[data-testid=message]")

    # The page's server goes away: the socket drops, the page says so.
    near.stop()
    wait_live(b, "down")
    b.wait_text("Reconnecting…", "[data-testid=live-status]")
    assert b.find("[data-testid=live-status]").get_attribute("role") \
        == "status"
    # What is on screen stays, without error boxes.
    assert "Couldn't load" not in b.text()
    assert "First message" in b.text()
    b.shot("live-reconnecting")

    # Meanwhile the customer writes; nothing can reach the page.
    whatsapp_in(far, pnid, customer, "Rita Reconnect",
                wh.whatsapp_text("Sent while you were away"))
    assert "Sent while you were away" not in b.text()

    # The server is back: the page reconnects (backoff of a few seconds)
    # and catches up on what it missed.
    near.start()
    wait_live(b)
    b.wait_text("Sent while you were away", "[data-testid=message]")
    b.wait_text("Sent while you were away", "[data-testid=conversation]")
    assert not b.find("[data-testid=live-status]").text
    assert b.page_was_kept(), "the page was reloaded"


def test_switching_organization_follows_the_new_one(browser, server,
                                                    fakes):
    b = browser()
    owner, alpha_pnid, _, _ = whatsapp_shop(b, fakes, "Alpha Live")
    b.click("New organization…", b.account_menu())
    b.wait_heading("New organization")
    b.fill("Name", "Beta Live")
    b.click("Create organization")
    b.wait.until(lambda d: b.current_org() == "Beta Live")
    beta = [m["organization"]["id"] for m in
            owner.get("/api/v1/me").json()["memberships"]
            if m["organization"]["name"] == "Beta Live"][0]
    assert owner.post("/api/v1/auth/switch",
                      {"organization_id": beta}).status_code == 200
    beta_pnid = whatsapp_account(owner, fakes, "Beta WhatsApp")[0]
    b.nav("Inbox")
    b.wait_text("No conversations here yet.")
    wait_live(b)
    b.mark_page()

    # Beta's messages arrive live; Alpha's are not Beta's business.
    whatsapp_in(server, alpha_pnid, "1555" + digits(7), "Alan Alpha",
                wh.whatsapp_text("For Alpha"))
    whatsapp_in(server, beta_pnid, "1555" + digits(7), "Bea Beta",
                wh.whatsapp_text("For Beta"))
    b.wait_text("Bea Beta", "[data-testid=conversation]")
    assert "Alan Alpha" not in b.text()

    # Back in Alpha, the stream follows: Alpha's messages arrive live.
    b.find(".account-orgs button", b.account_menu()).click()
    b.wait.until(lambda d: b.current_org() == "Alpha Live")
    b.wait_text("Alan Alpha", "[data-testid=conversation]")
    wait_live(b)
    whatsapp_in(server, alpha_pnid, "1555" + digits(7), "Ali Again",
                wh.whatsapp_text("Alpha again"))
    b.wait_text("Ali Again", "[data-testid=conversation]")
    assert "Bea Beta" not in b.text()
    assert b.page_was_kept(), "the page was reloaded"
