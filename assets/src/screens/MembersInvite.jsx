// Settings › Members, for owners and admins: invite someone (the server
// gives back a link to send them; it is shown once, with a copy button)
// and the invitations still open, which can be revoked.
import { useState } from "preact/hooks";

import { ConfirmButton } from "../components/ConfirmButton.jsx";
import { CopyField } from "../components/CopyField.jsx";
import { Field } from "../components/Field.jsx";
import { Form } from "../components/Form.jsx";
import { Notice } from "../components/Notice.jsx";
import { RowError } from "../components/RowError.jsx";
import { ShownOnce } from "../components/ShownOnce.jsx";
import { EmptyState, Resource } from "../components/States.jsx";
import { Time } from "../components/Time.jsx";
import { api } from "../lib/api.js";
import { ROLE_LABELS, roleLabel } from "../lib/format.js";
import { announce, useAction, useResource } from "../lib/hooks.js";

export function MembersInvite({ viewer }) {
  const [created, setCreated] = useState(null);
  const invitations = useResource(() => api.get("/invitations"), []);
  const invite = useAction(async (values, form) => {
    setCreated(await api.post("/invitations", values));
    form.reset();
    invitations.reload();
  });

  const roles = Object.keys(ROLE_LABELS).filter((r) => r !== "owner" || viewer === "owner");

  return (
    <>
      <section aria-labelledby="invite-heading">
        <h2 id="invite-heading">Invite someone</h2>
        <Form
          class="inline-form"
          action={invite}
          submitLabel="Create invitation"
          busyLabel="Creating…"
        >
          <Field label="Email" name="email" type="email" autocomplete="off" required />
          <Field label="Role" name="role" as="select">
            {roles.map((r) => (
              <option key={r} value={r}>
                {ROLE_LABELS[r]}
              </option>
            ))}
          </Field>
        </Form>
        {created && (
          <ShownOnce key={created.id} data-testid="invite-result">
            <Notice kind="success" title="Invitation created.">
              <p>
                Send this link to <strong>{created.email}</strong>. It makes them {roleLabel(created.role)} and works once,
                until <Time iso={created.expires_at} />. It is not shown again.
              </p>
            </Notice>
            <CopyField label="Invitation link" value={created.link} />
          </ShownOnce>
        )}
      </section>
      <section aria-labelledby="pending-heading">
        <h2 id="pending-heading">Open invitations</h2>
        <Resource
          res={invitations}
          isEmpty={(d) => d.data.length === 0}
          empty={<EmptyState title="No open invitations." />}
        >
          {(d) => (
            <ul class="rows" aria-labelledby="pending-heading">
              {d.data.map((inv) => (
                <InvitationRow key={inv.id} inv={inv} onRevoked={invitations.reload} />
              ))}
            </ul>
          )}
        </Resource>
      </section>
    </>
  );
}

function InvitationRow({ inv, onRevoked }) {
  const revoke = useAction(async () => {
    await api.del(`/invitations/${inv.id}`);
    announce(`Invitation for ${inv.email} revoked`);
    onRevoked();
  });
  return (
    <li class="row" data-testid="invitation-row">
      <div class="row-main">
        <p class="row-title">{inv.email}</p>
        <p class="row-sub">
          {roleLabel(inv.role)} · invited <Time iso={inv.created_at} relative /> · expires <Time iso={inv.expires_at} />
        </p>
      </div>
      <div class="row-actions">
        <ConfirmButton
          label={`Revoke the invitation for ${inv.email}`}
          question={`Revoke the invitation for ${inv.email}?`}
          onConfirm={revoke.run}
        >
          Revoke
        </ConfirmButton>
      </div>
      <RowError error={revoke.error} />
    </li>
  );
}
