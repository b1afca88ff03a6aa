// The head of the inbox's right pane (a conversation, a new one): back
// to the list on a phone, the heading (focused when the pane opens, so
// reading starts there), a line under it, and actions.
export function ThreadHead({ id, title, headingRef, sub, children }) {
  return (
    <header class="thread-head">
      <a class="btn btn-quiet back-link" href="#/inbox" aria-label="Back to conversations">
        ← Back
      </a>
      <div class="thread-title">
        <h2 id={id} tabIndex={-1} ref={headingRef}>
          {title}
        </h2>
        {sub}
      </div>
      {children}
    </header>
  );
}
