// Sign up: a new organization with its first owner, signed in at once.
import { Field } from "../components/Field.jsx";
import { Form } from "../components/Form.jsx";
import { NewPasswordField } from "../components/NewPasswordField.jsx";
import { Page } from "../components/Page.jsx";
import { api } from "../lib/api.js";
import { useAction } from "../lib/hooks.js";
import { useSession } from "../lib/session.js";

export function Signup() {
  const { signedIn } = useSession();
  const signup = useAction(async (values) => signedIn(await api.post("/auth/signup", values)));

  return (
    <Page title="Create your organization" intro="Your team's shared inbox for WhatsApp, Messenger and Instagram.">
      <Form
        action={signup}
        submitLabel="Create organization"
        busyLabel="Creating…"
      >
        <Field label="Organization name" name="organization_name" autocomplete="organization" required maxLength={200} />
        <Field label="Your name" name="name" autocomplete="name" required maxLength={200} />
        <Field label="Email" name="email" type="email" autocomplete="email" required />
        <NewPasswordField />
      </Form>
      <p class="auth-switch">
        Already have an account? <a href="#/login">Sign in</a>
      </p>
    </Page>
  );
}
