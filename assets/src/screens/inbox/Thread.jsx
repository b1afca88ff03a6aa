// One conversation: who and where, who it is assigned to, close and
// reopen, the messages oldest to newest (grouped by day, in the viewer's
// time zone), older pages on request, and the composer. The live stream
// brings its new messages and status changes; it stays scrolled to the
// newest message if the reader was there. What the reader has seen is
// marked read (per person) while the page is visible.
import { useEffect, useLayoutEffect, useRef, useState } from "preact/hooks";

import { Field } from "../../components/Field.jsx";
import { ErrorState, Loading } from "../../components/States.jsx";
import { Notice } from "../../components/Notice.jsx";
import { api, query } from "../../lib/api.js";
import { formatDay, parseTime } from "../../lib/format.js";
import { announce, useAction, useResource } from "../../lib/hooks.js";
import { useLive, useLiveRefresh } from "../../lib/live.js";
import { Composer } from "./Composer.jsx";
import { contactName, familyLabel } from "./labels.js";
import { Message } from "./Message.jsx";
import { ThreadHead } from "./ThreadHead.jsx";

const PAGE = 50;

const CARE_WINDOW_MS = 24 * 3600 * 1000;

// pluginOf(name): an adapter of GET /plugins, for its capabilities;
// members: GET /members's list, for assigning (null: not offered).
export function Thread({ id, pluginOf, members }) {
  const live = useLive();
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
  useLiveRefresh(
    () => {
      latest.refresh();
      conv.refresh();
    },
    (ev) => ev.conversation_id === id && ev.kind !== "channel",
  );

  // A newly opened conversation: read from its heading.
  useEffect(() => {
    if (heading.current) heading.current.focus();
  }, [id]);

  // Read marks: whenever it shows unread messages to someone looking.
  const unread = conv.data ? conv.data.unread : 0;
  useEffect(() => {
    if (!unread) return undefined;
    let done = false;
    const mark = async () => {
      if (done || document.visibilityState !== "visible") return;
      done = true;
      try {
        conv.setData(await api.post(`/conversations/${id}/read`));
        if (live) live.publish({ kind: "conversation", conversation_id: id });
      } catch {
        /* not fatal: it stays unread, and is marked next time */
      }
    };
    mark();
    document.addEventListener("visibilitychange", mark);
    return () => document.removeEventListener("visibilitychange", mark);
  }, [id, unread, latest.data]);

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
  const plugin = c && c.channel && pluginOf(c.channel.adapter);
  return (
    <section class="thread" aria-labelledby="thread-heading">
      <ThreadHead
        id="thread-heading"
        title={name}
        headingRef={heading}
        sub={
          c && (
            <p class="row-sub">
              {[
                c.channel && `${familyLabel(c.channel.family)} · ${c.channel.name}`,
                c.contact && c.contact.username && `@${c.contact.username}`,
                c.contact && c.contact.external_id,
                c.status === "closed" ? "Closed" : "Open",
              ]
                .filter(Boolean)
                .join(" · ")}
              {c.contact && (
                <>
                  {" · "}
                  <a href={`#/contacts/${c.contact.id}`}>Contact details</a>
                </>
              )}
            </p>
          )
        }
      >
        {c && (
          <ConversationActions
            conv={c}
            members={members}
            onChanged={(u) => {
              conv.setData(u);
              if (live) live.publish({ kind: "conversation", conversation_id: id });
            }}
          />
        )}
      </ThreadHead>
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
        {/* role="log": new messages from the live stream are read out politely. */}
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
          key={c.channel ? c.channel.id : ""}
          path={`/conversations/${id}/messages`}
          plugin={plugin}
          channelId={c.channel && c.channel.id}
          careWindowClosed={careWindowClosed(c, plugin)}
          onSent={(m) => {
            // Shown at once, then as the server has it.
            atBottom.current = true;
            latest.setData((d) => (d && m && m.id ? { ...d, data: [m, ...d.data.filter((x) => x.id !== m.id)] } : d));
            if (live) live.publish({ kind: "message", conversation_id: id, message_id: m && m.id });
          }}
        />
      )}
    </section>
  );
}

// Assign to a member (or nobody), close, reopen: PATCH /conversations/{id}.
function ConversationActions({ conv, members, onChanged }) {
  const change = useAction(async (patch, done) => {
    const updated = await api.patch(`/conversations/${conv.id}`, patch);
    onChanged(updated);
    announce(done(updated));
  });
  const assigneeId = conv.assignee ? conv.assignee.id : "";
  const closed = conv.status === "closed";
  // Someone assigned who is no longer in the list is still shown.
  const options = members ? [...members] : [];
  if (conv.assignee && !options.some((m) => m.id === assigneeId)) options.push(conv.assignee);
  return (
    <div class="thread-actions">
      {members && (
        <Field
          label="Assigned to"
          as="select"
          value={assigneeId}
          aria-busy={change.busy ? "true" : undefined}
          onChange={(e) => {
            const value = e.currentTarget.value || null;
            change.run({ assignee_id: value }, (u) => (u.assignee ? `Assigned to ${u.assignee.name}` : "Unassigned"));
          }}
        >
          <option value="">Nobody</option>
          {options.map((m) => (
            <option key={m.id} value={m.id}>
              {m.name}
            </option>
          ))}
        </Field>
      )}
      <button
        type="button"
        class="btn"
        aria-disabled={change.busy ? "true" : undefined}
        onClick={() =>
          !change.busy &&
          change.run({ status: closed ? "open" : "closed" }, () => (closed ? "Conversation reopened" : "Conversation closed"))
        }
      >
        {closed ? "Reopen" : "Close"}
      </button>
      {change.error && (
        <p class="row-error" role="alert">
          {change.error.message}
        </p>
      )}
    </div>
  );
}

// Whether the channel only takes templates now (or, without templates,
// nothing): its adapter keeps a customer-care window and the customer
// last wrote over 24 hours ago.
function careWindowClosed(conv, plugin) {
  if (!plugin || !plugin.capabilities.includes("care_window")) return false;
  const last = parseTime(conv.last_inbound_at);
  return !last || Date.now() - last.getTime() > CARE_WINDOW_MS;
}
