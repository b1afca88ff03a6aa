// The states every list and screen goes through besides "here is the
// data": loading, empty, failed.
import { Notice } from "./Notice.jsx";

export function Loading({ label = "Loading…" }) {
  return (
    <p class="state state-loading" role="status">
      <span class="spinner" aria-hidden="true" />
      {label}
    </p>
  );
}

export function EmptyState({ title, children, action }) {
  return (
    <div class="state state-empty">
      <p class="state-title">{title}</p>
      {children && <div class="state-body">{children}</div>}
      {action}
    </div>
  );
}

export function ErrorState({ error, onRetry }) {
  return (
    <Notice kind="error" title="Couldn't load this.">
      <p>{error.message}</p>
      {onRetry && (
        <button type="button" class="btn" onClick={onRetry}>
          Try again
        </button>
      )}
    </Notice>
  );
}

// Renders a useResource() result: a spinner on first load, the error
// with a retry, the empty state, or children(data).
export function Resource({ res, isEmpty, empty, children }) {
  if (res.data === undefined) {
    if (res.error) return <ErrorState error={res.error} onRetry={res.reload} />;
    return <Loading />;
  }
  return (
    <>
      {res.error && <ErrorState error={res.error} onRetry={res.reload} />}
      {isEmpty && isEmpty(res.data) ? empty : children(res.data)}
    </>
  );
}
