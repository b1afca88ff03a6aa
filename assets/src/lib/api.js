// The one way screens talk to the server: JSON over fetch to /api/v1.
//
// The session is an HttpOnly cookie the browser sends by itself; what we
// add is the CSRF token, which the server hands out with signup, login,
// invitation accept and GET /me, and requires as X-CSRF-Token on every
// change. Failures become ApiError with the API's own message, code and
// per-field details, so forms can show them as they are.

const BASE = "/api/v1";

let csrfToken = null;
let onSessionEnded = () => {};

export class ApiError extends Error {
  constructor(status, body) {
    super((body && body.error) || defaultMessage(status));
    this.status = status;
    this.code = (body && body.error_code) || "ERROR";
    this.details = (body && typeof body.details === "object" && body.details) || {};
  }
}

function defaultMessage(status) {
  if (status === 0) return "Can't reach the server. Check your connection and try again.";
  if (status >= 500) return "Something went wrong on our side. Try again in a moment.";
  return `The request failed (HTTP ${status}).`;
}

// The app registers what to do when a signed-in call finds the session
// gone (expired, revoked, or removed from the organization).
export function onUnauthenticated(fn) {
  onSessionEnded = fn;
}

export function setCsrfToken(token) {
  csrfToken = token || null;
}

export async function request(method, path, body, extraHeaders = {}) {
  const headers = { Accept: "application/json", ...extraHeaders };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (method !== "GET" && csrfToken) headers["X-CSRF-Token"] = csrfToken;

  let res;
  try {
    res = await fetch(BASE + path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: "same-origin",
      cache: "no-store",
    });
  } catch {
    throw new ApiError(0, null);
  }

  let data = null;
  if (res.status !== 204 && (res.headers.get("content-type") || "").includes("json")) {
    try {
      data = await res.json();
    } catch {
      data = null;
    }
  }
  if (!res.ok) {
    const err = new ApiError(res.status, data);
    if (res.status === 401 && err.code === "UNAUTHENTICATED") onSessionEnded(err);
    throw err;
  }
  if (data && data.csrf_token) csrfToken = data.csrf_token;
  return data;
}

export const api = {
  get: (path) => request("GET", path),
  post: (path, body = {}, headers) => request("POST", path, body, headers),
  patch: (path, body) => request("PATCH", path, body),
  del: (path) => request("DELETE", path),
};

// A fresh random id (UUID v4), e.g. for Idempotency-Key: sending the same
// key again cannot send the message twice. crypto.randomUUID needs a
// secure context; getRandomValues does not.
export function randomId() {
  const b = crypto.getRandomValues(new Uint8Array(16));
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  const h = [...b].map((x) => x.toString(16).padStart(2, "0")).join("");
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

// Query strings for list endpoints; skips empty values.
export function query(params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (v !== undefined && v !== null && v !== "") q.set(k, String(v));
  }
  const s = q.toString();
  return s ? `?${s}` : "";
}

// Whether an error means "this server has no such endpoint yet", as
// opposed to "this thing was not found": lets screens for features the
// API does not offer yet say so instead of failing.
export function isMissingEndpoint(err) {
  return err instanceof ApiError && err.status === 404 && err.message === "No such endpoint";
}
