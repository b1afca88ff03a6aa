// Hash routing: "#/settings/members" is the path "/settings/members".
//
// Hash routes need nothing from the server (kore serves one index.html),
// and the part after "#" never leaves the browser, which matters for
// invitation links: their token stays out of server and proxy logs.
import { useEffect, useState } from "preact/hooks";

export function currentPath() {
  const h = window.location.hash.replace(/^#/, "");
  return h.startsWith("/") ? h : "/" + h;
}

export function usePath() {
  const [path, setPath] = useState(currentPath);
  useEffect(() => {
    const update = () => setPath(currentPath());
    window.addEventListener("hashchange", update);
    return () => window.removeEventListener("hashchange", update);
  }, []);
  return path;
}

// replace: leave no history entry (redirects, and links holding a
// secret such as an invitation token).
export function navigate(path, { replace = false } = {}) {
  if (currentPath() === path) return;
  if (replace) {
    window.history.replaceState(null, "", "#" + path);
    window.dispatchEvent(new HashChangeEvent("hashchange"));
  } else {
    window.location.hash = path;
  }
}

// "/invite/:token" against "/invite/abc" gives { token: "abc" }, or null.
export function matchPath(pattern, path) {
  const want = pattern.split("/");
  const got = path.split("?")[0].split("/");
  if (want.length !== got.length) return null;
  const params = {};
  for (let i = 0; i < want.length; i++) {
    if (want[i].startsWith(":")) {
      if (!got[i]) return null;
      params[want[i].slice(1)] = decodeURIComponent(got[i]);
    } else if (want[i] !== got[i]) {
      return null;
    }
  }
  return params;
}

// The query part of the hash path: "#/inbox/new?contact=ID" gives
// URLSearchParams with contact=ID.
export function hashQuery() {
  const path = currentPath();
  const i = path.indexOf("?");
  return new URLSearchParams(i < 0 ? "" : path.slice(i + 1));
}
