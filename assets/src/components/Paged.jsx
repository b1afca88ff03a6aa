// Renders a usePaged() list through its states: the first page's error
// (with a retry) or spinner, the empty state, the items (children gets
// them all), and "load more" with its own error.
import { Notice } from "./Notice.jsx";
import { ErrorState, Loading } from "./States.jsx";

export function Paged({ paged, empty, moreLabel, children }) {
  const { first, items, next, more } = paged;
  return (
    <>
      {first.error && <ErrorState error={first.error} onRetry={first.reload} />}
      {!first.data && !first.error && <Loading />}
      {first.data && items.length === 0 && empty}
      {items.length > 0 && children(items)}
      {more.error && <Notice kind="error">{more.error.message}</Notice>}
      {next && (
        <button
          type="button"
          class="btn load-more"
          onClick={() => !more.busy && more.run(next)}
          aria-disabled={more.busy ? "true" : undefined}
        >
          {more.busy ? "Loading…" : moreLabel}
        </button>
      )}
    </>
  );
}
