// Settings › Socials: one card per channel adapter the server runs
// (GET /api/v1/plugins), to connect an account with the fields the
// adapter asks for. Until the server offers that endpoint, this says the
// feature is coming rather than failing.
import { Page } from "../components/Page.jsx";
import { EmptyState, ErrorState, Loading } from "../components/States.jsx";
import { api, isMissingEndpoint } from "../lib/api.js";
import { useResource } from "../lib/hooks.js";

export function Socials() {
  const plugins = useResource(() => api.get("/plugins"), []);
  let body;
  if (plugins.loading && !plugins.data) body = <Loading />;
  else if (plugins.error && isMissingEndpoint(plugins.error))
    body = (
      <EmptyState title="Connecting social accounts is coming soon.">
        <p>You will connect WhatsApp numbers, Facebook Pages and Instagram accounts here.</p>
      </EmptyState>
    );
  else if (plugins.error) body = <ErrorState error={plugins.error} onRetry={plugins.reload} />;
  else body = <EmptyState title="Connecting social accounts is coming soon." />;
  return (
    <Page title="Socials" intro="The WhatsApp, Messenger and Instagram accounts whose messages land in the inbox.">
      {body}
    </Page>
  );
}
