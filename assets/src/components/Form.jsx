// A form whose fields are plain named inputs: the action gets their
// values as an object. The API's error is shown on top, and each of its
// "details" next to the field of that name (see Field), so a failed
// submit says what to fix and where. Focus goes to the first field in
// error, or to the message, so keyboard and screen-reader users land on
// the problem.
import { createContext } from "preact";
import { useEffect, useRef } from "preact/hooks";

import { Notice } from "./Notice.jsx";

export const FormErrors = createContext({});

// action: what useAction() returned for the submit; its run() gets the
// values and the form element, its error and busy state show here.
export function Form({ action, submitLabel, busyLabel, secondary, children, ...rest }) {
  const { run, error, busy } = action;
  const ref = useRef(null);

  useEffect(() => {
    if (!error || !ref.current) return;
    const target =
      ref.current.querySelector('[aria-invalid="true"]') || ref.current.querySelector(".notice");
    if (target) target.focus();
  }, [error]);

  const submit = (e) => {
    e.preventDefault();
    // aria-disabled rather than disabled keeps focus on the button.
    if (busy) return;
    const form = e.currentTarget;
    run(Object.fromEntries(new FormData(form)), form);
  };

  return (
    <form ref={ref} onSubmit={submit} aria-busy={busy ? "true" : undefined} {...rest}>
      {error && (
        <Notice kind="error" tabIndex={-1}>
          {error.message}
        </Notice>
      )}
      <FormErrors.Provider value={(error && error.details) || {}}>{children}</FormErrors.Provider>
      <div class="form-actions">
        <button type="submit" class="btn btn-primary" aria-disabled={busy ? "true" : undefined}>
          {busy ? busyLabel || "Working…" : submitLabel}
        </button>
        {secondary}
      </div>
    </form>
  );
}
