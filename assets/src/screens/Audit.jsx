// Settings › Audit log (owners and admins): who did what, newest first,
// a page at a time ("Load older" follows the API's next_cursor).
import { useRef, useState } from "preact/hooks";

import { Page } from "../components/Page.jsx";
import { EmptyState, Resource } from "../components/States.jsx";
import { Notice } from "../components/Notice.jsx";
import { Time } from "../components/Time.jsx";
import { api, query } from "../lib/api.js";
import { roleLabel } from "../lib/format.js";
import { announce, useAction, useResource } from "../lib/hooks.js";

const PAGE = 50;

const ACTIONS = {
  signup: "Signed up",
  login: "Signed in",
  login_failed: "Failed sign-in",
  organization_created: "Organization created",
  api_token_created: "API token created",
  api_token_revoked: "API token revoked",
  role_changed: "Role changed",
  member_removed: "Member removed",
  member_left: "Member left",
  invitation_created: "Invitation created",
  invitation_revoked: "Invitation revoked",
  invitation_accepted: "Invitation accepted",
  channel_connected: "Account connected",
  channel_credentials_updated: "Account changed",
  channel_reconnected: "Account reconnected",
  channel_disconnected: "Account disconnected",
  channel_deleted: "Account deleted",
  conversation_closed: "Conversation closed",
  conversation_reopened: "Conversation reopened",
  conversation_assigned: "Conversation assigned",
  contact_blocked: "Contact blocked",
  contact_unblocked: "Contact unblocked",
  message_requeued: "Message queued again",
};

export function Audit() {
  // Members too, to show names where events name people by id.
  const first = useResource(
    () => Promise.all([api.get("/audit-log" + query({ limit: PAGE })), api.get("/members").catch(() => null)]),
    [],
  );
  const [older, setOlder] = useState({ events: [], next: undefined });
  const end = useRef(null);
  const more = useAction(async (cursor) => {
    const page = await api.get("/audit-log" + query({ limit: PAGE, cursor }));
    setOlder((o) => ({ events: [...o.events, ...page.data], next: page.next_cursor }));
    announce(`${page.data.length} older events loaded`);
    if (!page.next_cursor && end.current) end.current.focus();
  });

  return (
    <Page title="Audit log" intro="Sign-ins and changes to members, invitations, API tokens, connected accounts, conversations and contacts. Times are in your time zone.">
      <Resource
        res={first}
        isEmpty={([log]) => log.data.length === 0}
        empty={<EmptyState title="Nothing has happened yet." />}
      >
        {([log, members]) => {
          const names = {};
          for (const m of (members && members.data) || []) names[m.id] = m.name;
          const events = [...log.data, ...older.events];
          const next = older.next === undefined ? log.next_cursor : older.next;
          return (
            <>
              <ol class="rows audit" aria-label="Events, newest first">
                {events.map((e) => (
                  <AuditRow key={e.id} event={e} names={names} />
                ))}
              </ol>
              {more.error && <Notice kind="error">{more.error.message}</Notice>}
              {next ? (
                <button type="button" class="btn" onClick={() => more.run(next)} aria-disabled={more.busy ? "true" : undefined}>
                  {more.busy ? "Loading…" : "Load older events"}
                </button>
              ) : (
                <p class="muted list-end" tabIndex={-1} ref={end}>
                  That is the beginning of the log.
                </p>
              )}
            </>
          );
        }}
      </Resource>
    </Page>
  );
}

function AuditRow({ event, names }) {
  return (
    <li class="row" data-testid="audit-row">
      <div class="row-main">
        <p class="audit-head">
          <span class="row-title">{ACTIONS[event.action] || event.action}</span>
          <span class="row-sub">
            <Time iso={event.at} />
            {event.ip && <> · {event.ip}</>}
          </span>
        </p>
        <p class="row-text">{describe(event, names)}</p>
      </div>
    </li>
  );
}

// One plain sentence per event. Everything here is rendered as text.
function describe(e, names) {
  const d = e.details || {};
  const actor = e.actor ? e.actor.name : d.api_token_id ? "An API token" : "Someone";
  const target = names[e.target] || e.target || "";
  switch (e.action) {
    case "signup":
      return `${actor} (${target}) created the organization`;
    case "login":
      return `${actor} signed in as ${target}`;
    case "login_failed":
      return `Wrong password for ${target}`;
    case "organization_created":
      return `${actor} created “${target}”`;
    case "api_token_created":
      return `${actor} created “${d.name}” with role ${roleLabel(d.role)}`;
    case "api_token_revoked":
      return `${actor} revoked “${d.name}”`;
    case "role_changed":
      return `${actor} changed ${target} from ${roleLabel(d.from)} to ${roleLabel(d.to)}`;
    case "member_removed":
      return `${actor} removed ${target} (${roleLabel(d.role)})`;
    case "member_left":
      return `${actor} left the organization`;
    case "invitation_created":
      return `${actor} invited ${target} as ${roleLabel(d.role)}`;
    case "invitation_revoked":
      return `${actor} revoked the invitation for ${target}`;
    case "invitation_accepted":
      return `${actor} (${target}) joined as ${roleLabel(d.role)}`;
    case "channel_connected":
      return `${actor} connected “${d.name}” (${d.adapter})`;
    case "channel_credentials_updated":
      return `${actor} changed “${d.name}”`;
    case "channel_reconnected":
      return `${actor} reconnected “${d.name}”${d.ok === false ? ", which the provider refused" : ""}`;
    case "channel_disconnected":
      return `${actor} disconnected “${d.name}”`;
    case "channel_deleted":
      return `${actor} deleted “${d.name}” (${d.adapter})`;
    case "conversation_closed":
    case "conversation_reopened":
      return `${actor} ${e.action === "conversation_closed" ? "closed" : "reopened"} conversation ${target}`;
    case "conversation_assigned":
      return d.assignee_id
        ? `${actor} assigned conversation ${target} to ${names[d.assignee_id] || d.assignee_id}`
        : `${actor} unassigned conversation ${target}`;
    case "contact_blocked":
      return `${actor} blocked contact ${target}`;
    case "contact_unblocked":
      return `${actor} unblocked contact ${target}`;
    case "message_requeued":
      return `${actor} queued message ${target} again`;
    default: {
      const rest = Object.entries(d)
        .map(([k, v]) => `${k}: ${typeof v === "string" ? v : JSON.stringify(v)}`)
        .join(", ");
      return [actor, target, rest].filter(Boolean).join(" · ");
    }
  }
}
