// The signed-in person's unread messages (GET /conversations/unread):
// in all and per channel, kept fresh by the live stream. A badge, so a
// failure shows nothing rather than an error.
import { api } from "./api.js";
import { useResource } from "./hooks.js";
import { touchesConversations, useLiveRefresh } from "./live.js";

export function useUnread() {
  const res = useResource(() => api.get("/conversations/unread"), []);
  useLiveRefresh(res.refresh, touchesConversations);
  return res.data || null;
}
