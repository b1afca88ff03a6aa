// Words for what the API sends as codes: networks, message types,
// delivery states. Everything customers wrote stays as they wrote it.

const FAMILIES = { whatsapp: "WhatsApp", messenger: "Messenger", instagram: "Instagram" };

// What to ask for to reach someone on a network (POST /messages "to").
export const RECIPIENT_HINTS = {
  whatsapp: "Their phone number with its country code, e.g. +15551230001.",
  messenger: "Their Page-scoped id (PSID), from an earlier conversation.",
  instagram: "Their Instagram-scoped id (IGSID), from an earlier conversation.",
};

export function familyLabel(family) {
  return FAMILIES[family] || family || "";
}

const TYPES = {
  image: "Photo",
  video: "Video",
  audio: "Audio",
  document: "Document",
  sticker: "Sticker",
  location: "Location",
  contacts: "Contact card",
  interactive: "Reply",
  button: "Button reply",
  postback: "Button",
  reaction: "Reaction",
  story_reply: "Reply to a story",
  story_mention: "Story mention",
  order: "Order",
  system: "System message",
  request_welcome: "Opened the chat",
  deleted: "Deleted a message",
  unsupported: "Unsupported message",
  template: "Template",
};

export function typeLabel(type) {
  return TYPES[type] || type;
}

export function contactName(contact) {
  if (!contact) return "Unknown contact";
  return contact.display_name || contact.name || contact.username || contact.external_id || "Unknown contact";
}

// One line for the conversation list.
export function preview(message) {
  if (!message) return "No messages yet";
  const body = message.text || `[${typeLabel(message.type)}]`;
  return message.direction === "out" ? `You: ${body}` : body;
}

export const STATUS_TICKS = {
  queued: { mark: "clock", label: "Queued" },
  sent: { mark: "✓", label: "Sent" },
  delivered: { mark: "✓✓", label: "Delivered" },
  read: { mark: "✓✓", label: "Read" },
  played: { mark: "✓✓", label: "Played" },
  failed: { mark: "!", label: "Not delivered" },
};
