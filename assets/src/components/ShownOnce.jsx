// A panel with what the server shows only this once (a new API token, an
// invitation link, a webhook secret). It takes the focus when it
// appears, so keyboard and screen-reader users land on it; give it a key
// per value so each new one is focused again.
import { useEffect, useRef } from "preact/hooks";

export function ShownOnce({ children, ...rest }) {
  const ref = useRef(null);
  useEffect(() => {
    if (ref.current) ref.current.focus();
  }, []);
  return (
    <div class="result" tabIndex={-1} ref={ref} {...rest}>
      {children}
    </div>
  );
}
