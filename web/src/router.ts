// Paths of the app's screens; the server answers every one of them with index.html.

import { signal } from "./signal";

export type Route = "/" | "/checkin" | "/history" | "/insights" | "/friends" | "/hugs" | "/boards" | "/settings" | "/people";

const ROUTES: Route[] = ["/", "/checkin", "/history", "/insights", "/friends", "/hugs", "/boards", "/settings"];
const PERSON = /^\/people\/([^/]+)$/;

function current(): Route {
  const path = location.pathname.replace(/\/+$/, "") || "/";
  if (PERSON.test(path)) return "/people";
  return (ROUTES as string[]).includes(path) ? (path as Route) : "/";
}

function personIn(path: string): string | null {
  const match = PERSON.exec(path.replace(/\/+$/, ""));
  if (!match?.[1]) return null;
  try {
    return decodeURIComponent(match[1]);
  } catch {
    return null;
  }
}

export const route = signal<Route>(current());
/** Whose page `/people/<handle>` shows (null on every other screen). */
export const personShown = signal<string | null>(personIn(location.pathname));

/** Show a screen; `search` (e.g. `?board=…`) is kept in the address for the screen to read. */
export function go(path: Route, search = ""): void {
  if (path !== location.pathname || location.search !== search) history.pushState(null, "", path + search);
  personShown.value = null;
  route.value = path;
  document.getElementById("main")?.focus();
}

/** Show one person's page (their profile overview). */
export function openPerson(handle: string): void {
  const path = `/people/${encodeURIComponent(handle)}`;
  if (path !== location.pathname) history.pushState(null, "", path);
  personShown.value = handle;
  route.value = "/people";
  document.getElementById("main")?.focus();
}

window.addEventListener("popstate", () => {
  personShown.value = personIn(location.pathname);
  route.value = current();
});
