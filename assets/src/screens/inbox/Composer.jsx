// Writing a message: a reply (POST /conversations/{id}/messages) or the
// first of a new conversation (POST /messages with channel_id and to, in
// extra). Text, a template or media by link, as far as the channel's
// plugin can send them (its capabilities in GET /plugins); outside the
// customer-care window only templates, where the channel has them. The
// server queues the message (202) and a dispatcher sends it.
//
// Each draft (text, template, media) carries its own Idempotency-Key,
// kept until its send succeeds, so pressing Send again after a lost
// answer cannot send it twice.
import { useEffect, useId, useRef, useState } from "preact/hooks";

import { Notice } from "../../components/Notice.jsx";
import { Segmented } from "../../components/Segmented.jsx";
import { MediaDraft } from "./MediaDraft.jsx";
import { sendErrorMessage, useSend } from "./send.js";
import { TemplateDraft } from "./TemplateDraft.jsx";

const MODES = [
  ["text", "Text"],
  ["template", "Template"],
  ["media", "Media"],
];

// path, extra: where and with what the message goes; plugin: the
// channel's adapter; channelId: for its templates; careWindowClosed: only
// templates go now; label: the text box's name ("Reply", "Message");
// preferred: the kind of message offered first, where the channel has it.
export function Composer({ path, extra = {}, plugin, channelId, careWindowClosed, label = "Reply", preferred, onSent }) {
  const caps = (plugin && plugin.capabilities) || [];
  const modes = MODES.filter(([m]) => caps.includes(m) && (!careWindowClosed || m === "template"));
  const [chosen, setChosen] = useState(preferred || null);
  const mode = modes.some(([m]) => m === chosen) ? chosen : modes.length ? modes[0][0] : null;
  // Drafts stay (hidden) once opened, so switching keeps what was typed.
  const [opened, setOpened] = useState(() => new Set());
  useEffect(() => {
    if (mode) setOpened((o) => (o.has(mode) ? o : new Set([...o, mode])));
  }, [mode]);
  const shown = (m) => m === mode || opened.has(m);
  const drafts = { path, extra, onSent };

  return (
    <section class="composer" aria-label={label === "Reply" ? "Reply" : "Write the message"}>
      {careWindowClosed && (
        <Notice kind="info">
          {caps.includes("template")
            ? "The customer last wrote more than 24 hours ago: WhatsApp only takes template messages until they write again."
            : "The customer last wrote more than 24 hours ago: this network only lets you answer within 24 hours of their last message. You can reply when they write again."}
        </Notice>
      )}
      {!mode && !careWindowClosed && <Notice kind="info">This channel cannot send messages.</Notice>}
      {modes.length > 1 && (
        <Segmented class="composer-modes" legend="Send" options={modes} value={mode} onChange={setChosen} />
      )}
      {shown("text") && <TextDraft {...drafts} label={label} hidden={mode !== "text"} />}
      {shown("template") && <TemplateDraft {...drafts} channelId={channelId} hidden={mode !== "template"} />}
      {shown("media") && <MediaDraft {...drafts} hidden={mode !== "media"} />}
    </section>
  );
}

// Enter sends, Shift+Enter starts a new line.
function TextDraft({ label, hidden, ...target }) {
  const id = useId();
  const [text, setText] = useState("");
  const box = useRef(null);
  const send = useSend(target);
  const submit = async () => {
    const body = text.trim();
    if (!body || send.busy) return;
    if (await send.run({ type: "text", text: { body } })) {
      setText("");
      if (box.current) box.current.focus();
    }
  };
  const onKeyDown = (e) => {
    if (e.key === "Enter" && !e.shiftKey && !e.isComposing) {
      e.preventDefault();
      submit();
    }
  };
  return (
    <form
      class="draft"
      hidden={hidden}
      aria-label={`${label}: text`}
      onSubmit={(e) => {
        e.preventDefault();
        submit();
      }}
    >
      {send.error && <Notice kind="error">{sendErrorMessage(send.error)}</Notice>}
      <div class="composer-row">
        <label class="visually-hidden" for={id}>
          {label}
        </label>
        <textarea
          id={id}
          ref={box}
          rows={2}
          value={text}
          placeholder={label === "Reply" ? "Write a reply…" : "Write a message…"}
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
