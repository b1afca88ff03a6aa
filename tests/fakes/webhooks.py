"""Provider webhooks as Meta and 360dialog send them: build, serialize,
sign, post.

The payloads follow docs/providers.md (§1.3-1.6 WhatsApp, §3.2 Messenger,
§4.1 Instagram) so the app is tested against what arrives in production:
WhatsApp timestamps are strings of seconds, Messenger and Instagram ones
numbers of milliseconds; wamids contain "+", "/" and "="; bodies are
compact JSON with non-ASCII as \\uXXXX and "/" as "\\/", signed over
exactly those bytes.

    body = whatsapp_payload("106540352242922",
                            messages=[whatsapp_text("héllo/wörld")])
    status, answer = post(app_url + "/api/v1/webhooks/whatsapp_cloud",
                          body, app_secret="...")

Builders return plain dicts, so a test can add or break any field.
"""

import base64
import hashlib
import hmac
import json
import os
import secrets
import time
import urllib.error
import urllib.parse
import urllib.request

# Defaults match the demo accounts of providers.py (DEMO).
DEMO_WABA_ID = "102290129340398"
DEMO_DISPLAY_NUMBER = "15550783881"
DEMO_APP_ID = "1234567890123456"
USER_NUMBER = "15551230001"


def now_seconds():
    """WhatsApp's timestamp: a string of epoch seconds."""
    return str(int(time.time()))


def now_ms():
    """Messenger and Instagram timestamps: a number of epoch ms."""
    return int(time.time() * 1000)


def new_wamid():
    """A fresh WhatsApp message id.

    Real wamids are base64 and may hold "+", "/" and "=". Every fake one
    holds all three (the fixed middle bytes encode to "+/+/"), so code that
    mangles them (URL-decoding, JSON re-escaping, cutting at "/") fails on
    every test, not on one in a hundred.
    """
    raw = os.urandom(15) + b"\xfb\xff\xbf" + os.urandom(4)
    return "wamid.HBgL" + base64.b64encode(raw).decode()


def new_mid():
    """A Messenger message id ("m_..."). Instagram's are base64
    ("aWdf..."); pass mid= to use one."""
    return "m_" + secrets.token_urlsafe(60)


# --- the wire form -----------------------------------------------------------

def meta_json(payload):
    """The bytes Meta sends: compact JSON, non-ASCII as lowercase \\uXXXX
    (surrogate pairs above U+FFFF, which Python's ensure_ascii does) and
    "/" as "\\/". "/" only occurs inside JSON strings, where "\\/" is a
    valid escape, so a plain replace is exact."""
    text = json.dumps(payload, separators=(",", ":"), ensure_ascii=True)
    return text.replace("/", "\\/").encode("ascii")


def sign(body, app_secret):
    """X-Hub-Signature-256 value: sha256=<hex HMAC-SHA256(secret, body)>."""
    digest = hmac.new(app_secret.encode(), body, hashlib.sha256).hexdigest()
    return "sha256=" + digest


def post(url, payload, app_secret=None, headers=None, timeout=10):
    """POST a webhook; returns (status, response body bytes).

    payload: a dict (serialized with meta_json) or bytes sent as they are
    (to test odd encodings). app_secret adds X-Hub-Signature-256; headers
    are added last, so they can replace or spoil the signature.
    """
    body = payload if isinstance(payload, bytes) else meta_json(payload)
    sent = {"Content-Type": "application/json",
            "User-Agent": "facebookexternalua"}
    if app_secret is not None:
        sent["X-Hub-Signature-256"] = sign(body, app_secret)
    sent.update(headers or {})
    return _call(urllib.request.Request(url, body, sent, method="POST"),
                 timeout)


def post_d360(webhook, payload, timeout=10):
    """POST as 360dialog does: no Meta signature, the headers the app
    registered. webhook is {url, headers}, e.g. what
    FakeProviders.d360_webhook(api_key) returns."""
    return post(webhook["url"], payload, headers=webhook.get("headers"),
                timeout=timeout)


def verify(url, verify_token, challenge="1158201444", mode="subscribe",
           timeout=10):
    """Meta's verification GET (hub.mode, hub.verify_token,
    hub.challenge); returns (status, body bytes)."""
    query = urllib.parse.urlencode({"hub.mode": mode,
                                    "hub.verify_token": verify_token,
                                    "hub.challenge": challenge})
    sep = "&" if "?" in url else "?"
    return _call(urllib.request.Request(url + sep + query), timeout)


def _call(request, timeout):
    try:
        with urllib.request.urlopen(request, timeout=timeout) as answer:
            return answer.status, answer.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def merge(*payloads):
    """One POST carrying the entries of several payloads (several WABAs,
    numbers or Pages, i.e. several tenants), as Meta batches them."""
    return {"object": payloads[0]["object"],
            "entry": [e for p in payloads for e in p["entry"]]}


# --- WhatsApp (Cloud API and 360dialog) -------------------------------------

def whatsapp_payload(phone_number_id, messages=(), statuses=(), errors=(),
                     contacts=None, waba_id=DEMO_WABA_ID,
                     display_phone_number=DEMO_DISPLAY_NUMBER):
    """The messages-field webhook for one number: one entry, one change.

    contacts defaults to one profile per sender of messages (none for
    system messages or statuses). A message's context without "from"
    gets the business number, as Meta fills it.
    """
    value = {"messaging_product": "whatsapp",
             "metadata": {"display_phone_number": display_phone_number,
                          "phone_number_id": phone_number_id}}
    if contacts is None:
        contacts = _senders(messages)
    if contacts:
        value["contacts"] = list(contacts)
    if messages:
        value["messages"] = [_with_context_from(m, display_phone_number)
                             for m in messages]
    if statuses:
        value["statuses"] = list(statuses)
    if errors:
        value["errors"] = list(errors)
    return {"object": "whatsapp_business_account",
            "entry": [{"id": waba_id,
                       "changes": [{"value": value, "field": "messages"}]}]}


def whatsapp_contact(wa_id=USER_NUMBER, name="Test User", user_id=None,
                     username=None):
    """A value.contacts[] profile; wa_id=None for a username-only user
    (BSUID, providers.md §1.5)."""
    contact = {"profile": {"name": name}}
    if username:
        contact["profile"]["username"] = username
    if wa_id:
        contact["wa_id"] = wa_id
    if user_id:
        contact["user_id"] = user_id
    return contact


def _senders(messages):
    seen, out = set(), []
    for msg in messages:
        key = (msg.get("from"), msg.get("from_user_id"))
        if msg.get("type") != "system" and key not in seen:
            seen.add(key)
            out.append(whatsapp_contact(key[0], user_id=key[1]))
    return out


def _with_context_from(msg, business_number):
    if "context" in msg and "from" not in msg["context"]:
        msg = dict(msg, context=dict(msg["context"], **{"from":
                                                        business_number}))
    return msg


def whatsapp_message(type_, content=None, sender=USER_NUMBER, wamid=None,
                     timestamp=None, reply_to=None, from_user_id=None,
                     **extra):
    """One inbound messages[] item. sender=None with from_user_id gives
    a username-only (BSUID) sender; reply_to is the wamid replied to."""
    msg = {"from": sender, "id": wamid or new_wamid(),
           "timestamp": timestamp or now_seconds(), "type": type_}
    if sender is None:
        del msg["from"]
    if from_user_id:
        msg["from_user_id"] = from_user_id
    if reply_to:
        msg["context"] = {"id": reply_to}
    if content is not None:
        msg[type_] = content
    msg.update(extra)
    return msg


def whatsapp_text(body, **kw):
    """Inbound text."""
    return whatsapp_message("text", {"body": body}, **kw)


MEDIA_MIME = {"image": "image/jpeg", "video": "video/mp4",
              "audio": "audio/ogg; codecs=opus",
              "document": "application/pdf", "sticker": "image/webp"}


def whatsapp_media(kind, media_id=None, caption=None, filename=None,
                   voice=None, mime_type=None, **kw):
    """Inbound image/video/audio/document/sticker: a media id, no URL."""
    media = {"mime_type": mime_type or MEDIA_MIME[kind],
             "sha256": base64.b64encode(os.urandom(32)).decode(),
             "id": media_id or str(secrets.randbelow(10**16))}
    for name, value in (("caption", caption), ("filename", filename),
                        ("voice", voice)):
        if value is not None:
            media[name] = value
    if kind == "sticker":
        media["animated"] = False
    return whatsapp_message(kind, media, **kw)


def whatsapp_location(latitude, longitude, name=None, address=None, **kw):
    """Inbound location: latitude/longitude are JSON numbers."""
    loc = {"latitude": latitude, "longitude": longitude}
    if name:
        loc["name"] = name
    if address:
        loc["address"] = address
    return whatsapp_message("location", loc, **kw)


def whatsapp_button_reply(reply_id, title, reply_to, **kw):
    """A tap on one of our interactive reply buttons."""
    return whatsapp_message("interactive", {
        "type": "button_reply",
        "button_reply": {"id": reply_id, "title": title}},
        reply_to=reply_to, **kw)


def whatsapp_list_reply(reply_id, title, reply_to, description=None, **kw):
    """A pick from one of our interactive lists."""
    row = {"id": reply_id, "title": title}
    if description:
        row["description"] = description
    return whatsapp_message("interactive", {"type": "list_reply",
                                            "list_reply": row},
                            reply_to=reply_to, **kw)


def whatsapp_template_button(payload, text, reply_to, **kw):
    """A template quick-reply button: type "button", not "interactive"."""
    return whatsapp_message("button", {"payload": payload, "text": text},
                            reply_to=reply_to, **kw)


def whatsapp_reaction(message_id, emoji="\U0001f44d", **kw):
    """A reaction to message_id; emoji "" or None means it was removed
    (None leaves the key out, as some deliveries do)."""
    reaction = {"message_id": message_id}
    if emoji is not None:
        reaction["emoji"] = emoji
    return whatsapp_message("reaction", reaction, **kw)


def whatsapp_contacts_card(name="Jane Doe", phone="+1 555 123 0002", **kw):
    """A shared contact card (type "contacts", unlike value.contacts)."""
    first, _, last = name.partition(" ")
    card = {"name": {"formatted_name": name, "first_name": first,
                     "last_name": last},
            "phones": [{"phone": phone, "type": "CELL"}]}
    return whatsapp_message("contacts", [card], **kw)


def whatsapp_unsupported(**kw):
    """A message type the Cloud API does not pass on: still a user
    message (it opens the 24 h window)."""
    return whatsapp_message("unsupported", errors=[whatsapp_error(
        131051, "Message type unknown",
        "Message type is currently not supported.")], **kw)


def whatsapp_system(new_wa_id, body=None, kind="user_changed_number", **kw):
    """A system message (the payload then has no contacts)."""
    text = body or "User changed from %s to %s" % (
        kw.get("sender", USER_NUMBER), new_wa_id)
    return whatsapp_message("system", {"body": text, "wa_id": new_wa_id,
                                       "type": kind}, **kw)


def whatsapp_error(code, title, details):
    """An errors[] item, as in failed statuses and value.errors."""
    return {"code": code, "title": title, "message": title,
            "error_data": {"details": details},
            "href": "https://developers.facebook.com/docs/whatsapp/"
                    "cloud-api/support/error-codes/"}


def whatsapp_status(wamid, status, recipient_id=USER_NUMBER, timestamp=None,
                    errors=None, biz_opaque_callback_data=None):
    """A statuses[] item for a message we sent (sent, delivered, read,
    played, failed). failed defaults to error 131047 (24 h window)."""
    item = {"id": wamid, "status": status,
            "timestamp": timestamp or now_seconds(),
            "recipient_id": recipient_id}
    if biz_opaque_callback_data is not None:
        item["biz_opaque_callback_data"] = biz_opaque_callback_data
    if status == "failed":
        item["errors"] = errors or [whatsapp_error(
            131047, "Re-engagement message",
            "Message failed to send because more than 24 hours have passed "
            "since the customer last replied to this number.")]
        return item
    if status == "sent":
        item["conversation"] = {
            "id": secrets.token_hex(16),
            "expiration_timestamp": str(int(time.time()) + 86400),
            "origin": {"type": "service"}}
    item["pricing"] = {"billable": False, "pricing_model": "PMP",
                       "category": "service",
                       "type": "free_customer_service"}
    return item


# --- Messenger and Instagram -------------------------------------------------

def messenger_payload(page_id, *events, time_ms=None, standby=False):
    """object "page": one entry for page_id holding events (under
    "standby" when another app owns the thread)."""
    return _entry_payload("page", page_id, events, time_ms, standby)


def instagram_payload(ig_id, *events, time_ms=None):
    """object "instagram": one entry for the professional account."""
    return _entry_payload("instagram", ig_id, events, time_ms, False)


def _entry_payload(object_, account_id, events, time_ms, standby):
    return {"object": object_,
            "entry": [{"time": time_ms or now_ms(), "id": account_id,
                       "standby" if standby else "messaging": list(events)}]}


def event(account_id, user_id, key, content, timestamp=None, echo=False):
    """One messaging[] item: the user writes to the account, or for an
    echo the account (Page or IG account) is the sender."""
    sender, recipient = (account_id, user_id) if echo else (user_id,
                                                            account_id)
    return {"sender": {"id": sender}, "recipient": {"id": recipient},
            "timestamp": timestamp or now_ms(), key: content}


def attachment(kind, url, **payload):
    """A message attachment (image, video, audio, file, share,
    story_mention, ig_reel, ...); stickers are image with sticker_id."""
    return {"type": kind, "payload": dict(url=url, **payload)}


def message_event(account_id, user_id, text=None, attachments=None,
                  mid=None, quick_reply=None, reply_to=None, timestamp=None):
    """A user message to a Page or IG account. reply_to: a mid, or for
    Instagram story replies {"story": {"url", "id"}}."""
    message = {"mid": mid or new_mid()}
    if text is not None:
        message["text"] = text
    if attachments:
        message["attachments"] = list(attachments)
    if quick_reply is not None:
        message["quick_reply"] = {"payload": quick_reply}
    if reply_to is not None:
        message["reply_to"] = (reply_to if isinstance(reply_to, dict)
                               else {"mid": reply_to})
    return event(account_id, user_id, "message", message, timestamp)


def story_reply_event(ig_id, igsid, text, story_url, story_id, **kw):
    """An Instagram reply to our story (the CDN URL expires)."""
    return message_event(ig_id, igsid, text, reply_to={
        "story": {"url": story_url, "id": story_id}}, **kw)


def echo_event(account_id, user_id, text, app_id=DEMO_APP_ID, metadata=None,
               mid=None, timestamp=None):
    """A copy of what the account sent: never inbound. app_id=None for a
    message sent by a human in Meta's own inbox."""
    message = {"mid": mid or new_mid(), "is_echo": True, "text": text}
    if app_id is not None:
        message["app_id"] = int(app_id)
    if metadata is not None:
        message["metadata"] = metadata
    return event(account_id, user_id, "message", message, timestamp,
                 echo=True)


def postback_event(account_id, user_id, title, payload, mid=None,
                   timestamp=None):
    """A button tap (get started, template buttons, ice breakers)."""
    return event(account_id, user_id, "postback",
                 {"title": title, "payload": payload, "mid": mid or new_mid()},
                 timestamp)


def reaction_event(account_id, user_id, mid, emoji="\u2764", reaction="love",
                   action="react", timestamp=None):
    """A reaction to message mid; action "unreact" carries no emoji."""
    content = {"mid": mid, "action": action}
    if action == "react":
        content.update(reaction=reaction, emoji=emoji)
    return event(account_id, user_id, "reaction", content, timestamp)


def delivery_event(page_id, psid, mids=None, watermark=None, timestamp=None):
    """Messenger delivery: every message before watermark is delivered;
    mids may be absent."""
    content = {"watermark": watermark or now_ms()}
    if mids is not None:
        content = {"mids": list(mids), **content}
    return event(page_id, psid, "delivery", content, timestamp)


def messenger_read_event(page_id, psid, watermark=None, timestamp=None):
    """Messenger read: a watermark only."""
    return event(page_id, psid, "read", {"watermark": watermark or now_ms()},
                 timestamp)


def instagram_read_event(ig_id, igsid, mid, timestamp=None):
    """Instagram read (messaging_seen): the mid read."""
    return event(ig_id, igsid, "read", {"mid": mid}, timestamp)
