// Settings › API tokens (owners and admins): tokens let scripts and
// integrations use the API as this organization. A new token is shown
// once, right after creating it; the server keeps only its hash, so the
// list shows a hint of its last characters and when it was last used.
import { useRef, useState } from "preact/hooks";

import { ConfirmButton } from "../components/ConfirmButton.jsx";
import { CopyField } from "../components/CopyField.jsx";
import { Field } from "../components/Field.jsx";
import { Form } from "../components/Form.jsx";
import { Notice } from "../components/Notice.jsx";
import { RowError } from "../components/RowError.jsx";
import { ShownOnce } from "../components/ShownOnce.jsx";
import { Page } from "../components/Page.jsx";
import { EmptyState, Resource } from "../components/States.jsx";
import { Time } from "../components/Time.jsx";
import { api } from "../lib/api.js";
import { roleLabel } from "../lib/format.js";
import { announce, useAction, useResource } from "../lib/hooks.js";

export function Tokens() {
  const tokens = useResource(() => api.get("/api-tokens"), []);
  const [created, setCreated] = useState(null);
  const listHeading = useRef(null);
  const create = useAction(async (values, form) => {
    const token = await api.post("/api-tokens", values);
    setCreated(token);
    form.reset();
    tokens.setData((d) => ({ ...d, data: [token, ...d.data] }));
  });

  return (
    <Page
      title="API tokens"
      intro="Tokens let scripts and integrations call the API for this organization, with the role you give them. Send one as “Authorization: Bearer …”."
    >
      <section aria-labelledby="new-token-heading">
        <h2 id="new-token-heading">New token</h2>
        <Form
          class="inline-form"
          action={create}
          submitLabel="Create token"
          busyLabel="Creating…"
        >
          <Field label="Name" name="name" required maxLength={100} hint="What uses it, e.g. “CRM sync”." />
          <Field label="Role" name="role" as="select">
            <option value="agent">Agent</option>
            <option value="admin">Admin</option>
          </Field>
        </Form>
        {created && (
          <ShownOnce key={created.id} data-testid="token-result">
            <Notice kind="success" title={`Token “${created.name}” created.`}>
              <p>Copy it now and keep it somewhere safe: it is not shown again.</p>
            </Notice>
            <CopyField label="API token" value={created.token} />
            <button type="button" class="btn" onClick={() => {
                setCreated(null);
                if (listHeading.current) listHeading.current.focus();
              }}>
              Done
            </button>
          </ShownOnce>
        )}
      </section>
      <section aria-labelledby="tokens-heading">
        <h2 id="tokens-heading" tabIndex={-1} ref={listHeading}>
          Tokens
        </h2>
        <Resource
          res={tokens}
          isEmpty={(d) => d.data.length === 0}
          empty={
            <EmptyState title="No API tokens yet.">
              <p>Create one above when a script or integration needs to use the API.</p>
            </EmptyState>
          }
        >
          {(d) => (
            <ul class="rows" aria-labelledby="tokens-heading">
              {d.data.map((t) => (
                <TokenRow
                  key={t.id}
                  token={t}
                  onRevoked={(revoked) => {
                    // Shown at once, then the server's own record.
                    tokens.setData((cur) => ({ ...cur, data: cur.data.map((x) => (x.id === t.id ? revoked : x)) }));
                    tokens.reload();
                    // The focused button is gone; continue from the list.
                    if (listHeading.current) listHeading.current.focus();
                  }}
                />
              ))}
            </ul>
          )}
        </Resource>
      </section>
    </Page>
  );
}

function TokenRow({ token, onRevoked }) {
  const revoke = useAction(async () => {
    await api.del(`/api-tokens/${token.id}`);
    announce(`Token ${token.name} revoked`);
    onRevoked({ ...token, revoked_at: new Date().toISOString() });
  });
  const revoked = Boolean(token.revoked_at);
  return (
    <li class={revoked ? "row row-revoked" : "row"} data-testid="token-row">
      <div class="row-main">
        <p class="row-title">
          <span class="token-name">{token.name}</span>
          <span class={`badge badge-${token.role}`}>{roleLabel(token.role)}</span>
          {revoked && <span class="badge badge-revoked">Revoked</span>}
        </p>
        <p class="row-sub">
          <code>{token.hint}</code> · created <Time iso={token.created_at} />
        </p>
        <p class="row-sub">
          Last used: <Time iso={token.last_used_at} relative fallback="never" />
          {revoked && (
            <>
              {" "}
              · revoked <Time iso={token.revoked_at} />
            </>
          )}
        </p>
      </div>
      {!revoked && (
        <div class="row-actions">
          <ConfirmButton
            label={`Revoke ${token.name}`}
            question={`Revoke “${token.name}”? Whatever uses it stops working.`}
            onConfirm={revoke.run}
          >
            Revoke
          </ConfirmButton>
        </div>
      )}
      <RowError error={revoke.error} />
    </li>
  );
}
