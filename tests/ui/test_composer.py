"""The composer beyond text: WhatsApp templates (picked from the channel's
list, or typed by hand when the list cannot be had), media by link, and
new conversations. Sends go through a real dispatcher to the fake
provider, whose received request is checked."""
import pytest

import webhooks as wh
from test_inbox import digits, whatsapp_in, whatsapp_shop

TEMPLATES = {"data": [
    {"id": "1001", "name": "order_update", "language": "en_US",
     "status": "APPROVED", "category": "UTILITY", "components": [
         {"type": "HEADER", "format": "TEXT", "text": "Order {{1}}",
          "example": {"header_text": ["7781"]}},
         {"type": "BODY",
          "text": "Hi {{1}}, your order {{2}} ships today.",
          "example": {"body_text": [["Ann", "7781"]]}},
         {"type": "FOOTER", "text": "Reply STOP to opt out"}]},
    {"id": "1002", "name": "spring_sale", "language": "en_US",
     "status": "PENDING", "category": "MARKETING", "components": [
         {"type": "BODY", "text": "Spring sale!"}]},
    {"id": "1003", "name": "hello", "language": "de", "status": "APPROVED",
     "category": "UTILITY", "components": [
         {"type": "BODY", "text": "Hallo {{first_name}}!",
          "example": {"body_text_named_params": [
              {"param_name": "first_name", "example": "Anna"}]}}]},
], "paging": {"cursors": {"before": "QVFI", "after": "QVFJ"}}}


def two_days_ago():
    return str(int(wh.now_seconds()) - 2 * 86400)


def open_conversation(b, text):
    b.open("/inbox")
    b.wait_for("[data-testid=conversation]").click()
    b.wait_text(text, "[data-testid=message]")


def sent_to(fakes, pnid, count=1):
    """The JSON bodies of the last `count` sends of number pnid."""
    reqs = fakes.wait_for(count, path=rf"/{pnid}/messages$", method="POST",
                          timeout=15)
    return [r.json() for r in reqs[-count:]]


@pytest.fixture
def rules(fakes):
    made = []
    yield lambda *a, **kw: made.append(fakes.program(*a, **kw))
    for rule in made:
        fakes.cancel(rule)


def test_outside_the_window_a_template_is_picked_and_filled(
        browser, server, fakes, dispatcher, rules):
    b = browser()
    owner, pnid, waba, ch = whatsapp_shop(b, fakes, "Template Shop")
    rules("GET", rf"/{waba}/message_templates$", status=200, body=TEMPLATES,
          times=None)
    r = owner.get(f"/api/v1/channels/{ch['id']}/templates")
    if r.status_code == 404 and r.json()["error"] == "No such endpoint":
        pytest.skip("GET /channels/{id}/templates is not on this server")
    assert r.status_code == 200, r.text

    customer = "1555" + digits(7)
    whatsapp_in(server, pnid, customer, "Old Olga", wh.whatsapp_text(
        "Hello from the day before yesterday", timestamp=two_days_ago()))
    open_conversation(b, "Hello from the day before yesterday")

    # Only templates go now; the approved ones are offered.
    b.wait_text("more than 24 hours ago", ".composer")
    assert not b.find_all(".composer textarea")
    assert not b.find_all(".composer-modes")
    picker = b.wait_for("form[aria-label='Template message']")
    names = [o.text for o in b.find_all("option", b.field("Template", picker))]
    assert names == ["order_update (en_US) · utility", "hello (de) · utility"]
    assert "1 more are waiting for approval" in picker.text

    # Its variables, with Meta's examples as hints and a live preview.
    b.fill("Header {{1}}", "A-7781", picker)
    b.fill("Body {{1}}", "Olga", picker)
    b.fill("Body {{2}}", "A-7781", picker)
    assert "For example: Ann" in picker.text
    preview = b.find("[data-testid=template-preview]").text
    assert "Order A-7781" in preview
    assert "Hi Olga, your order A-7781 ships today." in preview
    assert "Reply STOP to opt out" in preview
    b.shot("inbox-template")
    b.click("Send template", picker)
    b.wait_text("order_update", ".msg-out")

    [sent] = sent_to(fakes, pnid)
    assert sent["to"] == customer and sent["type"] == "template"
    assert sent["template"] == {
        "name": "order_update", "language": {"code": "en_US"},
        "components": [
            {"type": "header", "parameters": [
                {"type": "text", "text": "A-7781"}]},
            {"type": "body", "parameters": [
                {"type": "text", "text": "Olga"},
                {"type": "text", "text": "A-7781"}]}]}

    # Named variables carry their names.
    b.choose("Template", "hello|de", picker)
    b.fill("Body {{first_name}}", "Olga", picker)
    assert "Hallo Olga!" in b.find("[data-testid=template-preview]").text
    b.click("Send template", picker)
    [sent] = sent_to(fakes, pnid, 2)[1:]
    assert sent["template"]["components"] == [{"type": "body", "parameters": [
        {"type": "text", "parameter_name": "first_name", "text": "Olga"}]}]


def test_a_template_by_hand_when_the_list_cannot_be_had(
        browser, server, fakes, dispatcher, rules):
    b = browser()
    owner, pnid, waba, ch = whatsapp_shop(b, fakes, "Manual Templates")
    rules("GET", rf"/{waba}/message_templates$", status=500,
          body={"error": {"message": "An unknown error occurred",
                          "type": "OAuthException", "code": 1}}, times=None)
    customer = "1555" + digits(7)
    whatsapp_in(server, pnid, customer, "Late Larry", wh.whatsapp_text(
        "Are you open on Sunday?", timestamp=two_days_ago()))
    open_conversation(b, "Are you open on Sunday?")

    note = b.wait_for("[data-testid=templates-unavailable]")
    assert ("Couldn't load the channel's templates" in note.text
            or "cannot list the channel's templates" in note.text)
    form = b.wait_for("form[aria-label='Template message by hand']")
    b.fill("Template name", "opening_hours", form)
    b.fill("Language", "en_GB", form)
    b.fill("Body values", "Larry\nSunday 10-14", form)
    b.click("Send template", form)
    b.wait_text("opening_hours", ".msg-out")
    assert b.field("Template name", form).get_attribute("value") == ""

    [sent] = sent_to(fakes, pnid)
    assert sent["template"] == {
        "name": "opening_hours", "language": {"code": "en_GB"},
        "components": [{"type": "body", "parameters": [
            {"type": "text", "text": "Larry"},
            {"type": "text", "text": "Sunday 10-14"}]}]}


def test_media_by_link(browser, server, fakes, dispatcher):
    b = browser()
    _, pnid, _, _ = whatsapp_shop(b, fakes, "Media Shop")
    customer = "1555" + digits(7)
    whatsapp_in(server, pnid, customer, "Mia Media",
                wh.whatsapp_text("Can you send the invoice?"))
    open_conversation(b, "Can you send the invoice?")

    modes = b.wait_for(".composer-modes")
    assert [m.text for m in b.find_all("label", modes)] == \
        ["Text", "Template", "Media"]
    b.check("Media", modes)
    form = b.wait_for("form[aria-label='Media by link']")
    b.choose("Kind", "document", form)
    b.fill("Link", "https://files.example.com/invoice-77.pdf", form)
    b.fill("Caption", "Your invoice", form)
    b.fill("File name", "invoice-77.pdf", form)
    b.shot("inbox-media")
    b.click("Send document", form)
    b.wait_text("invoice-77.pdf", ".msg-out")

    # Audio takes no caption: the field goes away.
    b.choose("Kind", "audio", form)
    assert not b.find_all("input[name=caption]", form)
    b.fill("Link", "https://files.example.com/hello.ogg", form)
    b.click("Send audio", form)

    doc, audio = sent_to(fakes, pnid, 2)
    assert doc["type"] == "document" and doc["to"] == customer
    assert doc["document"] == {
        "link": "https://files.example.com/invoice-77.pdf",
        "caption": "Your invoice", "filename": "invoice-77.pdf"}
    assert audio["type"] == "audio"
    assert audio["audio"] == {"link": "https://files.example.com/hello.ogg"}

    # A link that is not one is refused before anything is queued.
    b.choose("Kind", "image", form)
    b.fill("Link", "ftp://files.example.com/cat.jpg", form)
    b.click("Send photo", form)
    b.wait_text("http or https", "form[aria-label='Media by link']")
    assert len(fakes.requests(path=rf"/{pnid}/messages$")) == 2


def test_a_new_conversation_from_the_inbox(browser, server, fakes,
                                          dispatcher):
    b = browser()
    _, pnid, _, _ = whatsapp_shop(b, fakes, "Outreach", channel="Sales line")
    b.open("/inbox")
    b.wait_text("No conversations here yet.")
    b.click("New conversation")
    b.wait_path("/inbox/new")
    heading = b.wait_for("#new-heading")
    b.wait_focus(heading)
    number = "+1555" + digits(7)
    b.fill("To", number)
    b.shot("inbox-new-conversation")

    # Text first: WhatsApp refuses it to someone who never wrote.
    modes = b.wait_for(".composer-modes")
    b.check("Text", modes)
    b.field("Message").send_keys("Hello from the shop!")
    b.click("Send")
    b.wait_text("only template messages can be sent",
                ".composer .notice-error")

    # A template starts it, and the new conversation opens.
    b.check("Template", modes)
    form = b.wait_for(".composer form[aria-label^='Template message']")
    if form.get_attribute("aria-label") == "Template message by hand":
        b.fill("Template name", "hello_world", form)
        b.fill("Language", "en_US", form)
    else:
        b.choose("Template", b.find("option", form).get_attribute("value"),
                 form)
    b.click("Send template", form)
    b.wait.until(lambda d: b.path().startswith("/inbox/")
                 and b.path() != "/inbox/new")
    b.wait_text("You:", "[data-testid=conversation]")
    b.wait_for(".msg-out")
    [sent] = sent_to(fakes, pnid)
    assert sent["to"].lstrip("+") == number.lstrip("+")
    assert sent["type"] == "template"
