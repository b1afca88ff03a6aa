// The conversation list: newest activity first, searched and filtered
// (channel, status, assignee, unread), a page at a time, kept fresh by
// the live stream. Each conversation shows its unread count; the channel
// filter shows each channel's.
import { useState } from "preact/hooks";

import { Field } from "../../components/Field.jsx";
import { Paged } from "../../components/Paged.jsx";
import { SearchField } from "../../components/SearchField.jsx";
import { Segmented } from "../../components/Segmented.jsx";
import { EmptyState } from "../../components/States.jsx";
import { Time } from "../../components/Time.jsx";
import { useDebounced, usePaged } from "../../lib/hooks.js";
import { touchesConversations, useLiveRefresh } from "../../lib/live.js";
import { useUnread } from "../../lib/unread.js";
import { contactName, familyLabel, preview } from "./labels.js";

const PAGE = 30;
const STATUSES = [
  ["open", "Open"],
  ["closed", "Closed"],
  ["all", "All"],
];

export function ConversationList({ channels, selectedId, composing }) {
  const [channelId, setChannelId] = useState("");
  const [status, setStatus] = useState("open");
  const [assignee, setAssignee] = useState("");
  const [unreadOnly, setUnreadOnly] = useState(false);
  const [search, setSearch] = useState("");
  const q = useDebounced(search.trim());
  const filters = {
    status: status === "all" ? "" : status,
    channel_id: channelId,
    assignee_id: assignee,
    unread: unreadOnly ? "true" : "",
    q,
    limit: PAGE,
  };
  const paged = usePaged("/conversations", filters);
  useLiveRefresh(paged.first.refresh, touchesConversations);
  const unread = useUnread();
  const filtered = Boolean(q || channelId || assignee || unreadOnly);

  return (
    <section class="conv-list" aria-labelledby="conv-heading">
      <div class="conv-list-head">
        <h2 id="conv-heading">Conversations</h2>
        <a
          class={composing ? "btn btn-primary btn-small conv-new-on" : "btn btn-primary btn-small"}
          href="#/inbox/new"
          aria-current={composing ? "page" : undefined}
        >
          New conversation
        </a>
      </div>
      <div class="conv-filters">
        <SearchField label="Search" value={search} onSearch={setSearch} placeholder="Name, number or message text" />
        <Field label="Channel" as="select" value={channelId} onChange={(e) => setChannelId(e.currentTarget.value)}>
          <option value="">All channels</option>
          {channels.map((ch) => {
            const n = unreadIn(unread, ch.id);
            return (
              <option key={ch.id} value={ch.id}>
                {ch.name} ({familyLabel(ch.family)}){n ? ` · ${n} unread` : ""}
              </option>
            );
          })}
        </Field>
        <Field label="Assigned to" as="select" value={assignee} onChange={(e) => setAssignee(e.currentTarget.value)}>
          <option value="">Anyone</option>
          <option value="me">Me</option>
          <option value="none">Nobody</option>
        </Field>
        <div class="conv-filter-row">
          <Segmented legend="Status" options={STATUSES} value={status} onChange={setStatus} />
          <label class="check">
            <input type="checkbox" checked={unreadOnly} onChange={(e) => setUnreadOnly(e.currentTarget.checked)} />
            Unread only
          </label>
        </div>
      </div>
      <Paged
        paged={paged}
        moreLabel="Load more conversations"
        empty={
          <EmptyState title={emptyTitle(status, filtered)}>
            {filtered ? (
              <p>Try other filters or another search.</p>
            ) : (
              <p>New messages to your connected accounts appear here.</p>
            )}
          </EmptyState>
        }
      >
        {(items) => (
          <ul class="conversations" aria-labelledby="conv-heading" aria-busy={paged.first.loading ? "true" : undefined}>
            {items.map((c) => (
              <ConversationItem key={c.id} conv={c} selected={c.id === selectedId} />
            ))}
          </ul>
        )}
      </Paged>
    </section>
  );
}

function emptyTitle(status, filtered) {
  if (filtered) return "No conversations match.";
  return status === "closed" ? "No closed conversations." : "No conversations here yet.";
}

// Conversations with unread messages in a channel (GET /conversations/unread).
function unreadIn(unread, channelId) {
  const c = unread && unread.channels.find((x) => x.channel_id === channelId);
  return c ? c.conversations : 0;
}

function ConversationItem({ conv, selected }) {
  const last = conv.last_message;
  const unread = conv.unread || 0;
  return (
    <li>
      <a
        class={`conv${selected ? " conv-selected" : ""}${unread ? " conv-unread" : ""}`}
        href={`#/inbox/${conv.id}`}
        aria-current={selected ? "page" : undefined}
        data-testid="conversation"
      >
        <span class="conv-top">
          <span class="conv-name">{contactName(conv.contact)}</span>
          <span class="conv-time">
            <Time iso={conv.last_message_at} relative />
          </span>
        </span>
        <span class="conv-line">
          <span class="conv-preview">{preview(last)}</span>
          {unread > 0 && (
            <span class="unread-count" data-testid="unread">
              {unread}
              <span class="visually-hidden"> unread</span>
            </span>
          )}
        </span>
        <span class="conv-channel">
          {conv.channel ? `${familyLabel(conv.channel.family)} · ${conv.channel.name}` : ""}
          {conv.assignee && <span class="conv-assignee">→ {conv.assignee.name}</span>}
          {conv.status === "closed" && <span class="badge badge-muted">Closed</span>}
        </span>
      </a>
    </li>
  );
}
