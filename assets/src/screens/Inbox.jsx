// The inbox. The API has no conversations yet (no /api/v1/conversations
// nor the /api/v1/stream websocket), so this is the place the
// conversation list, thread and composer slot into; until then it says
// so plainly.
import { Page } from "../components/Page.jsx";
import { EmptyState } from "../components/States.jsx";
import { useIsAdmin } from "../lib/session.js";

export function Inbox() {
  const isAdmin = useIsAdmin();
  return (
    <Page title="Inbox">
      <EmptyState title="The shared inbox is coming soon.">
        <p>
          Conversations from WhatsApp, Messenger and Instagram will appear here, with filters by channel, status and
          unread, search, and replies from the whole team in real time.
        </p>
        {isAdmin ? (
          <p>
            In the meantime, <a href="#/settings/members">invite your team</a>.
          </p>
        ) : null}
      </EmptyState>
    </Page>
  );
}
