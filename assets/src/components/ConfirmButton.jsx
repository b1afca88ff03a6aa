// A destructive action that asks first, in place: the button turns into
// the question with "confirm" and "cancel". Focus moves to the
// confirmation and back to the button on cancel (or Escape), so keyboard
// users never lose their place. Used instead of window.confirm, which
// cannot be styled or described.
import { useEffect, useRef, useState } from "preact/hooks";

// children: the button's text, also the confirming button's unless
// confirmLabel says otherwise; label: its accessible name, naming the
// row ("Remove Ann"); onConfirm: the action, awaited.
export function ConfirmButton({ children, question, confirmLabel = children, onConfirm, label }) {
  const [asking, setAsking] = useState(false);
  const [busy, setBusy] = useState(false);
  const trigger = useRef(null);
  const confirm = useRef(null);
  const wasAsking = useRef(false);

  useEffect(() => {
    if (asking && confirm.current) confirm.current.focus();
    else if (wasAsking.current && trigger.current) trigger.current.focus();
    wasAsking.current = asking;
  }, [asking]);

  if (!asking) {
    return (
      <button type="button" class="btn btn-quiet" ref={trigger} aria-label={label} onClick={() => setAsking(true)}>
        {children}
      </button>
    );
  }

  const go = async () => {
    if (busy) return;
    setBusy(true);
    try {
      await onConfirm();
    } finally {
      // The row may be gone by now; then there is nothing to reset.
      if (confirm.current) {
        setBusy(false);
        setAsking(false);
      }
    }
  };

  return (
    <span class="confirm" role="group" aria-label={question} onKeyDown={(e) => e.key === "Escape" && setAsking(false)}>
      <span class="confirm-question">{question}</span>
      <button type="button" class="btn btn-danger" ref={confirm} aria-disabled={busy ? "true" : undefined} onClick={go}>
        {busy ? "Working…" : confirmLabel}
      </button>
      <button type="button" class="btn" onClick={() => setAsking(false)}>
        Cancel
      </button>
    </span>
  );
}
