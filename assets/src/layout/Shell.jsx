// The frame of every signed-in screen: a skip link, the top bar (main
// navigation with the unread count, the live stream's state and the
// account menu) and, on settings screens, the settings navigation beside
// the content.
import { useUnread } from "../lib/unread.js";
import { AccountMenu } from "./AccountMenu.jsx";
import { LiveStatus } from "./LiveStatus.jsx";
import { SettingsNav } from "./SettingsNav.jsx";

function skipToContent(e) {
  // A plain href="#main" would be taken for a route.
  e.preventDefault();
  const main = document.getElementById("main");
  if (main) main.focus();
}

export function Shell({ path, section, children }) {
  const isInbox = path.startsWith("/inbox");
  const isContacts = path.startsWith("/contacts");
  const isSettings = section === "settings";
  const unread = useUnread();
  return (
    <div class="shell">
      <a class="skip-link" href="#main" onClick={skipToContent}>
        Skip to content
      </a>
      <header class="topbar">
        <a class="brand" href="#/inbox">
          <span class="logo" aria-hidden="true">
            ✉
          </span>
          <span class="brand-name">Team inbox</span>
        </a>
        <nav class="mainnav" aria-label="Main">
          <a href="#/inbox" aria-current={isInbox ? "page" : undefined}>
            Inbox
            {unread && unread.conversations > 0 && (
              <span class="nav-count" data-testid="unread-total">
                {unread.conversations}
                <span class="visually-hidden"> unread</span>
              </span>
            )}
          </a>
          <a href="#/contacts" aria-current={isContacts ? "page" : undefined}>
            Contacts
          </a>
          <a href="#/settings/members" aria-current={isSettings ? "page" : undefined}>
            Settings
          </a>
        </nav>
        <LiveStatus />
        <AccountMenu />
      </header>
      <div class={`workspace${isSettings ? " workspace-settings" : ""}${isInbox ? " workspace-inbox" : ""}`}>
        {isSettings && <SettingsNav path={path} />}
        <main id="main" tabIndex={-1}>
          {children}
        </main>
      </div>
    </div>
  );
}
