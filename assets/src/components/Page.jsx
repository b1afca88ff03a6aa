// A screen's frame: its heading and the document title.
//
// On navigation, focus moves to the new screen's heading, so keyboard
// and screen-reader users start at the top of what changed instead of
// on a link that is no longer there. Not on the first screen of a visit:
// there, the browser's own start of page is right.
import { useEffect, useRef } from "preact/hooks";

import { useTitle } from "../lib/hooks.js";

let firstScreen = true;

export function Page({ title, docTitle, intro, actions, children, class: cls = "" }) {
  const heading = useRef(null);
  useTitle(docTitle || title);
  useEffect(() => {
    if (firstScreen) {
      firstScreen = false;
      return;
    }
    if (heading.current) heading.current.focus();
  }, []);
  return (
    <section class={`page ${cls}`}>
      <header class="page-head">
        <div>
          <h1 tabIndex={-1} ref={heading}>
            {title}
          </h1>
          {intro && <p class="page-intro">{intro}</p>}
        </div>
        {actions && <div class="page-actions">{actions}</div>}
      </header>
      {children}
    </section>
  );
}
