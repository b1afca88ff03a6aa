// The frame of every signed-in screen: a skip link, the top bar (main
// navigation and the account menu) and, on settings screens, the
// settings navigation beside the content.
import { AccountMenu } from "./AccountMenu.jsx";
import { SettingsNav } from "./SettingsNav.jsx";

function skipToContent(e) {
  // A plain href="#main" would be taken for a route.
  e.preventDefault();
  const main = document.getElementById("main");
  if (main) main.focus();
}

export function Shell({ path, section, children }) {
  const isInbox = path.startsWith("/inbox");
  const isSettings = section === "settings";
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
          </a>
          <a href="#/settings/members" aria-current={isSettings ? "page" : undefined}>
            Settings
          </a>
        </nav>
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
