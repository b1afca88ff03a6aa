// A WhatsApp template message: picked from the channel's approved
// templates (GET /channels/{id}/templates), its variables filled in with
// a preview of what the customer reads. Where the list cannot be had
// (the server does not offer it, the provider failed), a form takes the
// template's name, language and body values by hand, and says why.
import { useState } from "preact/hooks";

import { Field } from "../../components/Field.jsx";
import { Form } from "../../components/Form.jsx";
import { Notice } from "../../components/Notice.jsx";
import { Loading } from "../../components/States.jsx";
import { ApiError, api, isMissingEndpoint } from "../../lib/api.js";
import { useResource } from "../../lib/hooks.js";
import { useSend } from "./send.js";
import { isApproved, templateComponents, templateInputs, templatePreview } from "./templates.js";

// The server lists a channel's templates one request at a time per
// channel (429 with retry_after while another is running): wait once.
function loadTemplates(channelId) {
  const path = `/channels/${channelId}/templates`;
  return api.get(path).catch((err) => {
    if (!(err instanceof ApiError) || err.status !== 429) throw err;
    const seconds = Math.min(Number(err.details.retry_after) || 2, 10);
    return new Promise((resolve) => setTimeout(resolve, seconds * 1000)).then(() => api.get(path));
  });
}

export function TemplateDraft({ channelId, hidden, ...target }) {
  const list = useResource(() => loadTemplates(channelId), [channelId]);
  const send = useSend(target);

  let body;
  if (list.data === undefined && !list.error) {
    body = <Loading label="Loading the channel's templates…" />;
  } else if (list.error) {
    body = (
      <>
        <Notice kind="info" data-testid="templates-unavailable">
          {isMissingEndpoint(list.error) ? (
            <p>This server cannot list the channel's templates yet.</p>
          ) : (
            <p>
              Couldn't load the channel's templates: {list.error.message}{" "}
              <button type="button" class="btn btn-small" onClick={list.reload}>
                Try again
              </button>
            </p>
          )}
          <p>Enter the template by hand, exactly as it was approved in WhatsApp Manager.</p>
        </Notice>
        <ManualTemplate send={send} />
      </>
    );
  } else {
    const all = (list.data && list.data.templates) || [];
    const approved = all.filter(isApproved);
    body =
      approved.length === 0 ? (
        <>
          <Notice kind="info">
            <p>
              {all.length
                ? "None of this channel's templates is approved yet."
                : "This channel has no message templates."}{" "}
              Templates are created and approved in WhatsApp Manager; you can also enter one by hand.
            </p>
          </Notice>
          <ManualTemplate send={send} />
        </>
      ) : (
        <>
          {list.data.truncated && (
            <Notice kind="info">The account has more templates than could be fetched at once; some are not listed.</Notice>
          )}
          <TemplatePicker templates={approved} others={all.length - approved.length} send={send} />
        </>
      );
  }
  return (
    <div class="draft" hidden={hidden}>
      {body}
    </div>
  );
}

function templateKey(t) {
  return `${t.name}|${t.language}`;
}

function TemplatePicker({ templates, others, send }) {
  const [chosen, setChosen] = useState(templateKey(templates[0]));
  const [values, setValues] = useState({});
  const t = templates.find((x) => templateKey(x) === chosen) || templates[0];
  const inputs = templateInputs(t);
  const action = {
    ...send,
    run: async () => {
      const template = { name: t.name, language: t.language };
      const components = templateComponents(t, values);
      if (components.length) template.components = components;
      if (await send.run({ type: "template", template })) setValues({});
    },
  };
  return (
    <Form action={action} submitLabel="Send template" busyLabel="Sending…" aria-label="Template message">
      <Field
        label="Template"
        name="template"
        as="select"
        value={templateKey(t)}
        onChange={(e) => {
          setChosen(e.currentTarget.value);
          setValues({});
        }}
        hint={others ? `${others} more are waiting for approval or were rejected; only approved ones can be sent.` : undefined}
      >
        {templates.map((x) => (
          <option key={templateKey(x)} value={templateKey(x)}>
            {x.name} ({x.language}){x.category ? ` · ${x.category.toLowerCase()}` : ""}
          </option>
        ))}
      </Field>
      {inputs.map((input) => (
        <Field
          key={`${templateKey(t)} ${input.key}`}
          label={input.label}
          name={input.key}
          type={input.media ? "url" : "text"}
          required
          value={values[input.key] || ""}
          onInput={(e) => setValues({ ...values, [input.key]: e.currentTarget.value })}
          hint={input.example ? `For example: ${input.example}` : undefined}
        />
      ))}
      <div class="template-preview">
        <p class="template-preview-label" id="template-preview-label">
          The customer reads
        </p>
        <p class="msg-text" aria-labelledby="template-preview-label" data-testid="template-preview">
          {templatePreview(t, values)}
        </p>
      </div>
    </Form>
  );
}

// Name, language and the body's values, one per line, in order.
function ManualTemplate({ send }) {
  const action = {
    ...send,
    run: async (values, form) => {
      const params = String(values.parameters || "")
        .split("\n")
        .map((p) => p.trim())
        .filter(Boolean);
      const template = { name: (values.name || "").trim(), language: (values.language || "").trim() };
      if (params.length) template.components = [{ type: "body", parameters: params.map((text) => ({ type: "text", text })) }];
      if (await send.run({ type: "template", template })) form.reset();
    },
  };
  return (
    <Form action={action} submitLabel="Send template" busyLabel="Sending…" aria-label="Template message by hand">
      <Field label="Template name" name="name" detail="template.name" required autocomplete="off" hint="As approved, e.g. order_update." />
      <Field label="Language" name="language" detail="template.language" required autocomplete="off" hint="The language code it was approved in, e.g. en_US." />
      <Field
        label="Body values"
        name="parameters"
        detail="template.components"
        as="textarea"
        rows={3}
        hint="One per line, in order: the first line fills {{1}}, the second {{2}}, and so on. Leave empty if it has none."
      />
    </Form>
  );
}
