// Accepting an invitation (#/invite/TOKEN). The preview says who invited
// whom, to what and as which role; someone new picks a name and a
// password, someone with an account proves it is theirs with their
// password. Either way they end up signed in to the organization.
import { Field } from "../components/Field.jsx";
import { Form } from "../components/Form.jsx";
import { NewPasswordField } from "../components/NewPasswordField.jsx";
import { Notice } from "../components/Notice.jsx";
import { Page } from "../components/Page.jsx";
import { Loading } from "../components/States.jsx";
import { Time } from "../components/Time.jsx";
import { api } from "../lib/api.js";
import { roleLabel } from "../lib/format.js";
import { useAction, useResource } from "../lib/hooks.js";
import { useSession } from "../lib/session.js";

export function Invite({ params }) {
  const { token } = params;
  const { me, signedIn } = useSession();
  const preview = useResource(() => api.post("/invitations/preview", { token }), [token]);
  const accept = useAction(async (values) =>
    signedIn(await api.post("/invitations/accept", { ...values, token })),
  );

  if (preview.loading && !preview.data) {
    return (
      <Page title="Invitation">
        <Loading label="Opening the invitation…" />
      </Page>
    );
  }
  if (preview.error) {
    return (
      <Page title="Invitation">
        <Notice kind="error" title="This invitation can't be used.">
          <p>{preview.error.message}</p>
          <p>Ask whoever invited you for a new link.</p>
        </Notice>
        <p class="auth-switch">
          {me ? <a href="#/inbox">Back to the inbox</a> : <a href="#/login">Sign in</a>}
        </p>
      </Page>
    );
  }

  const inv = preview.data;
  const orgName = inv.organization ? inv.organization.name : "the organization";
  return (
    <Page title={`Join ${orgName}`} docTitle="Invitation">
      <dl class="facts">
        <dt>Organization</dt>
        <dd>{orgName}</dd>
        <dt>Email</dt>
        <dd>{inv.email}</dd>
        <dt>Role</dt>
        <dd>{roleLabel(inv.role)}</dd>
        <dt>Valid until</dt>
        <dd>
          <Time iso={inv.expires_at} />
        </dd>
      </dl>
      {me && me.user && me.user.email !== inv.email && (
        <Notice kind="info">
          You are signed in as {me.user.email}. Accepting signs you in as {inv.email} instead.
        </Notice>
      )}
      <Form
        action={accept}
        submitLabel={`Join ${orgName}`}
        busyLabel="Joining…"
      >
        {inv.existing_user ? (
          <>
            <p class="form-intro">You already have an account. Enter its password to join.</p>
            {/* For password managers; not sent. */}
            <input type="hidden" value={inv.email} autocomplete="username" />
            <Field label="Password" name="password" type="password" autocomplete="current-password" required />
          </>
        ) : (
          <>
            <p class="form-intro">Choose your name and a password to create your account.</p>
            <Field label="Your name" name="name" autocomplete="name" required maxLength={200} />
            <NewPasswordField />
          </>
        )}
      </Form>
    </Page>
  );
}
