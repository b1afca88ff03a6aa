// Writing to someone first (#/inbox/new, or #/inbox/new?contact=ID from
// a contact): a channel, the recipient's id on it, and the message, sent
// with POST /messages. The server finds or creates the contact and puts
// the message in their open conversation on that channel, or a new one,
// which then opens. On WhatsApp, someone who has not written in the last
// 24 hours can only be sent a template, so that is offered first there.
import { useEffect, useRef, useState } from "preact/hooks";

import { Field } from "../../components/Field.jsx";
import { ErrorState, Loading } from "../../components/States.jsx";
import { Notice } from "../../components/Notice.jsx";
import { api } from "../../lib/api.js";
import { useResource } from "../../lib/hooks.js";
import { useLive } from "../../lib/live.js";
import { hashQuery, navigate } from "../../lib/router.js";
import { Composer } from "./Composer.jsx";
import { ThreadHead } from "./ThreadHead.jsx";
import { RECIPIENT_HINTS, contactName, familyLabel } from "./labels.js";

const SENDS = ["text", "template", "media"];

export function NewConversation({ channels, pluginOf }) {
  const contactId = hashQuery().get("contact");
  const contact = useResource(() => (contactId ? api.get(`/contacts/${contactId}`) : Promise.resolve(null)), [contactId]);
  const heading = useRef(null);
  useEffect(() => {
    if (heading.current) heading.current.focus();
  }, []);

  let body;
  if (contact.data === undefined) {
    body = contact.error ? <ErrorState error={contact.error} onRetry={contact.reload} /> : <Loading />;
  } else {
    body = <Recipient key={contactId || ""} channels={channels} pluginOf={pluginOf} contact={contact.data} />;
  }
  return (
    <section class="thread new-conversation" aria-labelledby="new-heading">
      <ThreadHead
        id="new-heading"
        title="New conversation"
        headingRef={heading}
        sub={contact.data && <p class="row-sub">To {contactName(contact.data)}</p>}
      />
      {/* One scrolling column: the recipient, then the message. */}
      <div class="new-conversation-body">{body}</div>
    </section>
  );
}

function Recipient({ channels, pluginOf, contact }) {
  const live = useLive();
  const usable = channels.filter((ch) => {
    const plugin = pluginOf(ch.adapter);
    return (
      ch.status === "connected" &&
      plugin &&
      plugin.capabilities.some((c) => SENDS.includes(c)) &&
      (!contact || ch.family === contact.family)
    );
  });
  const [channelId, setChannelId] = useState(usable.length ? usable[0].id : "");
  const [to, setTo] = useState(contact ? contact.external_id : "");
  const channel = usable.find((ch) => ch.id === channelId);
  const plugin = channel && pluginOf(channel.adapter);

  if (usable.length === 0) {
    return (
      <div class="new-conversation-fields">
        <Notice kind="info">
          {contact
            ? `No connected ${familyLabel(contact.family)} account can write to ${contactName(contact)}.`
            : "No connected account can send messages."}{" "}
          Accounts are connected in <a href="#/settings/socials">Settings › Socials</a>.
        </Notice>
      </div>
    );
  }
  return (
    <>
      <div class="new-conversation-fields">
        <Field label="From" as="select" value={channelId} onChange={(e) => setChannelId(e.currentTarget.value)}>
          {usable.map((ch) => (
            <option key={ch.id} value={ch.id}>
              {ch.name} ({familyLabel(ch.family)})
            </option>
          ))}
        </Field>
        <Field
          label="To"
          value={to}
          required
          autocomplete="off"
          spellcheck={false}
          hint={RECIPIENT_HINTS[channel.family] || "Their id on this channel."}
          onInput={(e) => setTo(e.currentTarget.value)}
        />
        {plugin && plugin.capabilities.includes("care_window") && (
          <p class="hint">
            {plugin.capabilities.includes("template")
              ? "Unless they wrote in the last 24 hours, WhatsApp only delivers a template to them."
              : "This network only lets you write to people who wrote to you in the last 24 hours."}
          </p>
        )}
      </div>
      <Composer
        key={channelId}
        path="/messages"
        extra={{ channel_id: channelId, to: to.trim() }}
        plugin={plugin}
        preferred="template"
        channelId={channelId}
        careWindowClosed={false}
        label="Message"
        onSent={(m) => {
          if (live) live.publish({ kind: "message", conversation_id: m.conversation_id, message_id: m.id });
          navigate(`/inbox/${m.conversation_id}`);
        }}
      />
    </>
  );
}
