// Settings › Socials: the connected accounts (GET /api/v1/channels) and,
// for owners and admins, one card per adapter the server runs (GET
// /api/v1/plugins) to connect another, with a form drawn from the
// adapter's credential fields. Agents see the accounts and their status.
import { useEffect, useRef, useState } from "preact/hooks";

import { Page } from "../components/Page.jsx";
import { EmptyState, Resource } from "../components/States.jsx";
import { api } from "../lib/api.js";
import { announce, useResource } from "../lib/hooks.js";
import { useLiveRefresh } from "../lib/live.js";
import { useIsAdmin } from "../lib/session.js";
import { ChannelCard } from "./socials/ChannelCard.jsx";
import { ChannelForm } from "./socials/ChannelForm.jsx";

export function Socials() {
  const isAdmin = useIsAdmin();
  const res = useResource(() => Promise.all([api.get("/plugins"), api.get("/channels")]), []);
  // A channel's status changes by itself too (credentials rejected while
  // sending): the live stream says so.
  useLiveRefresh(res.refresh, (ev) => ev.kind === "channel" || ev.kind === "channel_error");
  const [connecting, setConnecting] = useState(null);
  const listHeading = useRef(null);

  const setChannels = (f) => res.setData(([plugins, channels]) => [plugins, { ...channels, data: f(channels.data) }]);

  return (
    <Page
      title="Socials"
      intro="The WhatsApp numbers, Facebook Pages and Instagram accounts whose messages land in the inbox."
    >
      <Resource res={res}>
        {([plugins, channels]) => {
          const pluginOf = (name) => plugins.data.find((p) => p.name === name);
          return (
            <>
              <section aria-labelledby="channels-heading">
                <h2 id="channels-heading" tabIndex={-1} ref={listHeading}>
                  Connected accounts {channels.data.length > 0 && <span class="count">{channels.data.length}</span>}
                </h2>
                {channels.data.length === 0 ? (
                  <EmptyState title="No accounts connected yet.">
                    {isAdmin ? (
                      <p>Connect one below to start receiving messages.</p>
                    ) : (
                      <p>An owner or admin connects the organization's accounts.</p>
                    )}
                  </EmptyState>
                ) : (
                  <ul class="cards">
                    {channels.data.map((ch) => (
                      <ChannelCard
                        key={ch.id}
                        channel={ch}
                        plugin={pluginOf(ch.adapter)}
                        isAdmin={isAdmin}
                        onChanged={(u) => setChannels((list) => list.map((x) => (x.id === u.id ? u : x)))}
                        onDeleted={(id) => {
                          setChannels((list) => list.filter((x) => x.id !== id));
                          if (listHeading.current) listHeading.current.focus();
                        }}
                      />
                    ))}
                  </ul>
                )}
              </section>
              {isAdmin && (
                <section aria-labelledby="adapters-heading">
                  <h2 id="adapters-heading">Connect an account</h2>
                  {plugins.data.length === 0 ? (
                    <EmptyState title="This server runs no channel plugins." />
                  ) : (
                    <ul class="cards adapters">
                      {plugins.data.map((p) => (
                        <AdapterCard
                          key={p.name}
                          plugin={p}
                          open={connecting === p.name}
                          onOpen={() => setConnecting(p.name)}
                          onClose={() => setConnecting(null)}
                          onConnected={(ch) => {
                            setChannels((list) => [...list, ch]);
                            setConnecting(null);
                            announce(`${ch.name} connected`);
                            if (listHeading.current) listHeading.current.focus();
                          }}
                        />
                      ))}
                    </ul>
                  )}
                </section>
              )}
            </>
          );
        }}
      </Resource>
    </Page>
  );
}

const CAPABILITIES = {
  text: "Text",
  media: "Media",
  template: "Templates",
  interactive: "Buttons",
  reaction: "Reactions",
};

function AdapterCard({ plugin, open, onOpen, onClose, onConnected }) {
  const headingId = `adapter-${plugin.name}`;
  const caps = plugin.capabilities.filter((c) => CAPABILITIES[c]);
  const button = useRef(null);
  const cancelled = useRef(false);
  // Back to the Connect button when the form is cancelled.
  useEffect(() => {
    if (!open && cancelled.current && button.current) {
      cancelled.current = false;
      button.current.focus();
    }
  }, [open]);
  const cancel = () => {
    cancelled.current = true;
    onClose();
  };
  return (
    <li class={open ? "card adapter adapter-open" : "card adapter"} aria-labelledby={headingId} data-testid="adapter-card">
      <div class="card-head">
        <div>
          <h3 id={headingId} class="card-title">
            {plugin.display_name}
          </h3>
          {caps.length > 0 && <p class="row-sub">{caps.map((c) => CAPABILITIES[c]).join(" · ")}</p>}
        </div>
        {!open && (
          <button type="button" class="btn btn-primary" ref={button} onClick={onOpen} aria-label={`Connect ${plugin.display_name}`}>
            Connect
          </button>
        )}
      </div>
      {open && <ChannelForm plugin={plugin} onDone={onConnected} onCancel={cancel} />}
    </li>
  );
}
