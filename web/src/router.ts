// Paths of the app's screens; the server answers every one of them with index.html.

import { signal } from "./signal";

export type Route = "/" | "/checkin" | "/history" | "/insights" | "/friends" | "/hugs" | "/boards" | "/settings";

const ROUTES: Route[] = ["/", "/checkin", "/history", "/insights", "/friends", "/hugs", "/boards", "/settings"];

function current(): Route {
  const path = location.pathname.replace(/\/+$/, "") || "/";
  return (ROUTES as string[]).includes(path) ? (path as Route) : "/";
}

export const route = signal<Route>(current());

export function go(path: Route): void {
  if (path !== location.pathname || location.search) history.pushState(null, "", path);
  route.value = path;
  document.getElementById("main")?.focus();
}

window.addEventListener("popstate", () => {
  route.value = current();
});
