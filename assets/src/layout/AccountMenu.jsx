// The account menu in the top bar: which organization this is, switching
// to another (or making a new one), and signing out.
//
// A disclosure (a button that shows a panel of ordinary buttons and
// links) rather than a <select>: with a select, arrowing through the
// options would switch organizations on every key press.
import { useEffect, useRef, useState } from "preact/hooks";

import { useAction } from "../lib/hooks.js";
import { roleLabel } from "../lib/format.js";
import { navigate } from "../lib/router.js";
import { useSession } from "../lib/session.js";
import { Notice } from "../components/Notice.jsx";

export function AccountMenu() {
  const { me, signOut, switchOrg } = useSession();
  const [open, setOpen] = useState(false);
  const root = useRef(null);
  const button = useRef(null);
  const action = useAction(async (fn) => {
    await fn();
    setOpen(false);
  });

  // Close on a click elsewhere or on Escape (then focus the button again).
  useEffect(() => {
    if (!open) return undefined;
    const onClick = (e) => root.current && !root.current.contains(e.target) && setOpen(false);
    const onKey = (e) => {
      if (e.key === "Escape") {
        setOpen(false);
        if (button.current) button.current.focus();
      }
    };
    document.addEventListener("click", onClick);
    document.addEventListener("keydown", onKey);
    return () => {
      document.removeEventListener("click", onClick);
      document.removeEventListener("keydown", onKey);
    };
  }, [open]);

  const org = me.organization;
  const others = me.memberships.filter((m) => m.organization.id !== org.id);

  return (
    <div class="account" ref={root}>
      <button
        type="button"
        class="account-button"
        ref={button}
        aria-expanded={open ? "true" : "false"}
        aria-controls="account-panel"
        onClick={() => setOpen(!open)}
      >
        <span class="account-org">{org.name}</span>
        <span class="account-role">{roleLabel(org.role)}</span>
        <span class="chevron" aria-hidden="true">
          ▾
        </span>
      </button>
      {open && (
        <div class="account-panel" id="account-panel">
          <p class="account-user">
            <span class="account-current">
              <strong>{org.name}</strong> <span class="muted">· {roleLabel(org.role)}</span>
            </span>
            <span>Signed in as {me.user.name}</span>
            <span class="muted account-email">{me.user.email}</span>
          </p>
          {action.error && <Notice kind="error">{action.error.message}</Notice>}
          {others.length > 0 && (
            <>
              <h2 class="account-heading" id="switch-heading">
                Switch organization
              </h2>
              <ul class="account-orgs" aria-labelledby="switch-heading">
                {others.map((m) => (
                  <li key={m.organization.id}>
                    <button
                      type="button"
                      class="account-item"
                      onClick={() => action.run(() => switchOrg(m.organization.id))}
                    >
                      <span>{m.organization.name}</span>
                      <span class="muted">{roleLabel(m.role)}</span>
                    </button>
                  </li>
                ))}
              </ul>
            </>
          )}
          <a
            class="account-item"
            href="#/organizations/new"
            onClick={(e) => {
              e.preventDefault();
              setOpen(false);
              navigate("/organizations/new");
            }}
          >
            New organization…
          </a>
          <button type="button" class="account-item" onClick={() => action.run(signOut)}>
            {action.busy ? "Working…" : "Log out"}
          </button>
        </div>
      )}
    </div>
  );
}
