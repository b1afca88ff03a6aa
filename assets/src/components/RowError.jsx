// What went wrong with an action on one row of a list (remove, revoke),
// shown in that row, across its whole width.
export function RowError({ error }) {
  if (!error) return null;
  return (
    <p class="row-error" role="alert">
      {error.message || String(error)}
    </p>
  );
}
