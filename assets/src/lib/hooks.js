// Small hooks every screen uses for its three states (loading, error,
// data) and for actions that can fail.
import { useCallback, useEffect, useRef, useState } from "preact/hooks";

import { api, query } from "./api.js";

// Loads data with load() whenever deps change. Keeps the previous data
// while reloading, so lists do not flash empty after every change.
// reload() loads again and shows a failure; refresh() is for reloads
// nobody asked for (live updates, polling): when it fails, what is shown
// stays, without an error (the live status already says the server is
// out of reach, and the next refresh tries again).
export function useResource(load, deps) {
  const [state, setState] = useState({ loading: true, data: undefined, error: null });
  const [generation, setGeneration] = useState(0);
  const quiet = useRef(false);
  useEffect(() => {
    let live = true;
    const background = quiet.current;
    quiet.current = false;
    setState((s) => ({ ...s, loading: true, error: background ? s.error : null }));
    load().then(
      (data) => live && setState({ loading: false, data, error: null }),
      (error) =>
        live &&
        setState((s) => ({
          loading: false,
          data: s.data,
          error: background && s.data !== undefined ? s.error : error,
        })),
    );
    return () => {
      live = false;
    };
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [...deps, generation]);
  const reload = useCallback(() => setGeneration((g) => g + 1), []);
  const refresh = useCallback(() => {
    quiet.current = true;
    setGeneration((g) => g + 1);
  }, []);
  const setData = useCallback(
    (f) => setState((s) => ({ ...s, data: typeof f === "function" ? f(s.data) : f })),
    [],
  );
  return { ...state, reload, refresh, setData };
}

// A paginated list (GET path with the filters as its query): the first
// page, loaded again when the filters change (or on first.reload()),
// and older pages appended by more.run(next). items holds them all,
// each once; next is the cursor of the page after, or null.
export function usePaged(path, filters) {
  const key = JSON.stringify(filters);
  const first = useResource(() => api.get(path + query(filters)), [path, key]);
  const [older, setOlder] = useState({ key: "", items: [], next: undefined });
  const more = useAction(async (cursor) => {
    const page = await api.get(path + query({ ...filters, cursor }));
    setOlder((o) => ({ key, items: [...(o.key === key ? o.items : []), ...page.data], next: page.next_cursor }));
    return page;
  });
  const firstItems = (first.data && first.data.data) || [];
  const ids = new Set(firstItems.map((x) => x.id));
  const rest = older.key === key ? older.items.filter((x) => !ids.has(x.id)) : [];
  const items = first.data ? [...firstItems, ...rest] : [];
  const next = older.key === key && older.next !== undefined ? older.next : first.data ? first.data.next_cursor : null;
  return { first, items, next, more };
}

// Wraps an async action: busy while it runs, its ApiError kept for the
// form to show. run() resolves to the action's result, or undefined if it
// failed (the error is in .error).
export function useAction(fn) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState(null);
  const live = useRef(true);
  useEffect(() => () => (live.current = false), []);
  const run = async (...args) => {
    setBusy(true);
    setError(null);
    try {
      return await fn(...args);
    } catch (e) {
      if (live.current) setError(e);
      return undefined;
    } finally {
      if (live.current) setBusy(false);
    }
  };
  return { busy, error, run, reset: () => setError(null) };
}

// Calls fn every ms while the page is visible (and enabled), and at once
// when it becomes visible again. The live stream's safety net
// (useLiveRefresh) while its socket is down.
export function usePoll(fn, ms, enabled = true) {
  const latest = useRef(fn);
  latest.current = fn;
  useEffect(() => {
    if (!enabled) return undefined;
    const tick = () => document.visibilityState === "visible" && latest.current();
    const timer = setInterval(tick, ms);
    document.addEventListener("visibilitychange", tick);
    return () => {
      clearInterval(timer);
      document.removeEventListener("visibilitychange", tick);
    };
  }, [ms, enabled]);
}

// value, once it has stopped changing for ms (a search box asks the
// server when the typing pauses).
export function useDebounced(value, ms = 300) {
  const [settled, setSettled] = useState(value);
  useEffect(() => {
    const t = setTimeout(() => setSettled(value), ms);
    return () => clearTimeout(t);
  }, [value, ms]);
  return settled;
}

// Sets document.title for the screen on show.
export function useTitle(...parts) {
  const title = [...parts.filter(Boolean), "Team inbox"].join(" · ");
  useEffect(() => {
    document.title = title;
  }, [title]);
}

// Screen-reader announcements for outcomes that are not otherwise focused
// ("Copied", "Role changed"): one polite live region in the page.
let liveRegion = null;
export function announce(message) {
  if (!liveRegion) {
    liveRegion = document.createElement("div");
    liveRegion.className = "visually-hidden";
    liveRegion.setAttribute("aria-live", "polite");
    liveRegion.setAttribute("role", "status");
    document.body.appendChild(liveRegion);
  }
  // Clearing first makes a repeated message be read again.
  liveRegion.textContent = "";
  setTimeout(() => {
    liveRegion.textContent = message;
  }, 50);
}
