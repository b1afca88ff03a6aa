// One connected account: its status as the server last saw it, what it
// was connected with (secrets only as hints), where its webhooks go, and
// for owners and admins the actions: test the connection, change it,
// disconnect (stop receiving; the account is freed for elsewhere),
// reconnect, delete (with its conversations).
import { useEffect, useState } from "preact/hooks";

import { ConfirmButton } from "../../components/ConfirmButton.jsx";
import { CopyField } from "../../components/CopyField.jsx";
import { Notice } from "../../components/Notice.jsx";
import { ShownOnce } from "../../components/ShownOnce.jsx";
import { Time } from "../../components/Time.jsx";
import { api } from "../../lib/api.js";
import { announce } from "../../lib/hooks.js";
import { ChannelForm } from "./ChannelForm.jsx";

const STATUS = {
  connected: { label: "Connected", badge: "badge-ok" },
  error: { label: "Needs attention", badge: "badge-error" },
  disconnected: { label: "Disconnected", badge: "badge-muted" },
};

export function ChannelCard({ channel, plugin, isAdmin, onChanged, onDeleted }) {
  const [editing, setEditing] = useState(false);
  const [busy, setBusy] = useState(null);
  const [outcome, setOutcome] = useState(null);
  // Some providers cannot be told our webhook secret: the server makes
  // one on connect and reconnect and sends it this once. Kept here until
  // dismissed, whatever later answers (which never carry it) say.
  const fresh = channel.webhook && channel.webhook.secret;
  const [secret, setSecret] = useState(fresh ? channel.webhook : null);
  useEffect(() => {
    if (fresh) setSecret(channel.webhook);
  }, [fresh]);
  const status = STATUS[channel.status] || { label: channel.status, badge: "" };
  const fields = (plugin && plugin.credential_fields) || [];
  const labelOf = (name) => (fields.find((f) => f.name === name) || { label: name }).label;

  // Test, reconnect and disconnect all answer with the channel as it is now.
  const act = async (what, path, done) => {
    if (busy) return;
    setBusy(what);
    setOutcome(null);
    try {
      const updated = await api.post(`/channels/${channel.id}/${path}`);
      onChanged(updated);
      const msg = done(updated);
      setOutcome({ kind: updated.status === "error" ? "error" : "success", text: msg });
      announce(msg);
    } catch (err) {
      setOutcome({ kind: "error", text: err.message });
    } finally {
      setBusy(null);
    }
  };

  const test = () =>
    act("test", "test", (ch) =>
      ch.status === "error"
        ? `The test failed: ${ch.status_message || "the provider refused"}`
        : `The connection works${ch.account_name ? ` (${ch.account_name})` : ""}.`,
    );
  const reconnect = () =>
    act("reconnect", "reconnect", (ch) =>
      ch.status === "connected" ? "Reconnected." : `Could not reconnect: ${ch.status_message || "the provider refused"}`,
    );
  const disconnect = () => act("disconnect", "disconnect", () => "Disconnected. No new messages arrive from this account.");

  const remove = async () => {
    try {
      await api.del(`/channels/${channel.id}`);
      announce(`${channel.name} deleted`);
      onDeleted(channel.id);
    } catch (err) {
      setOutcome({ kind: "error", text: err.message });
    }
  };

  const headingId = `channel-${channel.id}`;
  return (
    <li class="card channel" aria-labelledby={headingId} data-testid="channel-card">
      <div class="card-head">
        <div>
          <h3 id={headingId} class="card-title">
            {channel.name}
          </h3>
          <p class="row-sub">
            {plugin ? plugin.display_name : channel.adapter}
            {channel.account_name && <> · {channel.account_name}</>}
          </p>
        </div>
        <span class={`badge ${status.badge}`} data-testid="channel-status">
          {status.label}
        </span>
      </div>
      {channel.status === "error" && channel.status_message && (
        <p class="row-error">{channel.status_message}</p>
      )}
      <dl class="facts facts-compact">
        {credentialsInOrder(channel.credentials, fields).map(([k, v]) => (
          <div class="fact" key={k}>
            <dt>{labelOf(k)}</dt>
            <dd>
              <code>{v}</code>
            </dd>
          </div>
        ))}
        <div class="fact">
          <dt>Last checked</dt>
          <dd>
            <Time iso={channel.checked_at} relative fallback="never" />
          </dd>
        </div>
      </dl>
      {isAdmin && secret && (
        <ShownOnce key={secret.secret} data-testid="webhook-secret">
          <Notice kind="success" title="Webhook secret">
            <p>
              Set this in the provider's webhook settings, sent as the header{" "}
              <code>{secret.secret_header || "X-Inbox-Secret"}</code>, with the callback URL below. It is not shown
              again; reconnecting makes a new one.
            </p>
          </Notice>
          <CopyField label="Webhook secret" value={secret.secret} />
          <button type="button" class="btn" onClick={() => setSecret(null)}>
            Done
          </button>
        </ShownOnce>
      )}
      {isAdmin && channel.webhook && <WebhookInfo webhook={channel.webhook} open={Boolean(secret)} />}
      {outcome && <Notice kind={outcome.kind}>{outcome.text}</Notice>}
      {isAdmin && editing && plugin && (
        <ChannelForm
          plugin={plugin}
          channel={channel}
          onCancel={() => setEditing(false)}
          onDone={(updated) => {
            onChanged(updated);
            setEditing(false);
            setOutcome({ kind: "success", text: "Saved. The provider accepted the new details." });
          }}
        />
      )}
      {isAdmin && !editing && (
        <div class="card-actions">
          <button type="button" class="btn" onClick={test} aria-disabled={busy ? "true" : undefined}>
            {busy === "test" ? "Testing…" : "Test connection"}
          </button>
          {channel.status === "disconnected" || channel.status === "error" ? (
            <button type="button" class="btn" onClick={reconnect} aria-disabled={busy ? "true" : undefined}>
              {busy === "reconnect" ? "Reconnecting…" : "Reconnect"}
            </button>
          ) : null}
          {plugin && (
            <button type="button" class="btn" onClick={() => setEditing(true)}>
              Change
            </button>
          )}
          {channel.status !== "disconnected" && (
            <ConfirmButton
              label={`Disconnect ${channel.name}`}
              question="Stop receiving messages from this account?"
              onConfirm={disconnect}
            >
              Disconnect
            </ConfirmButton>
          )}
          <ConfirmButton
            label={`Delete ${channel.name}`}
            question={`Delete “${channel.name}” and its conversations?`}
            onConfirm={remove}
          >
            Delete
          </ConfirmButton>
        </div>
      )}
    </li>
  );
}

// In the order the plugin declares its fields, the form's order.
function credentialsInOrder(creds = {}, fields) {
  const known = fields.filter((f) => f.name in creds).map((f) => [f.name, creds[f.name]]);
  const rest = Object.entries(creds).filter(([k]) => !fields.some((f) => f.name === k));
  return [...known, ...rest];
}

function WebhookInfo({ webhook, open }) {
  return (
    <details class="webhook" open={open}>
      <summary>Webhook</summary>
      {webhook.registered_automatically ? (
        <p class="hint">The team inbox registered this address with the provider itself.</p>
      ) : (
        <p class="hint">Enter this address (and verify token) in the provider's webhook settings.</p>
      )}
      <CopyField label="Callback URL" value={webhook.url} />
      {webhook.verify_token && <CopyField label="Verify token" value={webhook.verify_token} />}
      {webhook.secret_header && (
        <p class="hint">
          Each delivery must carry the header <code>{webhook.secret_header}</code> with the secret shown when the
          account was connected.
        </p>
      )}
    </details>
  );
}
