// The inbox: conversations on the left, the open one (or a new one being
// written, #/inbox/new) on the right; on a phone one at a time (#/inbox
// is the list, #/inbox/ID the thread). Before any account is connected,
// it says where to do that.
import { Page } from "../components/Page.jsx";
import { EmptyState, Resource } from "../components/States.jsx";
import { api } from "../lib/api.js";
import { useResource } from "../lib/hooks.js";
import { useIsAdmin } from "../lib/session.js";
import { ConversationList } from "./inbox/ConversationList.jsx";
import { NewConversation } from "./inbox/NewConversation.jsx";
import { Thread } from "./inbox/Thread.jsx";

export function Inbox({ params, compose = false }) {
  const isAdmin = useIsAdmin();
  // Members name assignees; if they cannot be listed, assigning is hidden.
  const res = useResource(
    () => Promise.all([api.get("/channels"), api.get("/plugins"), api.get("/members").catch(() => null)]),
    [],
  );
  const selected = compose ? null : params.id || null;

  return (
    <Page
      title="Inbox"
      class={selected || compose ? "inbox-page inbox-has-thread" : "inbox-page"}
    >
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
        {([channels, plugins, members]) => {
          const pluginOf = (name) => plugins.data.find((p) => p.name === name);
          const memberList = members ? members.data : null;
          return (
            <div class="inbox">
              <ConversationList channels={channels.data} selectedId={selected} composing={compose} />
              {compose ? (
                <NewConversation channels={channels.data} pluginOf={pluginOf} />
              ) : selected ? (
                <Thread key={selected} id={selected} pluginOf={pluginOf} members={memberList} />
              ) : (
                <div class="thread thread-none">
                  <p class="muted">Choose a conversation to read it.</p>
                </div>
              )}
            </div>
          );
        }}
      </Resource>
    </Page>
  );
}
