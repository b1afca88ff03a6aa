// The form to connect an account, or change a connected one, drawn from
// the credential fields its plugin declares (GET /api/v1/plugins): label,
// hint, secret or not, required, maximum length. The server checks the
// values against the plugin's patterns and asks the provider whether they
// work, which can take a few seconds; its verdict comes back per field
// (details) or as a message on top (the provider's refusal).
//
// Editing: plain fields start with their current value; secrets start
// empty, and left empty they stay as they are (the server never sends
// them back, only a hint).
import { useEffect, useRef } from "preact/hooks";

import { Field } from "../../components/Field.jsx";
import { Form } from "../../components/Form.jsx";
import { api } from "../../lib/api.js";
import { useAction } from "../../lib/hooks.js";

const PREFIX = "cred:";

export function ChannelForm({ plugin, channel, onDone, onCancel }) {
  const editing = Boolean(channel);
  const current = (channel && channel.credentials) || {};
  const box = useRef(null);

  // The button that opened the form is gone: start at its first field.
  useEffect(() => {
    const first = box.current && box.current.querySelector("input");
    if (first) first.focus();
  }, []);

  const save = useAction(async (values) => {
    const credentials = {};
    for (const f of plugin.credential_fields) {
      const v = values[PREFIX + f.name] || "";
      if (editing ? v !== "" && (f.secret || v !== (current[f.name] || "")) : v !== "") {
        credentials[f.name] = v;
      }
    }
    let result;
    if (editing) {
      const body = { name: values.name };
      if (Object.keys(credentials).length) body.credentials = credentials;
      result = await api.patch(`/channels/${channel.id}`, body);
    } else {
      result = await api.post("/channels", { adapter: plugin.name, name: values.name, credentials });
    }
    onDone(result);
  });

  return (
    <div ref={box}>
      <Form
      class="channel-form"
      action={save}
      submitLabel={editing ? "Save changes" : `Connect ${plugin.display_name}`}
      busyLabel={`Checking with ${plugin.display_name}…`}
      secondary={
        <button type="button" class="btn btn-quiet" onClick={onCancel}>
          Cancel
        </button>
      }
      aria-label={editing ? `Change ${channel.name}` : `Connect ${plugin.display_name}`}
    >
      <Field
        label="Name in the inbox"
        name="name"
        required
        maxLength={100}
        defaultValue={editing ? channel.name : ""}
        hint="How your team will recognize this account, e.g. “Support line”."
      />
      {plugin.credential_fields.map((f) => (
        <Field
          key={f.name}
          label={f.label}
          name={PREFIX + f.name}
          detail={f.name}
          type={f.secret ? "password" : "text"}
          required={f.required && !(editing && f.secret)}
          maxLength={f.max_length || undefined}
          autocomplete="off"
          spellcheck={false}
          defaultValue={editing && !f.secret ? current[f.name] || "" : ""}
          placeholder={editing && f.secret && current[f.name] ? `Unchanged (${current[f.name]})` : undefined}
          hint={f.hint}
        />
      ))}
      </Form>
    </div>
  );
}
