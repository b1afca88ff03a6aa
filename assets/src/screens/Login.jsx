// Sign in with email and password.
import { Field } from "../components/Field.jsx";
import { Form } from "../components/Form.jsx";
import { Notice } from "../components/Notice.jsx";
import { Page } from "../components/Page.jsx";
import { api } from "../lib/api.js";
import { useAction } from "../lib/hooks.js";
import { useSession } from "../lib/session.js";

export function Login() {
  const { signedIn, flash } = useSession();
  const login = useAction(async (values) => signedIn(await api.post("/auth/login", values)));

  return (
    <Page title="Sign in">
      {flash && !login.error && <Notice kind="info">{flash}</Notice>}
      <Form action={login} submitLabel="Sign in" busyLabel="Signing in…">
        <Field label="Email" name="email" type="email" autocomplete="username" required />
        <Field label="Password" name="password" type="password" autocomplete="current-password" required />
      </Form>
      <p class="auth-switch">
        New here? <a href="#/signup">Create an organization</a>
      </p>
    </Page>
  );
}
