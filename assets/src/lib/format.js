// Dates and times, always in the viewer's own time zone and locale.
const dateTime = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "short" });
const full = new Intl.DateTimeFormat(undefined, {
  dateStyle: "full",
  timeStyle: "long",
});
const timeOnly = new Intl.DateTimeFormat(undefined, { timeStyle: "short" });
const dayOnly = new Intl.DateTimeFormat(undefined, { dateStyle: "full" });
const relative = new Intl.RelativeTimeFormat(undefined, { numeric: "auto" });

// PostgreSQL sends microseconds ("…:05.123456+00:00"); not every engine
// parses more than milliseconds, so cut them to three digits.
export function parseTime(iso) {
  if (!iso) return null;
  const d = new Date(String(iso).replace(/(\.\d{3})\d+/, "$1"));
  return Number.isNaN(d.getTime()) ? null : d;
}

export function formatDateTime(iso) {
  const d = parseTime(iso);
  return d ? dateTime.format(d) : "";
}

export function formatFull(iso) {
  const d = parseTime(iso);
  return d ? full.format(d) : "";
}

export function formatTime(iso) {
  const d = parseTime(iso);
  return d ? timeOnly.format(d) : "";
}

// The local calendar day, for grouping messages under day headings.
export function formatDay(iso) {
  const d = parseTime(iso);
  return d ? dayOnly.format(d) : "";
}

// "3 minutes ago", "in 6 days"; coarse on purpose.
export function formatRelative(iso, now = Date.now()) {
  const d = parseTime(iso);
  if (!d) return "";
  const s = Math.round((d.getTime() - now) / 1000);
  const abs = Math.abs(s);
  if (abs < 45) return relative.format(0, "second");
  if (abs < 45 * 60) return relative.format(Math.round(s / 60), "minute");
  if (abs < 22 * 3600) return relative.format(Math.round(s / 3600), "hour");
  if (abs < 26 * 86400) return relative.format(Math.round(s / 86400), "day");
  return dateTime.format(d);
}

// In the order forms offer them: the least powerful first, as the default.
export const ROLE_LABELS = { agent: "Agent", admin: "Admin", owner: "Owner" };

export function roleLabel(role) {
  return ROLE_LABELS[role] || role;
}

const RANK = { agent: 1, admin: 2, owner: 3 };

// Whether role is at least min (owner > admin > agent), as the server ranks.
export function roleAtLeast(role, min) {
  return (RANK[role] || 0) >= (RANK[min] || 0);
}

// API details are fragments ("is required"); with the field's label in
// front they read as sentences. Whole sentences are shown as they are.
export function fieldMessage(label, detail) {
  if (!detail) return "";
  const text = typeof detail === "string" ? detail : JSON.stringify(detail);
  return /^[a-z]/.test(text) ? `${label} ${text}` : text;
}

export function initials(name) {
  const parts = String(name || "?").trim().split(/\s+/);
  return ((parts[0] || "?")[0] + (parts.length > 1 ? parts[parts.length - 1][0] : "")).toUpperCase();
}
