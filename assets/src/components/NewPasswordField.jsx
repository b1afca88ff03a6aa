// The password field of a new account (sign-up, accepting an invitation):
// the server's rule as a hint, and what browsers need to offer a strong
// generated password.
import { Field } from "./Field.jsx";

export function NewPasswordField() {
  return (
    <Field
      label="Password"
      name="password"
      type="password"
      autocomplete="new-password"
      required
      minLength={10}
      maxLength={128}
      hint="10 to 128 characters. A few unrelated words make a good one."
    />
  );
}
