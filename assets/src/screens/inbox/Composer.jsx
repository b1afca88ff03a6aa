// Writing a reply (POST /conversations/{id}/messages, text only for now).
// The server queues it (202) and a dispatcher sends it; the thread shows
// it at once with its queued tick, then its progress.
//
// Each draft carries one Idempotency-Key, kept until the send succeeds,
// so pressing Send again after a lost answer cannot send it twice.
// Enter sends, Shift+Enter starts a new line.
import { useId, useRef, useState } from "preact/hooks";

import { Notice } from "../../components/Notice.jsx";
import { api, randomId } from "../../lib/api.js";
import { fieldMessage } from "../../lib/format.js";
import { announce, useAction } from "../../lib/hooks.js";

export function Composer({ conversationId, careWindowClosed, onSent }) {
  const id = useId();
  const [text, setText] = useState("");
  const key = useRef(randomId());
  const box = useRef(null);
  const send = useAction(async () => {
    const body = text.trim();
    if (!body) return;
    const sent = await api.post(
      `/conversations/${conversationId}/messages`,
      { type: "text", text: { body } },
      { "Idempotency-Key": key.current },
    );
    key.current = randomId();
    setText("");
    announce("Message queued for sending");
    onSent(sent);
    if (box.current) box.current.focus();
  });

  const onKeyDown = (e) => {
    if (e.key === "Enter" && !e.shiftKey && !e.isComposing) {
      e.preventDefault();
      send.run();
    }
  };
  const detail = send.error && send.error.details["text.body"];

  return (
    <form
      class="composer"
      onSubmit={(e) => {
        e.preventDefault();
        send.run();
      }}
      aria-label="Reply"
    >
      {careWindowClosed && (
        <Notice kind="info">
          The customer last wrote more than 24 hours ago: WhatsApp only takes template messages until they write again.
        </Notice>
      )}
      {send.error && (
        <Notice kind="error">{detail ? fieldMessage("The message", detail) : send.error.message}</Notice>
      )}
      <div class="composer-row">
        <label class="visually-hidden" for={id}>
          Reply
        </label>
        <textarea
          id={id}
          ref={box}
          rows={2}
          value={text}
          placeholder="Write a reply…"
          aria-describedby={`${id}-hint`}
          onInput={(e) => setText(e.currentTarget.value)}
          onKeyDown={onKeyDown}
        />
        <button type="submit" class="btn btn-primary" aria-disabled={send.busy || !text.trim() ? "true" : undefined}>
          {send.busy ? "Sending…" : "Send"}
        </button>
      </div>
      <p class="hint" id={`${id}-hint`}>
        Enter to send, Shift+Enter for a new line.
      </p>
    </form>
  );
}
