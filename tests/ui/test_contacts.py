"""Contacts: listed and searched, one opened and edited (display name,
tags, pinned, blocked), its conversations, and writing to it."""
import webhooks as wh
from test_inbox import digits, whatsapp_in, whatsapp_shop


def rows(b):
    return b.find_all("[data-testid=contact-row]")


def test_contacts_searched_edited_and_written_to(browser, server, fakes):
    b = browser()
    owner, pnid, _, _ = whatsapp_shop(b, fakes, "Contact Co")
    carla = "1555" + digits(7)
    whatsapp_in(server, pnid, carla, "Carla Customer",
                wh.whatsapp_text("Hi, it's Carla"))
    whatsapp_in(server, pnid, "1555" + digits(7), "Dan Other",
                wh.whatsapp_text("Hi, it's Dan"))

    b.open("/inbox")
    b.nav("Contacts")
    b.wait_heading("Contacts")
    b.wait.until(lambda d: len(rows(b)) == 2)
    assert carla in b.text()
    b.fill("Search contacts", "carla")
    b.wait.until(lambda d: len(rows(b)) == 1)
    assert "Carla Customer" in rows(b)[0].text
    b.fill("Search contacts", carla[-6:])
    b.wait.until(lambda d: len(rows(b)) == 1 and "Carla" in rows(b)[0].text)
    b.fill("Search contacts", "nobody-by-that-name")
    b.wait_text("No contacts match.")
    b.erase("Search contacts")
    b.wait.until(lambda d: len(rows(b)) == 2)
    b.shot("contacts")

    # Open Carla: name her, tag her, pin her.
    b.click("Carla Customer")
    b.wait_heading("Carla Customer")
    assert "WhatsApp" in b.text() and carla in b.text()
    b.fill("Display name", "Carla (wholesale)")
    b.fill("Tags", "vip, wholesale, vip")
    b.check("Pinned")
    b.click("Save")
    b.wait_text("Saved.", ".form-saved")
    b.wait_heading("Carla (wholesale)")
    c = owner.get("/api/v1/contacts?q=" + carla).json()["data"][0]
    assert c["display_name"] == "Carla (wholesale)"
    assert c["tags"] == ["vip", "wholesale"] and c["pinned"] is True
    assert c["blocked"] is False
    assert "“Carla Customer” on WhatsApp" in b.text()
    b.shot("contact")

    # Blocking is one more change, audited; nothing else is sent again.
    b.check("Blocked")
    b.click("Save")
    b.wait_text("Saved.", ".form-saved")
    b.wait_text("Blocked", ".tags")
    c = owner.get(f"/api/v1/contacts/{c['id']}").json()
    assert c["blocked"] is True and c["pinned"] is True
    actions = [e["action"] for e in
               owner.get("/api/v1/audit-log").json()["data"]]
    assert actions.count("contact_blocked") == 1
    assert "contact_unblocked" not in actions

    # The pinned filter, and the name the team gave her in the list.
    b.click("All contacts")
    b.wait_heading("Contacts")
    b.choose("Show", "pinned")
    b.wait.until(lambda d: len(rows(b)) == 1
                 and "Carla (wholesale)" in rows(b)[0].text)
    assert "Pinned" in rows(b)[0].text and "vip" in rows(b)[0].text

    # Her conversations lead to the inbox, under her new name.
    b.click("Carla (wholesale)")
    b.wait_heading("Carla (wholesale)")
    b.wait_for("[data-testid=contact-conversation] a").click()
    b.wait_text("Hi, it's Carla", "[data-testid=message]")
    assert b.find("#thread-heading").text == "Carla (wholesale)"

    # And back: write to her from her page.
    b.click("Contact details")
    b.wait_heading("Carla (wholesale)")
    b.click("Write to them")
    b.wait_for("#new-heading")
    assert b.field("To").get_attribute("value") == carla
    assert "To Carla (wholesale)" in b.text()
