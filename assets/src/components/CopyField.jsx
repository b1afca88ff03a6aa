// A read-only value (a link, a token) with a button that copies it.
// The clipboard API needs a secure context (https or localhost); where it
// is refused we fall back to selecting the text for the person to copy.
import { useId, useRef, useState } from "preact/hooks";

import { announce } from "../lib/hooks.js";

export function CopyField({ label, value, hint }) {
  const id = useId();
  const input = useRef(null);
  const [status, setStatus] = useState("");

  const copy = async () => {
    let ok = false;
    try {
      await navigator.clipboard.writeText(value);
      ok = true;
    } catch {
      input.current.select();
      try {
        ok = document.execCommand("copy");
      } catch {
        ok = false;
      }
    }
    const msg = ok ? "Copied" : "Selected: press Ctrl+C (⌘C) to copy";
    setStatus(msg);
    announce(ok ? `${label} copied to the clipboard` : msg);
    setTimeout(() => setStatus(""), 4000);
  };

  return (
    <div class="field copy-field">
      <label for={id}>{label}</label>
      <div class="copy-row">
        <input
          id={id}
          ref={input}
          readOnly
          value={value}
          spellcheck={false}
          aria-describedby={hint ? `${id}-hint` : undefined}
          onFocus={(e) => e.currentTarget.select()}
        />
        <button type="button" class="btn" onClick={copy}>
          {status === "Copied" ? "Copied ✓" : "Copy"}
        </button>
      </div>
      {hint && (
        <p class="hint" id={`${id}-hint`}>
          {hint}
        </p>
      )}
      {status && status !== "Copied" && <p class="hint">{status}</p>}
    </div>
  );
}
