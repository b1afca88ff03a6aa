// Settings › Members: who is in the organization and with which role.
// Owners and admins change roles, remove people and invite (see
// MembersInvite.jsx); agents see the list only. What each may change
// mirrors the server's rules (only owners touch ownership), which
// checks them again anyway.
import { useId, useRef, useState } from "preact/hooks";

import { ConfirmButton } from "../components/ConfirmButton.jsx";
import { Page } from "../components/Page.jsx";
import { RowError } from "../components/RowError.jsx";
import { EmptyState, Resource } from "../components/States.jsx";
import { Time } from "../components/Time.jsx";
import { api } from "../lib/api.js";
import { ROLE_LABELS, initials, roleAtLeast, roleLabel } from "../lib/format.js";
import { announce, useAction, useResource } from "../lib/hooks.js";
import { useSession } from "../lib/session.js";
import { MembersInvite } from "./MembersInvite.jsx";

export function Members() {
  const { me } = useSession();
  const viewer = me.organization.role;
  const isAdmin = roleAtLeast(viewer, "admin");
  const members = useResource(() => api.get("/members"), []);
  const heading = useRef(null);

  const replace = (updated) =>
    members.setData((d) => ({ ...d, data: d.data.map((m) => (m.id === updated.id ? updated : m)) }));
  const drop = (id) => {
    members.setData((d) => ({ ...d, data: d.data.filter((m) => m.id !== id) }));
    // The row with the focused button is gone; continue from the list.
    if (heading.current) heading.current.focus();
  };

  return (
    <Page
      title="Members"
      intro={
        isAdmin
          ? "People in this organization and what they may do. Agents answer conversations; admins also manage members, channels and API tokens; owners also manage ownership."
          : "People in this organization. Owners and admins manage members."
      }
    >
      <section aria-labelledby="members-heading">
        <h2 id="members-heading" tabIndex={-1} ref={heading}>
          People {members.data && <span class="count">{members.data.data.length}</span>}
        </h2>
        <Resource
          res={members}
          isEmpty={(d) => d.data.length === 0}
          empty={<EmptyState title="No members yet." />}
        >
          {(d) => (
            <ul class="rows" aria-labelledby="members-heading">
              {d.data.map((m) => (
                <MemberRow key={m.id} member={m} viewer={viewer} onUpdated={replace} onRemoved={drop} />
              ))}
            </ul>
          )}
        </Resource>
      </section>
      {isAdmin && <MembersInvite viewer={viewer} />}
    </Page>
  );
}

function MemberRow({ member, viewer, onUpdated, onRemoved }) {
  const { me, refresh, ended } = useSession();
  const [error, setError] = useState(null);
  const [busy, setBusy] = useState(false);
  const selectId = useId();
  const isSelf = member.id === me.user.id;
  const touchesOwnership = member.role === "owner" && viewer !== "owner";
  const canEdit = roleAtLeast(viewer, "admin") && !touchesOwnership;
  const canRemove = canEdit && !isSelf;
  const roles = Object.keys(ROLE_LABELS).filter((r) => r !== "owner" || viewer === "owner");

  const changeRole = async (e) => {
    const select = e.currentTarget;
    const role = select.value;
    setError(null);
    setBusy(true);
    try {
      onUpdated(await api.patch(`/members/${member.id}`, { role }));
      announce(`${member.name} is now ${roleLabel(role)}`);
      // One's own role decides what the whole app shows.
      if (isSelf) await refresh();
    } catch (err) {
      setError(err);
      select.value = member.role;
    } finally {
      setBusy(false);
    }
  };

  const orgName = me.organization.name;
  const leave = useAction(async () => {
    await api.del(`/members/${member.id}`);
    // Leaving ends this session: sign in again to reach the others.
    ended(`You left ${orgName}. Sign in to continue in your other organizations.`);
  });
  const remove = useAction(async () => {
    await api.del(`/members/${member.id}`);
    announce(`${member.name} was removed`);
    onRemoved(member.id);
  });

  return (
    <li class="row" data-testid="member-row">
      <span class="avatar" aria-hidden="true">
        {initials(member.name)}
      </span>
      <div class="row-main">
        <p class="row-title">
          <span class="member-name">{member.name}</span>
          {isSelf && <span class="badge">You</span>}
        </p>
        <p class="row-sub">{member.email}</p>
        <p class="row-sub">
          Joined <Time iso={member.joined_at} />
        </p>
      </div>
      <div class="row-actions">
        {canEdit ? (
          <>
            <label class="visually-hidden" for={selectId}>
              Role of {member.name}
            </label>
            <select id={selectId} value={member.role} onChange={changeRole} aria-busy={busy ? "true" : undefined}>
              {roles.map((r) => (
                <option key={r} value={r}>
                  {ROLE_LABELS[r]}
                </option>
              ))}
            </select>
          </>
        ) : (
          <span class={`badge badge-${member.role}`}>{roleLabel(member.role)}</span>
        )}
        {canRemove && (
          <ConfirmButton
            label={`Remove ${member.name}`}
            question={`Remove ${member.name}?`}
            onConfirm={remove.run}
          >
            Remove
          </ConfirmButton>
        )}
        {isSelf && (
          <ConfirmButton
            label={`Leave ${orgName}`}
            question={`Leave ${orgName}? You lose access to its inbox.`}
            onConfirm={leave.run}
          >
            Leave
          </ConfirmButton>
        )}
      </div>
      <RowError error={error || remove.error || leave.error} />
    </li>
  );
}
