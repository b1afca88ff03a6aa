// The conversation list: newest activity first, filtered by channel and
// status, a page at a time, refreshed every few seconds.
//
// Not here yet because the API has no way to ask for them: an unread
// filter (no read state per person) and search (no query parameter).
import { useEffect, useId, useState } from "preact/hooks";

import { EmptyState, ErrorState, Loading } from "../../components/States.jsx";
import { Notice } from "../../components/Notice.jsx";
import { Time } from "../../components/Time.jsx";
import { api, query } from "../../lib/api.js";
import { useAction, usePoll, useResource } from "../../lib/hooks.js";
import { contactName, familyLabel, preview } from "./labels.js";

const PAGE = 30;
const REFRESH_MS = 10000;

// refresh: changes when the list should load again at once.
export function ConversationList({ channels, selectedId, refresh }) {
  const [channelId, setChannelId] = useState("");
  const [status, setStatus] = useState("open");
  const filters = { status: status === "all" ? "" : status, channel_id: channelId, limit: PAGE };
  const first = useResource(() => api.get("/conversations" + query(filters)), [channelId, status]);
  const [older, setOlder] = useState({ key: "", items: [], next: undefined });
  const key = `${channelId}|${status}`;
  const more = useAction(async (cursor) => {
    const page = await api.get("/conversations" + query({ ...filters, cursor }));
    setOlder((o) => ({ key, items: [...(o.key === key ? o.items : []), ...page.data], next: page.next_cursor }));
  });
  usePoll(first.reload, REFRESH_MS);
  useEffect(() => {
    if (refresh) first.reload();
  }, [refresh]);

  const ids = new Set(((first.data && first.data.data) || []).map((c) => c.id));
  const olderItems = older.key === key ? older.items.filter((c) => !ids.has(c.id)) : [];
  const items = first.data ? [...first.data.data, ...olderItems] : [];
  const next = older.key === key && older.next !== undefined ? older.next : first.data && first.data.next_cursor;

  return (
    <section class="conv-list" aria-labelledby="conv-heading">
      <h2 id="conv-heading" class="visually-hidden">
        Conversations
      </h2>
      <Filters
        channels={channels}
        channelId={channelId}
        onChannel={setChannelId}
        status={status}
        onStatus={setStatus}
      />
      {first.error && <ErrorState error={first.error} onRetry={first.reload} />}
      {!first.data && !first.error && <Loading />}
      {first.data && items.length === 0 && (
        <EmptyState title={status === "closed" ? "No closed conversations." : "No conversations here yet."}>
          <p>New messages to your connected accounts appear here.</p>
        </EmptyState>
      )}
      {items.length > 0 && (
        <ul class="conversations" aria-labelledby="conv-heading">
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

function Filters({ channels, channelId, onChannel, status, onStatus }) {
  const id = useId();
  return (
    <div class="conv-filters">
      <div class="field">
        <label for={id}>Channel</label>
        <select id={id} value={channelId} onChange={(e) => onChannel(e.currentTarget.value)}>
          <option value="">All channels</option>
          {channels.map((ch) => (
            <option key={ch.id} value={ch.id}>
              {ch.name} ({familyLabel(ch.family)})
            </option>
          ))}
        </select>
      </div>
      <fieldset class="segmented">
        <legend>Status</legend>
        {[
          ["open", "Open"],
          ["closed", "Closed"],
          ["all", "All"],
        ].map(([value, label]) => (
          <label key={value} class={status === value ? "segment segment-on" : "segment"}>
            <input
              type="radio"
              name={`${id}-status`}
              value={value}
              checked={status === value}
              onChange={() => onStatus(value)}
            />
            {label}
          </label>
        ))}
      </fieldset>
    </div>
  );
}

function ConversationItem({ conv, selected }) {
  const last = conv.last_message;
  return (
    <li>
      <a
        class={selected ? "conv conv-selected" : "conv"}
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
        <span class="conv-preview">{preview(last)}</span>
        <span class="conv-channel">
          {conv.channel ? `${familyLabel(conv.channel.family)} · ${conv.channel.name}` : ""}
          {conv.status === "closed" && <span class="badge badge-muted">Closed</span>}
        </span>
      </a>
    </li>
  );
}
