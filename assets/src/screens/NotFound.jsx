// A path that leads nowhere, and a screen above this person's role.
import { Page } from "../components/Page.jsx";
import { EmptyState } from "../components/States.jsx";

export function NotFound() {
  return (
    <Page title="Page not found">
      <EmptyState title="There is nothing at this address.">
        <p>
          <a href="#/">Go to the start page</a>
        </p>
      </EmptyState>
    </Page>
  );
}

export function Forbidden({ what }) {
  return (
    <Page title={what || "Not available"}>
      <EmptyState title="Only owners and admins can open this.">
        <p>Ask an owner or admin of this organization if you need access.</p>
      </EmptyState>
    </Page>
  );
}
