// The conversation list: newest activity first, searched and filtered
// (channel, status, assignee, unread), a page at a time, kept fresh by
// the live stream. Each conversation shows its unread count; the channel
// filter shows each channel's.
import { useId, useState } from "preact/hooks";

import { EmptyState, ErrorState, Loading } from "../../components/States.jsx";
import { Notice } from "../../components/Notice.jsx";
import { Time } from "../../components/Time.jsx";
import { useDebounced, usePaged } from "../../lib/hooks.js";
import { touchesConversations, useLiveRefresh } from "../../lib/live.js";
import { useUnread } from "../../lib/unread.js";
import { contactName, familyLabel, preview } from "./labels.js";

const PAGE = 30;

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
  const { first, items, next, more } = usePaged("/conversations", filters);
  useLiveRefresh(first.reload, touchesConversations);
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
        <SearchBox value={search} onInput={setSearch} />
        <ChannelFilter channels={channels} value={channelId} onChange={setChannelId} unread={unread} />
        <AssigneeFilter value={assignee} onChange={setAssignee} />
        <div class="conv-filter-row">
          <StatusFilter value={status} onChange={setStatus} />
          <label class="check">
            <input type="checkbox" checked={unreadOnly} onChange={(e) => setUnreadOnly(e.currentTarget.checked)} />
            Unread only
          </label>
        </div>
      </div>
      {first.error && <ErrorState error={first.error} onRetry={first.reload} />}
      {!first.data && !first.error && <Loading />}
      {first.data && items.length === 0 && (
        <EmptyState title={emptyTitle(status, filtered)}>
          {filtered ? <p>Try other filters or another search.</p> : <p>New messages to your connected accounts appear here.</p>}
        </EmptyState>
      )}
      {items.length > 0 && (
        <ul class="conversations" aria-labelledby="conv-heading" aria-busy={first.loading ? "true" : undefined}>
          {items.map((c) => (
            <ConversationItem key={c.id} conv={c} selected={c.id === selectedId} />
          ))}
        </ul>
      )}
      {more.error && <Notice kind="error">{more.error.message}</Notice>}
      {next && (
        <button type="button" class="btn load-more" onClick={() => more.run(next)}>
          {more.busy ? "Loading…" : "Load more conversations"}
        </button>
      )}
    </section>
  );
}

function emptyTitle(status, filtered) {
  if (filtered) return "No conversations match.";
  return status === "closed" ? "No closed conversations." : "No conversations here yet.";
}

function SearchBox({ value, onInput }) {
  const id = useId();
  return (
    <div class="field conv-search">
      <label for={id}>Search</label>
      <input
        id={id}
        type="search"
        value={value}
        maxLength={200}
        placeholder="Name, number or message text"
        onInput={(e) => onInput(e.currentTarget.value)}
      />
    </div>
  );
}

function ChannelFilter({ channels, value, onChange, unread }) {
  const id = useId();
  const countOf = (chId) => {
    const c = unread && unread.channels.find((x) => x.channel_id === chId);
    return c ? c.conversations : 0;
  };
  return (
    <div class="field">
      <label for={id}>Channel</label>
      <select id={id} value={value} onChange={(e) => onChange(e.currentTarget.value)}>
        <option value="">All channels</option>
        {channels.map((ch) => {
          const n = countOf(ch.id);
          return (
            <option key={ch.id} value={ch.id}>
              {ch.name} ({familyLabel(ch.family)}){n ? ` · ${n} unread` : ""}
            </option>
          );
        })}
      </select>
    </div>
  );
}

function AssigneeFilter({ value, onChange }) {
  const id = useId();
  return (
    <div class="field">
      <label for={id}>Assigned to</label>
      <select id={id} value={value} onChange={(e) => onChange(e.currentTarget.value)}>
        <option value="">Anyone</option>
        <option value="me">Me</option>
        <option value="none">Nobody</option>
      </select>
    </div>
  );
}

function StatusFilter({ value, onChange }) {
  const id = useId();
  return (
    <fieldset class="segmented">
      <legend>Status</legend>
      {[
        ["open", "Open"],
        ["closed", "Closed"],
        ["all", "All"],
      ].map(([v, label]) => (
        <label key={v} class={value === v ? "segment segment-on" : "segment"}>
          <input type="radio" name={`${id}-status`} value={v} checked={value === v} onChange={() => onChange(v)} />
          {label}
        </label>
      ))}
    </fieldset>
  );
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
