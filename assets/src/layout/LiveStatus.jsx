// Says so, quietly, while the live stream is down and the screens may be
// behind. The live region is always in the page, so that screen readers
// announce the change when it appears.
import { useLiveStatus } from "../lib/live.js";

export function LiveStatus() {
  const status = useLiveStatus();
  return (
    <p class="live-status" role="status" data-testid="live-status" data-state={status}>
      {status === "down" && (
        <span class="live-down" title="Live updates are interrupted; what you see may be behind. Trying again…">
          <span class="live-dot" aria-hidden="true" />
          Reconnecting…
        </span>
      )}
    </p>
  );
}
