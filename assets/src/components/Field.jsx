// A labelled form control with its hint and, after a failed submit, the
// API's detail for this field, tied to the control with
// aria-describedby so screen readers read it with the label.
import { useContext, useId } from "preact/hooks";

import { fieldMessage } from "../lib/format.js";
import { FormErrors } from "./Form.jsx";

// detail: the key of this field in the API's details, when it differs
// from the input's name.
export function Field({ label, name, detail, hint, as: Control = "input", children, ...rest }) {
  const details = useContext(FormErrors);
  const id = useId();
  const error = fieldMessage(label, details[detail || name]);
  const describedBy = [hint && `${id}-hint`, error && `${id}-error`].filter(Boolean).join(" ");
  return (
    <div class={error ? "field field-invalid" : "field"}>
      <label for={id}>{label}</label>
      <Control
        id={id}
        name={name}
        aria-invalid={error ? "true" : undefined}
        aria-describedby={describedBy || undefined}
        {...rest}
      >
        {children}
      </Control>
      {hint && (
        <p class="hint" id={`${id}-hint`}>
          {hint}
        </p>
      )}
      {error && (
        <p class="field-error" id={`${id}-error`}>
          {error}
        </p>
      )}
    </div>
  );
}
