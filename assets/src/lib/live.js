// Live updates: one websocket to /api/v1/stream for the signed-in
// session, on this origin (ws: or wss: as the page), authenticated by
// the session cookie. The server first says
//   {"kind":"hello","org_id":"…"}
// then sends one frame per event of the current organization:
//   {"kind":"message"|"status"|"conversation"|"channel_error"|"channel",
//    "org_id","conversation_id","message_id","channel_id"}  (ids may be null)
// Events name what changed, not how: screens load it again (useLiveRefresh).
//
// kore's idle timer only counts client traffic, so we send "ping" every
// 25 s (the server ignores what we send). A dropped socket is opened
// again after 1 s, doubling to 30 s, with jitter; every hello, first or
// after a drop, makes screens load again what they show, which catches
// up on events missed meanwhile. While the socket is down, screens also
// poll slowly, as a safety net. App starts it on sign-in and on a switch
// of organization (the server sends the organization of the session at
// connect time) and stops it on sign-out.
import { createContext } from "preact";
import { useContext, useEffect, useRef, useState } from "preact/hooks";

import { usePoll } from "./hooks.js";

const PING_MS = 25000;
const RETRY_FIRST_MS = 1000;
const RETRY_MAX_MS = 30000;
// While the socket is down; with it up, events do the refreshing.
export const SAFETY_POLL_MS = 60000;
// A burst of events (a webhook with fifty statuses) is one refresh: the
// last event's, DEBOUNCE_MS after it, and never later than MAX_WAIT_MS
// after the first.
const DEBOUNCE_MS = 250;
const MAX_WAIT_MS = 1000;

export function streamUrl(loc = window.location) {
  return `${loc.protocol === "https:" ? "wss:" : "ws:"}//${loc.host}/api/v1/stream`;
}

// The connection, with its state: "off" (signed out), "connecting" (the
// first attempt), "up" (hello received) or "down" (dropped or refused;
// trying again).
export function createLive() {
  const listeners = new Set();
  const watchers = new Set();
  let status = "off";
  let socket = null;
  let retry = null;
  let delay = RETRY_FIRST_MS;

  const setStatus = (next) => {
    if (next === status) return;
    status = next;
    for (const fn of [...watchers]) fn(next);
  };
  const emit = (ev) => {
    for (const fn of [...listeners]) {
      try {
        fn(ev);
      } catch (e) {
        // One screen's bug must not stop the others' updates.
        setTimeout(() => {
          throw e;
        });
      }
    }
  };

  const schedule = () => {
    clearTimeout(retry);
    // Jitter: between half and one and a half times the delay, so many
    // browsers dropped at once do not all come back at once.
    const wait = Math.min(RETRY_MAX_MS, delay * (0.5 + Math.random()));
    delay = Math.min(delay * 2, RETRY_MAX_MS);
    retry = setTimeout(connect, wait);
  };

  function connect() {
    retry = null;
    if (status === "off") return;
    let ws;
    try {
      ws = new WebSocket(streamUrl());
    } catch {
      setStatus("down");
      schedule();
      return;
    }
    socket = ws;
    // Each socket its own pinger: an old socket closing late must not
    // stop the new one's.
    let pinger = null;
    ws.onopen = () => {
      pinger = setInterval(() => {
        if (socket !== ws) clearInterval(pinger);
        else if (ws.readyState === WebSocket.OPEN) ws.send("ping");
      }, PING_MS);
    };
    ws.onmessage = (msg) => {
      if (socket !== ws) return;
      let ev = null;
      try {
        ev = JSON.parse(msg.data);
      } catch {
        return;
      }
      if (!ev || typeof ev.kind !== "string") return;
      if (ev.kind === "hello") {
        delay = RETRY_FIRST_MS;
        setStatus("up");
      }
      emit(ev);
    };
    // An error is always followed by close; close is where we retry.
    ws.onclose = () => {
      clearInterval(pinger);
      if (socket !== ws) return;
      socket = null;
      if (status === "off") return;
      setStatus("down");
      schedule();
    };
  }

  // Back online: try at once rather than at the end of the backoff.
  const online = () => {
    if (status === "down" && retry) {
      clearTimeout(retry);
      connect();
    }
  };

  return {
    start() {
      if (status !== "off") return;
      delay = RETRY_FIRST_MS;
      setStatus("connecting");
      window.addEventListener("online", online);
      connect();
    },
    stop() {
      setStatus("off");
      window.removeEventListener("online", online);
      clearTimeout(retry);
      const ws = socket;
      socket = null;
      if (ws) ws.close();
    },
    status: () => status,
    onStatus(fn) {
      watchers.add(fn);
      return () => watchers.delete(fn);
    },
    subscribe(fn) {
      listeners.add(fn);
      return () => listeners.delete(fn);
    },
    // Changes this tab made itself (a reply, a read mark), told to the
    // other screens at once, in the shape of the server's events.
    publish(ev) {
      emit({ org_id: null, conversation_id: null, message_id: null, channel_id: null, ...ev, local: true });
    },
  };
}

// Events that change conversation lists and unread counts.
export const touchesConversations = (ev) => ev.kind === "message" || ev.kind === "conversation";

export const LiveContext = createContext(null);

export function useLive() {
  return useContext(LiveContext);
}

export function useLiveStatus() {
  const live = useLive();
  const [status, setStatus] = useState(live ? live.status() : "off");
  useEffect(() => {
    if (!live) return undefined;
    setStatus(live.status());
    return live.onStatus(setStatus);
  }, [live]);
  return status;
}

// Keeps what a screen shows fresh: refresh() runs (debounced) when an
// event for which matches(event) is true arrives, after every
// (re)connect (to catch up), and every SAFETY_POLL_MS while the socket
// is not up. Give it useResource's refresh (not reload): a failure in
// the background keeps what is shown.
export function useLiveRefresh(refresh, matches) {
  const live = useLive();
  const status = useLiveStatus();
  const latest = useRef(null);
  latest.current = { refresh, matches };
  useEffect(() => {
    if (!live) return undefined;
    let timer = null;
    let first = 0;
    const run = () => {
      timer = null;
      first = 0;
      latest.current.refresh();
    };
    const off = live.subscribe((ev) => {
      if (ev.kind !== "hello" && !latest.current.matches(ev)) return;
      const now = Date.now();
      if (!first) first = now;
      clearTimeout(timer);
      timer = setTimeout(run, Math.max(0, Math.min(DEBOUNCE_MS, first + MAX_WAIT_MS - now)));
    });
    return () => {
      off();
      clearTimeout(timer);
    };
  }, [live]);
  usePoll(() => latest.current.refresh(), SAFETY_POLL_MS, status !== "up");
}
