// Contacts: everyone who wrote to (or was written to by) the
// organization, one per person and network, newest first, searched by
// name, username or id and filtered (pinned, blocked), a page at a time.
// Each opens its page (Contact.jsx).
import { useState } from "preact/hooks";

import { Field } from "../components/Field.jsx";
import { Page } from "../components/Page.jsx";
import { Paged } from "../components/Paged.jsx";
import { SearchField } from "../components/SearchField.jsx";
import { EmptyState } from "../components/States.jsx";
import { useDebounced, usePaged } from "../lib/hooks.js";
import { contactName, familyLabel } from "./inbox/labels.js";

const PAGE = 50;

const SHOW = {
  all: {},
  pinned: { pinned: "true" },
  blocked: { blocked: "true" },
};

export function Contacts() {
  const [search, setSearch] = useState("");
  const [show, setShow] = useState("all");
  const q = useDebounced(search.trim());
  const filters = { q, ...SHOW[show], limit: PAGE };
  const paged = usePaged("/contacts", filters);

  return (
    <Page title="Contacts" intro="The people your team talks to, one per network. Open one to name, tag, pin or block them.">
      <div class="list-filters" role="search">
        <SearchField
          label="Search contacts"
          value={search}
          onSearch={setSearch}
          placeholder="Name, username, phone number or id"
        />
        <Field label="Show" as="select" value={show} onChange={(e) => setShow(e.currentTarget.value)}>
          <option value="all">Everyone</option>
          <option value="pinned">Pinned</option>
          <option value="blocked">Blocked</option>
        </Field>
      </div>
      <Paged
        paged={paged}
        moreLabel="Load more contacts"
        empty={
          <EmptyState title={q || show !== "all" ? "No contacts match." : "No contacts yet."}>
            {q || show !== "all" ? (
              <p>Try another search.</p>
            ) : (
              <p>People appear here when they write to a connected account, or when you write to them first.</p>
            )}
          </EmptyState>
        }
      >
        {(items) => (
          <ul class="rows" aria-label="Contacts" aria-busy={paged.first.loading ? "true" : undefined}>
            {items.map((c) => (
              <ContactRow key={c.id} contact={c} />
            ))}
          </ul>
        )}
      </Paged>
    </Page>
  );
}

function ContactRow({ contact }) {
  return (
    <li class="row" data-testid="contact-row">
      <div class="row-main">
        <a class="row-title" href={`#/contacts/${contact.id}`}>
          {contactName(contact)}
        </a>
        <p class="row-sub">{contactLine(contact)}</p>
      </div>
      <ContactBadges contact={contact} />
    </li>
  );
}

// Network, id and username, and the provider's name when the team
// calls them something else.
export function contactLine(c) {
  return [
    familyLabel(c.family),
    c.external_id,
    c.username && `@${c.username}`,
    c.display_name && c.name && c.name !== c.display_name && `“${c.name}” on ${familyLabel(c.family)}`,
  ]
    .filter(Boolean)
    .join(" · ");
}

export function ContactBadges({ contact }) {
  const tags = contact.tags || [];
  if (!contact.pinned && !contact.blocked && tags.length === 0) return null;
  return (
    <p class="tags">
      {contact.pinned && <span class="badge badge-admin">Pinned</span>}
      {contact.blocked && <span class="badge badge-revoked">Blocked</span>}
      {tags.map((t) => (
        <span key={t} class="badge tag">
          {t}
        </span>
      ))}
    </p>
  );
}
