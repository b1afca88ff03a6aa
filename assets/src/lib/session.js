// Who is signed in, in which organization, with which role: the body of
// GET /api/v1/me, shared with every screen through a context.
import { createContext } from "preact";
import { useContext } from "preact/hooks";

import { roleAtLeast } from "./format.js";

// value: { me, flash, signedIn(me), signOut(), ended(message), refresh(),
//          switchOrg(id) }
export const SessionContext = createContext(null);

export function useSession() {
  return useContext(SessionContext);
}

// The signed-in person's role in the current organization.
export function useRole() {
  const { me } = useSession();
  return (me && me.organization && me.organization.role) || null;
}

export function useIsAdmin() {
  return roleAtLeast(useRole(), "admin");
}

// Where to go after signing in: the page that sent the person to the
// sign-in form, kept across a reload of that form.
const RETURN_KEY = "inbox.returnTo";

export function rememberReturn(path) {
  try {
    sessionStorage.setItem(RETURN_KEY, path);
  } catch {
    /* storage may be off; then we land on the inbox */
  }
}

export function takeReturn() {
  try {
    const p = sessionStorage.getItem(RETURN_KEY);
    sessionStorage.removeItem(RETURN_KEY);
    return p && p.startsWith("/") ? p : null;
  } catch {
    return null;
  }
}
