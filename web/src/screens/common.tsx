// Small pieces every screen uses: error and empty-state text, a presence dot, a link to a person.

import type { ComponentChildren } from "preact";
import type { PresenceStatus } from "../model";
import { openPerson } from "../router";

export function ErrorText({ error }: { error: string | null }) {
  if (!error) return null;
  return (
    <p class="error" role="alert">
      {error}
    </p>
  );
}

export function Empty({ children }: { children: ComponentChildren }) {
  return <p class="empty">{children}</p>;
}

const PRESENCE_WORDS: Record<PresenceStatus, string> = {
  ONLINE: "online",
  AWAY: "away",
  OFFLINE: "offline",
};

export function PresenceDot({ status }: { status: PresenceStatus }) {
  return (
    <span class={`presence presence-${status.toLowerCase()}`} data-presence={status}>
      <span class="dot" aria-hidden="true" />
      <span class="presence-word">{PRESENCE_WORDS[status]}</span>
    </span>
  );
}

/** A link to someone's page (`/people/<handle>`), opened within the app. */
export function PersonLink({ handle, children }: { handle: string; children: ComponentChildren }) {
  return (
    <a
      href={`/people/${encodeURIComponent(handle)}`}
      onClick={(event) => {
        event.preventDefault();
        openPerson(handle);
      }}
    >
      {children}
    </a>
  );
}
