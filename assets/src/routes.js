// Every screen and the hash path that shows it. Adding a screen is one
// file in screens/ and one line here (docs/ui.md).
//
//   access   "guest": signed-out only (signed-in people go to the inbox)
//            "any":   either way (an invitation can be opened by anyone)
//            absent:  signed in; others are sent to sign in first
//   role     the least role that may open it (the server checks again)
//   section  "settings": shown with the settings navigation, as label
//   group    routes of one group share a mounted screen (the inbox keeps
//            its list while conversations open beside it)
//   props    given to the screen besides params
import { Audit } from "./screens/Audit.jsx";
import { Contact } from "./screens/Contact.jsx";
import { Contacts } from "./screens/Contacts.jsx";
import { DeadLetters } from "./screens/DeadLetters.jsx";
import { Inbox } from "./screens/Inbox.jsx";
import { Invite } from "./screens/Invite.jsx";
import { Login } from "./screens/Login.jsx";
import { Members } from "./screens/Members.jsx";
import { NewOrganization } from "./screens/NewOrganization.jsx";
import { Signup } from "./screens/Signup.jsx";
import { Socials } from "./screens/Socials.jsx";
import { Tokens } from "./screens/Tokens.jsx";

export const routes = [
  { path: "/login", screen: Login, access: "guest" },
  { path: "/signup", screen: Signup, access: "guest" },
  { path: "/invite/:token", screen: Invite, access: "any" },
  { path: "/inbox", screen: Inbox, group: "inbox" },
  // Before /inbox/:id, which would take "new" for an id.
  { path: "/inbox/new", screen: Inbox, group: "inbox", props: { compose: true } },
  { path: "/inbox/:id", screen: Inbox, group: "inbox" },
  { path: "/contacts", screen: Contacts },
  { path: "/contacts/:id", screen: Contact },
  { path: "/organizations/new", screen: NewOrganization },
  { path: "/settings/members", screen: Members, section: "settings", label: "Members" },
  { path: "/settings/socials", screen: Socials, section: "settings", label: "Socials" },
  { path: "/settings/api-tokens", screen: Tokens, section: "settings", label: "API tokens", role: "admin" },
  { path: "/settings/dead-letters", screen: DeadLetters, section: "settings", label: "Dead letters", role: "admin" },
  { path: "/settings/audit-log", screen: Audit, section: "settings", label: "Audit log", role: "admin" },
];

export const settingsRoutes = routes.filter((r) => r.section === "settings");
