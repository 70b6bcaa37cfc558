// HugMood's service worker: keeps the app itself (index.html and its hashed assets) so the app
// opens without a network, and check-ins made then wait in IndexedDB (see src/outbox.ts).
// It never touches the API: /graphql, /boards, /healthz and /metrics always go to the server.
"use strict";

const CACHE = "hugmood-app-v1";
const SHELL = "/";
const SERVER_PAGES = ["/graphql", "/graphiql/", "/boards/", "/healthz", "/metrics", "/docs"];

self.addEventListener("install", (event) => {
  event.waitUntil(
    caches
      .open(CACHE)
      .then((cache) => cache.add(SHELL))
      .then(() => self.skipWaiting()),
  );
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    caches
      .keys()
      .then((names) => Promise.all(names.filter((n) => n !== CACHE).map((n) => caches.delete(n))))
      .then(() => self.clients.claim()),
  );
});

self.addEventListener("fetch", (event) => {
  const request = event.request;
  const url = new URL(request.url);
  if (request.method !== "GET" || url.origin !== self.location.origin) return;
  // GraphiQL (/graphql) and the other server pages are not the app: never kept as its shell.
  if (SERVER_PAGES.some((prefix) => url.pathname.startsWith(prefix))) return;
  if (request.mode === "navigate") {
    // The newest app when online; the kept one when not.
    event.respondWith(
      fetch(request)
        .then((response) => {
          if (response.ok) {
            const copy = response.clone();
            void caches.open(CACHE).then((cache) => cache.put(SHELL, copy));
          }
          return response;
        })
        .catch(() => caches.match(SHELL).then((kept) => kept || Response.error())),
    );
  } else if (url.pathname.startsWith("/assets/")) {
    // Hashed names never change content: the kept copy is always right.
    event.respondWith(
      caches.match(request).then(
        (kept) =>
          kept ||
          fetch(request).then((response) => {
            if (response.ok) {
              const copy = response.clone();
              void caches.open(CACHE).then((cache) => cache.put(request, copy));
            }
            return response;
          }),
      ),
    );
  }
});

// Reminders (Web Push): the server encrypts each message for this browser's subscription; the
// browser decrypts it and hands it here as JSON { title, body, url, tag }.
self.addEventListener("push", (event) => {
  let message = { title: "HugMood", body: "How are you feeling? A moment to check in.", url: "/", tag: "reminder" };
  try {
    if (event.data) message = { ...message, ...event.data.json() };
  } catch {
    // Not JSON: the default words serve.
  }
  event.waitUntil(
    self.registration.showNotification(message.title, {
      body: message.body,
      tag: message.tag,
      icon: "/icons/icon-192.png",
      badge: "/icons/icon-192.png",
      data: { url: message.url },
    }),
  );
});

self.addEventListener("notificationclick", (event) => {
  event.notification.close();
  const target = new URL((event.notification.data && event.notification.data.url) || "/", self.location.origin);
  if (target.origin !== self.location.origin) return;
  event.waitUntil(
    self.clients.matchAll({ type: "window", includeUncontrolled: true }).then((windows) => {
      const open = windows.find((w) => new URL(w.url).origin === self.location.origin);
      return open ? open.focus() : self.clients.openWindow(target.href);
    }),
  );
});
