// One conversation: who and where, the messages oldest to newest
// (grouped by day, in the viewer's time zone), older pages on request,
// and the composer's place. It refreshes every few seconds and stays
// scrolled to the newest message if the reader was there.
import { useEffect, useLayoutEffect, useRef, useState } from "preact/hooks";

import { ErrorState, Loading } from "../../components/States.jsx";
import { Notice } from "../../components/Notice.jsx";
import { api, query } from "../../lib/api.js";
import { formatDay, parseTime } from "../../lib/format.js";
import { useAction, usePoll, useResource } from "../../lib/hooks.js";
import { Composer } from "./Composer.jsx";
import { contactName, familyLabel } from "./labels.js";
import { Message } from "./Message.jsx";

const PAGE = 50;
const REFRESH_MS = 5000;

const CARE_WINDOW_MS = 24 * 3600 * 1000;

// pluginOf(name): an adapter of GET /plugins, for its capabilities.
export function Thread({ id, pluginOf, onSent }) {
  const conv = useResource(() => api.get(`/conversations/${id}`), [id]);
  const latest = useResource(() => api.get(`/conversations/${id}/messages` + query({ limit: PAGE })), [id]);
  const [older, setOlder] = useState({ items: [], next: undefined });
  const heading = useRef(null);
  const scroller = useRef(null);
  const atBottom = useRef(true);

  const more = useAction(async (cursor) => {
    const page = await api.get(`/conversations/${id}/messages` + query({ limit: PAGE, cursor }));
    atBottom.current = false;
    setOlder((o) => ({ items: [...o.items, ...page.data], next: page.next_cursor }));
  });
  usePoll(() => {
    latest.reload();
    conv.reload();
  }, REFRESH_MS);

  // A newly opened conversation: read from its heading.
  useEffect(() => {
    if (heading.current) heading.current.focus();
  }, [id]);

  const newest = (latest.data && latest.data.data) || [];
  const ids = new Set(newest.map((m) => m.id));
  // The API pages newest first; people read oldest first.
  const messages = [...older.items.filter((m) => !ids.has(m.id)), ...newest].reverse();
  const next = older.next !== undefined ? older.next : latest.data && latest.data.next_cursor;

  useLayoutEffect(() => {
    const el = scroller.current;
    if (el && atBottom.current) el.scrollTop = el.scrollHeight;
  }, [messages.length, latest.data]);

  const onScroll = (e) => {
    const el = e.currentTarget;
    atBottom.current = el.scrollHeight - el.scrollTop - el.clientHeight < 40;
  };

  const c = conv.data;
  const name = c ? contactName(c.contact) : "Conversation";
  return (
    <section class="thread" aria-labelledby="thread-heading">
      <header class="thread-head">
        <a class="btn btn-quiet back-link" href="#/inbox" aria-label="Back to conversations">
          ← Back
        </a>
        <div>
          <h2 id="thread-heading" tabIndex={-1} ref={heading}>
            {name}
          </h2>
          {c && (
            <p class="row-sub">
              {[
                c.channel && `${familyLabel(c.channel.family)} · ${c.channel.name}`,
                c.contact && c.contact.username && `@${c.contact.username}`,
                c.contact && c.contact.external_id,
                c.status === "closed" ? "Closed" : "Open",
              ]
                .filter(Boolean)
                .join(" · ")}
            </p>
          )}
        </div>
      </header>
      {conv.error && <ErrorState error={conv.error} onRetry={conv.reload} />}
      <div class="thread-body" ref={scroller} onScroll={onScroll} tabIndex={0} aria-label={`Messages with ${name}`}>
        {next && (
          <button type="button" class="btn load-older" onClick={() => more.run(next)}>
            {more.busy ? "Loading…" : "Load older messages"}
          </button>
        )}
        {more.error && <Notice kind="error">{more.error.message}</Notice>}
        {latest.error && <ErrorState error={latest.error} onRetry={latest.reload} />}
        {!latest.data && !latest.error && <Loading label="Loading messages…" />}
        {latest.data && messages.length === 0 && <p class="muted thread-empty">No messages in this conversation.</p>}
        {/* role="log": new messages from the refresh are read out politely. */}
        <ol class="messages" role="log" aria-label="Messages">
          {messages.map((m, i) => {
            const day = formatDay(m.at);
            const newDay = i === 0 || formatDay(messages[i - 1].at) !== day;
            return [
              newDay && (
                <li key={`day-${day}`} class="day">
                  <span>{day}</span>
                </li>
              ),
              <Message key={m.id} m={m} contact={name} />,
            ];
          })}
        </ol>
      </div>
      {c && (
        <Composer
          conversationId={id}
          careWindowClosed={careWindowClosed(c, pluginOf)}
          onSent={(m) => {
            // Shown at once, then as the server has it.
            atBottom.current = true;
            latest.setData((d) => (d && m && m.id ? { ...d, data: [m, ...d.data.filter((x) => x.id !== m.id)] } : d));
            latest.reload();
            onSent();
          }}
        />
      )}
    </section>
  );
}

// Whether the channel only takes templates now: its adapter keeps a
// customer-care window and the customer last wrote over 24 hours ago.
function careWindowClosed(conv, pluginOf) {
  const plugin = conv.channel && pluginOf(conv.channel.adapter);
  if (!plugin || !plugin.capabilities.includes("care_window")) return false;
  const last = parseTime(conv.last_inbound_at);
  return !last || Date.now() - last.getTime() > CARE_WINDOW_MS;
}
