// Small hooks every screen uses for its three states (loading, error,
// data) and for actions that can fail.
import { useCallback, useEffect, useRef, useState } from "preact/hooks";

// Loads data with load() whenever deps change. Keeps the previous data
// while reloading, so lists do not flash empty after every change.
export function useResource(load, deps) {
  const [state, setState] = useState({ loading: true, data: undefined, error: null });
  const [generation, setGeneration] = useState(0);
  useEffect(() => {
    let live = true;
    setState((s) => ({ ...s, loading: true, error: null }));
    load().then(
      (data) => live && setState({ loading: false, data, error: null }),
      (error) => live && setState((s) => ({ loading: false, data: s.data, error })),
    );
    return () => {
      live = false;
    };
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [...deps, generation]);
  const reload = useCallback(() => setGeneration((g) => g + 1), []);
  const setData = useCallback(
    (f) => setState((s) => ({ ...s, data: typeof f === "function" ? f(s.data) : f })),
    [],
  );
  return { ...state, reload, setData };
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

// Calls fn every ms while the page is visible, and at once when it
// becomes visible again. Stands in for the live stream the API does not
// offer yet (/api/v1/stream).
export function usePoll(fn, ms) {
  const latest = useRef(fn);
  latest.current = fn;
  useEffect(() => {
    const tick = () => document.visibilityState === "visible" && latest.current();
    const timer = setInterval(tick, ms);
    document.addEventListener("visibilitychange", tick);
    return () => {
      clearInterval(timer);
      document.removeEventListener("visibilitychange", tick);
    };
  }, [ms]);
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
