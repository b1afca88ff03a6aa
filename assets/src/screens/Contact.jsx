// One contact (#/contacts/ID): who they are on their network, what the
// team calls them and tags them with, pinned and blocked (PATCH
// /contacts/{id}), their conversations, and writing to them.
import { useState } from "preact/hooks";

import { Field } from "../components/Field.jsx";
import { Form } from "../components/Form.jsx";
import { Page } from "../components/Page.jsx";
import { Paged } from "../components/Paged.jsx";
import { EmptyState, Resource } from "../components/States.jsx";
import { Time } from "../components/Time.jsx";
import { api } from "../lib/api.js";
import { useAction, usePaged, useResource } from "../lib/hooks.js";
import { ContactBadges, contactLine } from "./Contacts.jsx";
import { contactName, familyLabel, preview } from "./inbox/labels.js";

export function Contact({ params }) {
  const contact = useResource(() => api.get(`/contacts/${params.id}`), [params.id]);
  const c = contact.data;
  return (
    <Page
      title={c ? contactName(c) : "Contact"}
      intro={c ? contactLine(c) : undefined}
      actions={
        <>
          <a class="btn" href="#/contacts">
            All contacts
          </a>
          {c && (
            <a class="btn btn-primary" href={`#/inbox/new?contact=${c.id}`}>
              Write to them
            </a>
          )}
        </>
      }
    >
      <Resource res={contact}>
        {(data) => (
          <>
            <ContactBadges contact={data} />
            <dl class="facts facts-compact contact-facts">
              <div class="fact">
                <dt>Network</dt>
                <dd>{familyLabel(data.family)}</dd>
              </div>
              <div class="fact">
                <dt>Id on the network</dt>
                <dd>
                  <code>{data.external_id}</code>
                </dd>
              </div>
              {data.username && (
                <div class="fact">
                  <dt>Username</dt>
                  <dd>@{data.username}</dd>
                </div>
              )}
              <div class="fact">
                <dt>Their profile name</dt>
                <dd>{data.name || "—"}</dd>
              </div>
              <div class="fact">
                <dt>First seen</dt>
                <dd>
                  <Time iso={data.created_at} />
                </dd>
              </div>
            </dl>
            <ContactForm contact={data} onSaved={(u) => contact.setData(u)} />
            <ContactConversations contactId={data.id} />
          </>
        )}
      </Resource>
    </Page>
  );
}

function ContactForm({ contact, onSaved }) {
  const [saved, setSaved] = useState(false);
  const save = useAction(async (values) => {
    const name = (values.display_name || "").trim() || null;
    const tags = [...new Set(String(values.tags || "").split(",").map((t) => t.trim()).filter(Boolean))];
    const wanted = { display_name: name, tags, pinned: values.pinned === "on", blocked: values.blocked === "on" };
    // Only what changed: blocking and unblocking are audited.
    const patch = {};
    for (const [k, v] of Object.entries(wanted)) {
      const was = k === "display_name" ? contact.display_name || null : contact[k];
      if (JSON.stringify(v) !== JSON.stringify(k === "tags" ? [...(was || [])] : was)) patch[k] = v;
    }
    const updated = Object.keys(patch).length ? await api.patch(`/contacts/${contact.id}`, patch) : contact;
    onSaved(updated);
    setSaved(true);
  });
  return (
    <section aria-labelledby="contact-edit-heading">
      <h2 id="contact-edit-heading">Details</h2>
      <Form
        action={save}
        submitLabel="Save"
        busyLabel="Saving…"
        class="narrow"
        secondary={
          <span class="form-saved" role="status">
            {saved ? "Saved." : ""}
          </span>
        }
        onInput={() => setSaved(false)}
      >
        <Field
          label="Display name"
          name="display_name"
          maxLength={200}
          defaultValue={contact.display_name || ""}
          placeholder={contact.name || ""}
          hint="What your team calls them. Leave empty to use their own profile name."
        />
        <Field
          label="Tags"
          name="tags"
          defaultValue={(contact.tags || []).join(", ")}
          hint="Separated by commas, e.g. vip, wholesale. At most 50, of up to 50 characters each."
        />
        <CheckField
          label="Pinned"
          name="pinned"
          checked={contact.pinned}
          hint="Pinned contacts can be listed on their own in Contacts."
        />
        <CheckField
          label="Blocked"
          name="blocked"
          checked={contact.blocked}
          hint="Their messages are still kept, but no longer open a conversation or count as unread."
        />
      </Form>
    </section>
  );
}

function CheckField({ label, name, checked, hint }) {
  const id = `contact-${name}`;
  return (
    <div class="field field-check">
      <label class="check" for={id}>
        <input id={id} type="checkbox" name={name} defaultChecked={checked} aria-describedby={`${id}-hint`} />
        {label}
      </label>
      <p class="hint" id={`${id}-hint`}>
        {hint}
      </p>
    </div>
  );
}

function ContactConversations({ contactId }) {
  const paged = usePaged("/conversations", { contact_id: contactId, limit: 20 });
  return (
    <section aria-labelledby="contact-conv-heading">
      <h2 id="contact-conv-heading">Conversations</h2>
      <Paged
        paged={paged}
        moreLabel="Load more conversations"
        empty={<EmptyState title="No conversations with them yet." />}
      >
        {(items) => (
          <ul class="rows" aria-labelledby="contact-conv-heading">
            {items.map((cv) => (
              <li class="row" key={cv.id} data-testid="contact-conversation">
                <div class="row-main">
                  <a class="row-title" href={`#/inbox/${cv.id}`}>
                    {cv.channel ? `${familyLabel(cv.channel.family)} · ${cv.channel.name}` : "Conversation"}
                    {cv.status === "closed" && <span class="badge badge-muted">Closed</span>}
                  </a>
                  <p class="row-text">{preview(cv.last_message)}</p>
                </div>
                <span class="row-sub">
                  <Time iso={cv.last_message_at} relative />
                </span>
              </li>
            ))}
          </ul>
        )}
      </Paged>
    </section>
  );
}
