// Sending one draft (Composer's text, template and media forms): its
// Idempotency-Key, the call, and what to say when the server refuses.
import { useRef } from "preact/hooks";

import { api, randomId } from "../../lib/api.js";
import { fieldMessage } from "../../lib/format.js";
import { announce, useAction } from "../../lib/hooks.js";

// Sends one draft's messages: useAction's result, whose run(message)
// resolves to the queued message (or undefined, with .error).
export function useSend({ path, extra, onSent }) {
  const key = useRef(randomId());
  return useAction(async (message) => {
    let sent;
    try {
      sent = await api.post(path, { ...extra, ...message }, { "Idempotency-Key": key.current });
    } catch (e) {
      // The key went with an earlier message that did go: another try is
      // another message, under a new key.
      if (e.code === "IDEMPOTENCY_KEY_REUSED") key.current = randomId();
      throw e;
    }
    key.current = randomId();
    announce("Message queued for sending");
    onSent(sent);
    return sent;
  });
}

const DETAIL_LABELS = {
  "text.body": "The message",
  "media.link": "The link",
  "media.caption": "The caption",
  "media.filename": "The file name",
  "template.name": "The template name",
  "template.language": "The language",
  "template.components": "The template's values",
  to: "The recipient",
  channel_id: "The channel",
};

// What to say about a refused send: the field at fault where the API
// names one, else its message.
export function sendErrorMessage(err) {
  if (err.code === "IDEMPOTENCY_KEY_REUSED") {
    return "An earlier try of this draft was sent already. Check the conversation before sending it again.";
  }
  const field = Object.keys(DETAIL_LABELS).find((k) => err.details[k]);
  return field ? fieldMessage(DETAIL_LABELS[field], err.details[field]) : err.message;
}
