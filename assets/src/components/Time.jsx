// A point in time in the viewer's time zone; the full date, time and zone
// in the tooltip and in the machine-readable datetime attribute.
import { formatDateTime, formatFull, formatRelative } from "../lib/format.js";

export function Time({ iso, relative = false, fallback = "—" }) {
  if (!iso) return <span class="muted">{fallback}</span>;
  return (
    <time dateTime={iso} title={formatFull(iso)}>
      {relative ? formatRelative(iso) : formatDateTime(iso)}
    </time>
  );
}
