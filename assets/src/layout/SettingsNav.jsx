// The settings sections this person may open. Sections above their role
// are left out rather than shown disabled: there is nothing an agent can
// do about them.
import { roleAtLeast } from "../lib/format.js";
import { useRole } from "../lib/session.js";
import { settingsRoutes } from "../routes.js";

export function SettingsNav({ path }) {
  const role = useRole();
  return (
    <nav class="settingsnav" aria-label="Settings">
      <p class="settingsnav-title">Settings</p>
      <ul>
        {settingsRoutes
          .filter((r) => !r.role || roleAtLeast(role, r.role))
          .map((r) => (
            <li key={r.path}>
              <a href={`#${r.path}`} aria-current={path === r.path ? "page" : undefined}>
                {r.label}
              </a>
            </li>
          ))}
      </ul>
    </nav>
  );
}
