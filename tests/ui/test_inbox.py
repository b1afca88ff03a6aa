"""The inbox: conversations that arrived by webhook (built and signed as
Meta sends them, tests/fakes/webhooks.py) listed, searched, filtered and
read, a reply queued, assigning, closing and reopening, the phone
layout, and what the composer offers outside the care window. Live
updates are in test_live.py, the composer's templates, media and new
conversations in test_composer.py."""
import os
import random
import uuid

import webhooks as wh
from apiclient import login

APP_SECRET = os.environ.get("META_APP_SECRET", "dev-app-secret")


def digits(n=15):
    return str(random.randint(1, 9)) + "".join(
        random.choice("0123456789") for _ in range(n - 1))


def connect(client, adapter, creds, name):
    r = client.post("/api/v1/channels", {
        "adapter": adapter, "name": name, "credentials": creds})
    assert r.status_code == 201, r.text
    return r.json()


def whatsapp_account(client, fakes, name="Shop WhatsApp"):
    """A WhatsApp number of our own at the fake, connected: its phone
    number id, business account id and the channel."""
    pnid, waba, token = digits(), digits(), "EAAG-" + uuid.uuid4().hex
    fakes.add_whatsapp_number(pnid, waba, "1555" + digits(7), "Shop", token)
    ch = connect(client, "whatsapp_cloud", {
        "phone_number_id": pnid, "business_account_id": waba,
        "access_token": token}, name)
    return pnid, waba, ch


def whatsapp_channel(client, fakes, name="Shop WhatsApp"):
    return whatsapp_account(client, fakes, name)[0]


def whatsapp_shop(b, fakes, org, name="Ann Owner", channel="Shop WhatsApp"):
    """Signs up in browser b as the owner of org, with a WhatsApp number
    of its own connected: the owner's API client, then what
    whatsapp_account() gives."""
    email = b.signup(org=org, name=name)
    owner = login(b.base, email)
    return (owner, *whatsapp_account(owner, fakes, channel))


def messenger_channel(client, fakes, name="Shop Page"):
    page, token = digits(), "EAAG-page-" + uuid.uuid4().hex
    fakes.add_page(page, "Page " + page, token)
    connect(client, "messenger", {"page_id": page,
                                  "page_access_token": token}, name)
    return page


def post(server, payload):
    status, body = wh.post(server.url + "/api/v1/webhooks/meta", payload,
                           app_secret=APP_SECRET)
    assert status == 200, body


def whatsapp_in(server, pnid, sender, name, *messages):
    post(server, wh.whatsapp_payload(
        pnid, messages=[dict(m, **{"from": sender}) for m in messages],
        contacts=[wh.whatsapp_contact(sender, name=name)]))


def conversation(b, text):
    for c in b.find_all("[data-testid=conversation]"):
        if text in c.text:
            return c
    raise AssertionError(f"no conversation with {text!r}:\n{b.text()}")


def test_conversations_listed_filtered_and_read(browser, server, fakes):
    b = browser()
    email = b.signup(org="Inbox Co", name="Ian Inbox")
    owner = login(server.url, email)
    b.wait_text("No accounts connected yet.")

    pnid = whatsapp_channel(owner, fakes)
    page = messenger_channel(owner, fakes)
    wanda = "1555" + digits(7)
    whatsapp_in(server, pnid, wanda, "Wanda Whatsapp",
                wh.whatsapp_text("Hello!\nIs my order on its way?"),
                wh.whatsapp_text("<script>document.title='pwned'</script>"),
                wh.whatsapp_media("image", caption="The parcel"))
    psid = digits(16)
    mid = "m_" + uuid.uuid4().hex
    post(server, wh.messenger_payload(page, wh.message_event(
        page, psid, "Hi from Messenger")))
    post(server, wh.messenger_payload(page, wh.echo_event(
        page, psid, "We answered in Meta's inbox", app_id=None, mid=mid)))
    post(server, wh.messenger_payload(page, wh.delivery_event(
        page, psid, mids=[mid])))

    b.open("/inbox")
    b.wait_text("Wanda Whatsapp", "[data-testid=conversation]")
    assert len(b.find_all("[data-testid=conversation]")) == 2
    mess = conversation(b, "Messenger")
    assert "Messenger · Shop Page" in mess.text
    assert "You: We answered in Meta's inbox" in mess.text
    assert "The parcel" in conversation(b, "Wanda").text
    b.shot("inbox-list")

    b.choose("Channel", b.find("select option:nth-child(2)").get_attribute("value"))
    b.wait.until(lambda d: len(b.find_all("[data-testid=conversation]")) == 1)
    b.check("Closed")
    b.wait_text("No conversations match.")
    b.check("All")
    b.choose("Channel", "")
    b.wait.until(lambda d: len(b.find_all("[data-testid=conversation]")) == 2)

    conversation(b, "Wanda").click()
    b.wait_text("Is my order on its way?", "[data-testid=message]")
    heading = b.find("#thread-heading")
    assert heading.text == "Wanda Whatsapp"
    b.wait_focus(heading)
    msgs = b.find_all("[data-testid=message]")
    assert [("msg-in" in m.get_attribute("class")) for m in msgs] == [True] * 3
    assert "Hello!\nIs my order on its way?" in msgs[0].text
    assert "<script>" in msgs[1].text and b.driver.title != "pwned"
    assert "Photo" in msgs[2].text and "The parcel" in msgs[2].text
    b.shot("inbox-thread")

    # New messages arrive without a reload.
    whatsapp_in(server, pnid, wanda, "Wanda Whatsapp",
                wh.whatsapp_text("Still there?"))
    b.wait_text("Still there?", "[data-testid=message]")

    # A reply: queued at once, on the right, with its tick; the draft
    # is cleared and the box keeps the focus for the next one.
    box = b.field("Reply")
    box.send_keys("On its way, arriving tomorrow.")
    b.click("Send")
    b.wait_text("On its way, arriving tomorrow.", ".msg-out")
    tick = b.find(".msg-out .tick")
    assert tick.get_attribute("aria-label") in ("Queued", "Sent")
    assert box.get_attribute("value") == ""
    b.wait_focus(box)
    b.wait_text("You: On its way", "[data-testid=conversation]")
    b.shot("inbox-reply")

    # Ours, sent from Meta's inbox: on the right, with its delivery tick.
    conversation(b, "Messenger").click()
    b.wait_text("We answered in Meta's inbox", ".msg-out")
    tick = b.find(".msg-out .tick")
    assert tick.get_attribute("aria-label") in ("Sent", "Delivered")


def test_inbox_on_a_phone_shows_one_pane_at_a_time(browser, server, fakes):
    b = browser(360, 740)
    _, pnid, _, _ = whatsapp_shop(b, fakes, "Pocket Inbox")
    whatsapp_in(server, pnid, "1555" + digits(7), "Phil Phone",
                wh.whatsapp_text("Can you see me on a phone?"))
    b.open("/inbox")
    conv = b.wait_for("[data-testid=conversation]")
    assert not b.find(".thread").is_displayed()
    conv.click()
    b.wait_text("Can you see me on a phone?", "[data-testid=message]")
    assert not b.find(".conv-list").is_displayed()
    assert b.driver.execute_script(
        "return document.documentElement.scrollWidth <= window.innerWidth")
    b.shot("mobile-inbox-thread")
    b.click("Back to conversations")
    b.wait_for("[data-testid=conversation]")


def test_search_unread_assign_close_and_reopen(browser, server, fakes):
    b = browser()
    owner, pnid, _, _ = whatsapp_shop(b, fakes, "Busy Shop", name="Ada Agent")
    whatsapp_in(server, pnid, "1555" + digits(7), "Ann Parcel",
                wh.whatsapp_text("Where is my parcel?"))
    whatsapp_in(server, pnid, "1555" + digits(7), "Bob Invoice",
                wh.whatsapp_text("Can I get an invoice?"))
    b.open("/inbox")
    b.wait.until(lambda d: len(b.find_all("[data-testid=conversation]")) == 2)
    b.wait_text("2", "[data-testid=unread-total]")
    filters = b.find(".conv-filters")

    # Search: names and message text.
    b.fill("Search", "parcel", filters)
    b.wait.until(lambda d: len(b.find_all("[data-testid=conversation]")) == 1)
    assert "Ann Parcel" in conversation(b, "Ann").text
    b.fill("Search", "zzz-nothing", filters)
    b.wait_text("No conversations match.")
    b.erase("Search", filters)
    b.wait.until(lambda d: len(b.find_all("[data-testid=conversation]")) == 2)

    # Unread only: reading Bob's conversation takes it off the list.
    b.check("Unread only", filters)
    conversation(b, "Bob").click()
    b.wait_text("Can I get an invoice?", "[data-testid=message]")
    b.wait.until(lambda d: len(b.find_all("[data-testid=conversation]")) == 1)
    assert "Ann Parcel" in b.find("[data-testid=conversation]").text
    b.wait_text("1", "[data-testid=unread-total]")
    b.check("Unread only", filters)

    # Assign Bob's conversation to oneself; the list filter finds it.
    head = b.find(".thread-head")
    b.choose("Assigned to", owner.me["user"]["id"], head)
    b.wait_text("→ Ada Agent", "[data-testid=conversation]")
    b.choose("Assigned to", "me", filters)
    b.wait.until(lambda d: len(b.find_all("[data-testid=conversation]")) == 1)
    assert "Bob Invoice" in b.find("[data-testid=conversation]").text

    # Close it: gone from the open ones, found among the closed.
    b.click("Close", head)
    b.button("Reopen", head)
    b.wait_text("Closed", ".thread-head")
    b.wait_text("No conversations match.")
    b.check("Closed", filters)
    b.wait_text("Bob Invoice", "[data-testid=conversation]")
    b.click("Reopen", head)
    b.button("Close", head)
    b.wait_text("No conversations match.")
    cv = owner.get("/api/v1/conversations?assignee_id=" +
                   owner.me["user"]["id"]).json()["data"]
    assert [c["status"] for c in cv] == ["open"]
