// Settings › Dead letters (owners and admins): messages the dispatcher
// gave up on (GET /dead-letters), newest first, with why (refused by the
// provider, too many failed attempts, too old), the last error and when;
// each can be queued again (POST /dead-letters/{id}/requeue), and says
// how that went in its row.
import { useEffect, useRef, useState } from "preact/hooks";

import { Field } from "../components/Field.jsx";
import { Page } from "../components/Page.jsx";
import { Paged } from "../components/Paged.jsx";
import { RowError } from "../components/RowError.jsx";
import { EmptyState } from "../components/States.jsx";
import { Time } from "../components/Time.jsx";
import { api } from "../lib/api.js";
import { announce, useAction, usePaged, useResource } from "../lib/hooks.js";
import { familyLabel, typeLabel } from "./inbox/labels.js";

const PAGE = 50;

const REASONS = {
  permanent: "The provider refused it",
  attempts: "Failed too many times",
  expired: "Could not be sent within a day",
};

export function DeadLetters() {
  const channels = useResource(() => api.get("/channels"), []);
  const [channelId, setChannelId] = useState("");
  const paged = usePaged("/dead-letters", { channel_id: channelId, limit: PAGE });
  const { first } = paged;
  const channelList = (channels.data && channels.data.data) || [];
  // undefined while the channels are not known; null: deleted since.
  const channelOf = (chId) => (channels.data ? channelList.find((ch) => ch.id === chId) || null : undefined);

  return (
    <Page
      title="Dead letters"
      intro="Messages that could not be sent and that the team inbox stopped trying. Fix the cause (a reconnected account, a valid number), then queue them again."
      actions={
        <button type="button" class="btn" onClick={first.reload} aria-disabled={first.loading ? "true" : undefined}>
          {first.loading && first.data ? "Refreshing…" : "Refresh"}
        </button>
      }
    >
      {channelList.length > 1 && (
        <div class="list-filters">
          <Field label="Channel" as="select" value={channelId} onChange={(e) => setChannelId(e.currentTarget.value)}>
            <option value="">All channels</option>
            {channelList.map((ch) => (
              <option key={ch.id} value={ch.id}>
                {ch.name} ({familyLabel(ch.family)})
              </option>
            ))}
          </Field>
        </div>
      )}
      <Paged
        paged={paged}
        moreLabel="Load older dead letters"
        empty={
          <EmptyState title="No dead letters.">
            <p>Every message was sent, or is still being tried.</p>
          </EmptyState>
        }
      >
        {(items) => (
          <ol class="rows" aria-label="Dead letters, newest first">
            {items.map((m) => (
              <DeadLetterRow key={m.id} message={m} channel={channelOf(m.channel_id)} />
            ))}
          </ol>
        )}
      </Paged>
    </Page>
  );
}

function DeadLetterRow({ message, channel }) {
  // Once queued again, the row shows the answer rather than the letter.
  const [requeued, setRequeued] = useState(null);
  const requeue = useAction(async () => {
    const m = await api.post(`/dead-letters/${message.id}/requeue`);
    setRequeued(m);
    announce("Queued again");
  });
  const m = requeued || message;
  // The button goes with the letter: the outcome takes the focus.
  const outcome = useRef(null);
  useEffect(() => {
    if (requeued && outcome.current) outcome.current.focus();
  }, [requeued]);
  const d = message.delivery || {};
  const error = d.last_error || message.error;
  return (
    <li class="row dead-letter" data-testid="dead-letter">
      <div class="row-main">
        <p class="row-title">
          {message.type === "text" ? "Text" : typeLabel(message.type)}
          <span class="badge badge-revoked">{REASONS[d.dead_reason] || d.dead_reason || "Dead"}</span>
        </p>
        {message.text && <p class="row-text dead-text">{message.text}</p>}
        {error && (
          <p class="row-text">
            Last error: {error.title || "unknown"}
            {error.code && ` (${error.code})`}
          </p>
        )}
        <p class="row-sub">
          {channel && `${familyLabel(channel.family)} · ${channel.name} · `}
          {channel === null && "A deleted channel · "}
          written <Time iso={message.created_at} />
          {d.dead_at && (
            <>
              {" · "}given up <Time iso={d.dead_at} />
            </>
          )}
          {" · "}
          {d.attempts === 1 ? "1 attempt" : `${d.attempts || 0} attempts`}
          {" · "}
          <a href={`#/inbox/${message.conversation_id}`}>Open the conversation</a>
        </p>
        {requeued && (
          <p class="row-ok" role="status" tabIndex={-1} ref={outcome}>
            {m.status === "queued" ? "Queued again: the dispatcher sends it shortly." : `Now ${m.status}.`}
          </p>
        )}
      </div>
      {!requeued && (
        <div class="row-actions">
          <button
            type="button"
            class="btn"
            onClick={() => !requeue.busy && requeue.run()}
            aria-disabled={requeue.busy ? "true" : undefined}
            aria-label={`Queue again: ${message.text ? message.text.slice(0, 40) : typeLabel(message.type)}`}
          >
            {requeue.busy ? "Queueing…" : "Queue again"}
          </button>
        </div>
      )}
      <RowError error={requeue.error} />
    </li>
  );
}
