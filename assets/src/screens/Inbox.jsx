// The inbox: conversations on the left, the open one on the right; on a
// phone one at a time (#/inbox is the list, #/inbox/ID the thread).
// Before any account is connected, it says where to do that.
import { useState } from "preact/hooks";

import { Page } from "../components/Page.jsx";
import { EmptyState, Resource } from "../components/States.jsx";
import { api } from "../lib/api.js";
import { useResource } from "../lib/hooks.js";
import { useIsAdmin } from "../lib/session.js";
import { ConversationList } from "./inbox/ConversationList.jsx";
import { Thread } from "./inbox/Thread.jsx";

export function Inbox({ params }) {
  const isAdmin = useIsAdmin();
  const res = useResource(() => Promise.all([api.get("/channels"), api.get("/plugins")]), []);
  const selected = params.id || null;
  // Bumped when a reply is sent, so the list shows it without waiting.
  const [sent, setSent] = useState(0);

  return (
    <Page title="Inbox" class={selected ? "inbox-page inbox-has-thread" : "inbox-page"}>
      <Resource
        res={res}
        isEmpty={([channels]) => channels.data.length === 0}
        empty={
          <EmptyState title="No accounts connected yet.">
            <p>Messages from WhatsApp, Messenger and Instagram land here once an account is connected.</p>
            {isAdmin ? (
              <p>
                <a href="#/settings/socials">Connect an account</a> or <a href="#/settings/members">invite your team</a>.
              </p>
            ) : (
              <p>An owner or admin connects the organization's accounts.</p>
            )}
          </EmptyState>
        }
      >
        {([channels, plugins]) => (
          <div class="inbox">
            <ConversationList channels={channels.data} selectedId={selected} refresh={sent} />
            {selected ? (
              <Thread
                key={selected}
                id={selected}
                pluginOf={(name) => plugins.data.find((p) => p.name === name)}
                onSent={() => setSent((n) => n + 1)}
              />
            ) : (
              <div class="thread thread-none">
                <p class="muted">Choose a conversation to read it.</p>
              </div>
            )}
          </div>
        )}
      </Resource>
    </Page>
  );
}
