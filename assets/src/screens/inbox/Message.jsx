// One message as a bubble: the customer's on the left, ours on the right
// with its delivery state. Text is rendered as text (never HTML), and
// attachments are named, not loaded: their URLs point at the providers,
// which this page neither trusts nor may reach (see the CSP).
import { formatFull, formatTime } from "../../lib/format.js";
import { STATUS_TICKS, typeLabel } from "./labels.js";

export function Message({ m, contact }) {
  const out = m.direction === "out";
  const who = out ? (m.sender === "provider_app" ? "Sent from the provider's app" : "You") : contact;
  return (
    <li class={out ? "msg msg-out" : "msg msg-in"} data-testid="message">
      <div class="bubble">
        <span class="visually-hidden">{who}: </span>
        {m.deleted_at ? <p class="msg-deleted">This message was deleted.</p> : <Body m={m} />}
        <p class="msg-meta">
          {out && m.sender === "provider_app" && <span>via the provider's app · </span>}
          <time dateTime={m.at} title={formatFull(m.at)}>
            {formatTime(m.at)}
          </time>
          {out && <Tick m={m} />}
        </p>
        {m.status === "failed" && m.error && (
          <p class="msg-error">{[m.error.title, m.error.code && `(${m.error.code})`].filter(Boolean).join(" ")}</p>
        )}
      </div>
    </li>
  );
}

function Body({ m }) {
  const c = m.content || {};
  if (m.type === "text") return <p class="msg-text">{m.text || ""}</p>;
  const detail = attachmentDetail(m.type, c);
  return (
    <>
      <p class="msg-kind">
        {typeLabel(m.type)}
        {detail && <span class="msg-detail"> · {detail}</span>}
      </p>
      {m.text && <p class="msg-text">{m.text}</p>}
    </>
  );
}

// A few words that say what was sent, as plain strings.
function attachmentDetail(type, c) {
  const str = (v) => (typeof v === "string" || typeof v === "number" ? String(v) : "");
  switch (type) {
    case "document":
      return str(c.filename);
    case "audio":
      return c.voice ? "voice message" : "";
    case "location":
      return [str(c.name), str(c.address), c.latitude != null && `${str(c.latitude)}, ${str(c.longitude)}`]
        .filter(Boolean)
        .join(" · ");
    case "reaction":
      return c.action === "unreact" ? "removed a reaction" : str(c.emoji);
    case "template":
      return [str(c.name), str(c.language)].filter(Boolean).join(" · ");
    default:
      return "";
  }
}

function Tick({ m }) {
  const t = STATUS_TICKS[m.status];
  if (!t) return null;
  const at = m.status_at ? ` ${formatFull(m.status_at)}` : "";
  return (
    <span class={`tick tick-${m.status}`} role="img" aria-label={t.label} title={`${t.label}${at}`}>
      {t.mark === "clock" ? <Clock /> : t.mark}
    </span>
  );
}

// Drawn rather than an emoji: emoji fonts are not everywhere.
function Clock() {
  return (
    <svg width="12" height="12" viewBox="0 0 12 12" aria-hidden="true" class="tick-clock">
      <circle cx="6" cy="6" r="5" fill="none" stroke="currentColor" stroke-width="1.4" />
      <path d="M6 3v3.2l2 1.3" fill="none" stroke="currentColor" stroke-width="1.4" stroke-linecap="round" />
    </svg>
  );
}
