// The app: finds out who is signed in (GET /me), then shows the screen
// for the hash path, inside the right frame, or sends the person where
// they may go (sign-in, the inbox). Session changes (sign in, switch,
// sign out) all go through here, so every screen sees the same "me";
// the live stream follows them (open while signed in, opened again in
// the new organization after a switch, closed on sign-out).
import { useCallback, useEffect, useMemo, useRef, useState } from "preact/hooks";

import { api, onUnauthenticated, setCsrfToken } from "./lib/api.js";
import { roleAtLeast } from "./lib/format.js";
import { LiveContext, createLive } from "./lib/live.js";
import { matchPath, navigate, usePath } from "./lib/router.js";
import { SessionContext, rememberReturn, takeReturn } from "./lib/session.js";
import { routes } from "./routes.js";
import { AuthLayout } from "./layout/AuthLayout.jsx";
import { Shell } from "./layout/Shell.jsx";
import { ErrorState, Loading } from "./components/States.jsx";
import { Forbidden, NotFound } from "./screens/NotFound.jsx";

function findRoute(path) {
  for (const route of routes) {
    const params = matchPath(route.path, path);
    if (params) return { route, params };
  }
  return null;
}

// Where a path must send this visitor instead, or null to show it.
function redirectFor(path, found, me) {
  if (path === "/") return me ? "/inbox" : "/login";
  if (!found) return null;
  if (found.route.access === "guest" && me) return "/inbox";
  if (!found.route.access && !me) return "/login";
  return null;
}

export function App() {
  const path = usePath();
  const [me, setMe] = useState(null);
  const [boot, setBoot] = useState({ state: "loading", error: null });
  // Shown on the sign-in screen after the server ended the session.
  const [flash, setFlash] = useState(null);
  const meRef = useRef(null);
  meRef.current = me;
  const live = useMemo(createLive, []);
  const userId = me && me.user.id;
  const orgId = me && me.organization.id;
  useEffect(() => {
    if (!userId) return undefined;
    live.start();
    return () => live.stop();
  }, [live, userId, orgId]);

  const load = useCallback(async () => {
    setBoot({ state: "loading", error: null });
    try {
      setMe(await api.get("/me"));
      setBoot({ state: "ready", error: null });
    } catch (e) {
      if (e.status === 401) {
        setMe(null);
        setBoot({ state: "ready", error: null });
      } else {
        setBoot({ state: "error", error: e });
      }
    }
  }, []);

  useEffect(() => {
    load();
    onUnauthenticated(() => {
      if (!meRef.current) return;
      setCsrfToken(null);
      setMe(null);
      setFlash("Your session has ended. Sign in again to continue.");
    });
  }, [load]);

  const session = useMemo(() => {
    const session = {
      me,
      flash,
      signedIn(next) {
        setCsrfToken(next.csrf_token);
        setMe(next);
        setFlash(null);
        navigate(takeReturn() || "/inbox", { replace: true });
      },
      async signOut() {
        await api.post("/auth/logout");
        session.ended(null);
      },
      // The server ended the session (logout, leaving the organization).
      ended(message) {
        setCsrfToken(null);
        setMe(null);
        setFlash(message);
        // Replace: the path changes in the same render as "me", so the
        // signed-out redirect does not remember this page to return to.
        navigate("/login", { replace: true });
      },
      async refresh() {
        setMe(await api.get("/me"));
      },
      async switchOrg(organizationId) {
        // Same session, so the same CSRF token; the body is the new "me".
        const next = await api.post("/auth/switch", { organization_id: organizationId });
        setMe((prev) => ({ ...next, csrf_token: prev && prev.csrf_token }));
      },
    };
    return session;
  }, [me, flash]);

  const found = findRoute(path);
  const redirect = boot.state === "ready" ? redirectFor(path, found, me) : null;

  useEffect(() => {
    if (!redirect) return;
    if (redirect === "/login" && path !== "/") rememberReturn(path);
    navigate(redirect, { replace: true });
  }, [redirect, path]);

  if (boot.state === "loading") {
    return (
      <div class="boot">
        <Loading />
      </div>
    );
  }
  if (boot.state === "error") {
    return (
      <div class="boot">
        <ErrorState error={boot.error} onRetry={load} />
      </div>
    );
  }
  if (redirect) return null;

  return (
    <SessionContext.Provider value={session}>
      <LiveContext.Provider value={live}>{screenFor(path, found, me)}</LiveContext.Provider>
    </SessionContext.Provider>
  );
}

function screenFor(path, found, me) {
  if (!found) {
    return me ? (
      <Shell path={path}>
        <NotFound />
      </Shell>
    ) : (
      <AuthLayout>
        <NotFound />
      </AuthLayout>
    );
  }
  const { route, params } = found;
  const Screen = route.screen;
  if (route.access) {
    return (
      <AuthLayout>
        <Screen key={path} params={params} />
      </AuthLayout>
    );
  }
  // Keyed by organization too: switching remounts the screen, which then
  // loads the new organization's data.
  const key = `${me.organization.id} ${route.group || path}`;
  return (
    <Shell path={path} section={route.section}>
      {route.role && !roleAtLeast(me.organization.role, route.role) ? (
        <Forbidden key={key} what={route.label} />
      ) : (
        <Screen key={key} params={params} {...route.props} />
      )}
    </Shell>
  );
}
