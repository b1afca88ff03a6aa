// WhatsApp message templates, as Meta describes them (GET
// /channels/{id}/templates gives each with its "components": HEADER,
// BODY, FOOTER, BUTTONS), and the "components" a send of one carries:
// the values of its variables, {{1}}, {{2}}… (positional) or
// {{first_name}} (named), in Meta's shape.

const VARIABLE = /\{\{\s*([A-Za-z_][A-Za-z0-9_]*|[0-9]+)\s*\}\}/g;

// The variables of a text, each once: positional ones by number, named
// ones in the order they first appear.
export function variables(text) {
  const seen = [];
  for (const m of String(text || "").matchAll(VARIABLE)) {
    if (!seen.includes(m[1])) seen.push(m[1]);
  }
  const positional = seen.every((v) => /^[0-9]+$/.test(v));
  return positional ? seen.sort((a, b) => Number(a) - Number(b)) : seen;
}

// The text with each variable replaced by its value, where one is given.
export function fill(text, values) {
  return String(text || "").replace(VARIABLE, (all, name) => (values[name] ? values[name] : all));
}

export function isApproved(t) {
  return String(t.status || "").toUpperCase() === "APPROVED";
}

const MEDIA_HEADERS = { IMAGE: "image", VIDEO: "video", DOCUMENT: "document" };

// What the form asks for, from a template: one entry per value to fill.
//   { key, part, name, label, example, media }
// key names the form field; part is "header", "body" or a button index.
export function templateInputs(t) {
  const comps = Array.isArray(t.components) ? t.components : [];
  const find = (type) => comps.find((c) => String(c.type || "").toUpperCase() === type);
  const inputs = [];
  const header = find("HEADER");
  if (header) {
    const format = String(header.format || "TEXT").toUpperCase();
    if (MEDIA_HEADERS[format]) {
      inputs.push({ key: "header:link", part: "header", media: MEDIA_HEADERS[format], label: `Header ${format.toLowerCase()} link` });
    } else {
      const examples = (header.example && header.example.header_text) || [];
      variables(header.text).forEach((name, i) =>
        inputs.push({ key: `header:${name}`, part: "header", name, label: `Header {{${name}}}`, example: exampleOf(header.example, "header_text_named_params", name, examples[i]) }),
      );
    }
  }
  const body = find("BODY");
  if (body) {
    const examples = (body.example && body.example.body_text && body.example.body_text[0]) || [];
    variables(body.text).forEach((name, i) =>
      inputs.push({ key: `body:${name}`, part: "body", name, label: `Body {{${name}}}`, example: exampleOf(body.example, "body_text_named_params", name, examples[i]) }),
    );
  }
  const buttons = find("BUTTONS");
  ((buttons && buttons.buttons) || []).forEach((b, index) => {
    if (String(b.type || "").toUpperCase() !== "URL") return;
    variables(b.url).forEach((name) =>
      inputs.push({ key: `button${index}:${name}`, part: index, name, label: `Button “${b.text || index + 1}” link {{${name}}}`, example: Array.isArray(b.example) ? b.example[0] : undefined }),
    );
  });
  return inputs;
}

function exampleOf(example, namedKey, name, positional) {
  const named = example && example[namedKey];
  if (Array.isArray(named)) {
    const hit = named.find((p) => p.param_name === name);
    return hit ? hit.example : undefined;
  }
  return typeof positional === "string" ? positional : undefined;
}

// The send's components from the form's values (by input key).
export function templateComponents(t, values) {
  const inputs = templateInputs(t);
  const param = (input) => {
    const p = { type: "text", text: values[input.key] };
    if (!/^[0-9]+$/.test(input.name)) p.parameter_name = input.name;
    return p;
  };
  const components = [];
  const headerInputs = inputs.filter((i) => i.part === "header");
  if (headerInputs.length) {
    const media = headerInputs[0].media;
    components.push({
      type: "header",
      parameters: media ? [{ type: media, [media]: { link: values["header:link"] } }] : headerInputs.map(param),
    });
  }
  const bodyInputs = inputs.filter((i) => i.part === "body");
  if (bodyInputs.length) components.push({ type: "body", parameters: bodyInputs.map(param) });
  const indexes = [...new Set(inputs.filter((i) => typeof i.part === "number").map((i) => i.part))];
  for (const index of indexes) {
    components.push({
      type: "button",
      sub_type: "url",
      index: String(index),
      parameters: inputs.filter((i) => i.part === index).map(param),
    });
  }
  return components;
}

// The template's words as the customer will read them, values filled in.
export function templatePreview(t, values) {
  const comps = Array.isArray(t.components) ? t.components : [];
  const byPart = (part) => {
    const v = {};
    for (const [k, val] of Object.entries(values)) {
      const [p, name] = k.split(":");
      if (p === part) v[name] = val;
    }
    return v;
  };
  const lines = [];
  for (const c of comps) {
    const type = String(c.type || "").toUpperCase();
    if (type === "HEADER" && c.text) lines.push(fill(c.text, byPart("header")));
    else if (type === "BODY") lines.push(fill(c.text, byPart("body")));
    else if (type === "FOOTER" && c.text) lines.push(c.text);
    else if (type === "BUTTONS") lines.push((c.buttons || []).map((b) => `[${b.text}]`).join(" "));
  }
  return lines.filter(Boolean).join("\n\n");
}
