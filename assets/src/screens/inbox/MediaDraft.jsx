// A photo, video, audio or document, sent by link: the provider fetches
// the file from that address (nothing is uploaded here). Captions go
// with photos, videos and documents, a file name with documents; what
// else a channel refuses (Instagram takes no documents or captions) the
// server says, before anything is queued.
import { useState } from "preact/hooks";

import { Field } from "../../components/Field.jsx";
import { Form } from "../../components/Form.jsx";
import { useSend } from "./send.js";
import { typeLabel } from "./labels.js";

const KINDS = ["image", "video", "audio", "document"];

export function MediaDraft({ hidden, ...target }) {
  const [kind, setKind] = useState("image");
  const send = useSend(target);
  const action = {
    ...send,
    run: async (values, form) => {
      const media = { link: (values.link || "").trim() };
      const caption = (values.caption || "").trim();
      const filename = (values.filename || "").trim();
      if (caption && kind !== "audio") media.caption = caption;
      if (filename && kind === "document") media.filename = filename;
      if (await send.run({ type: kind, media })) {
        for (const name of ["link", "caption", "filename"]) if (form.elements[name]) form.elements[name].value = "";
      }
    },
  };
  const what = typeLabel(kind).toLowerCase();
  return (
    <Form action={action} submitLabel={`Send ${what}`} busyLabel="Sending…" class="draft media-draft" hidden={hidden} aria-label="Media by link">
      <Field label="Kind" name="kind" as="select" value={kind} onChange={(e) => setKind(e.currentTarget.value)}>
        {KINDS.map((k) => (
          <option key={k} value={k}>
            {typeLabel(k)}
          </option>
        ))}
      </Field>
      <Field
        label="Link"
        name="link"
        detail="media.link"
        type="url"
        required
        placeholder="https://"
        hint="A public http or https address of the file; the provider downloads it from there."
      />
      {kind !== "audio" && <Field label="Caption" name="caption" detail="media.caption" hint="Optional." />}
      {kind === "document" && (
        <Field label="File name" name="filename" detail="media.filename" hint="Optional: the name the customer sees, e.g. invoice.pdf." />
      )}
    </Form>
  );
}
