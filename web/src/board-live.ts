// One board's shared document over y-websocket: items, other members' cursors, and edits.
// Loaded only when a board is opened (Yjs and y-websocket stay out of the check-in bundle).
//
// The document model is the server's (src/hugmood/boards/model.py): one root map `items`,
// item id → a plain JSON object replaced whole on every change.

import * as Y from "yjs";
import { WebsocketProvider } from "y-websocket";

export interface BoardItem {
  kind: "sticker" | "note" | "image";
  mood?: string;
  text?: string;
  x: number;
  y: number;
  color: string;
  addedBy: string;
  addedAt: number;
}

export interface Peer {
  clientId: number;
  name: string;
  color: string;
  cursor: { x: number; y: number } | null;
}

export type BoardStatus = "connecting" | "connected" | "refused";

export interface LiveBoard {
  items(): Record<string, BoardItem>;
  peers(): Peer[];
  status(): BoardStatus;
  /** Why the server refused the socket, in words, when status() is "refused". */
  refusal(): string;
  put(id: string, item: BoardItem): void;
  remove(id: string): void;
  setCursor(point: { x: number; y: number } | null): void;
  onChange(listener: () => void): () => void;
  destroy(): void;
}

const REFUSALS: Record<number, string> = {
  4401: "Your session has ended. Please log in again.",
  4403: "You can no longer change this board: you may have been removed, or you are a viewer.",
  4404: "You're not a member of this board (any more).",
};

export function openBoard(socketPath: string, token: string, me: { name: string; color: string }): LiveBoard {
  const doc = new Y.Doc();
  const items = doc.getMap<BoardItem>("items");
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  const cut = socketPath.lastIndexOf("/");
  const provider = new WebsocketProvider(
    `${scheme}://${location.host}${socketPath.slice(0, cut)}`,
    socketPath.slice(cut + 1),
    doc,
    { params: { token }, maxBackoffTime: 5000 },
  );
  provider.awareness.setLocalStateField("user", me);
  const listeners = new Set<() => void>();
  const notify = () => listeners.forEach((listener) => listener());
  let status: BoardStatus = "connecting";
  let refusal = "";

  provider.on("status", ({ status: next }: { status: string }) => {
    if (status === "refused") return;
    status = next === "connected" ? "connected" : "connecting";
    notify();
  });
  provider.on("connection-close", (event: CloseEvent | null) => {
    const reason = event ? REFUSALS[event.code] : undefined;
    if (reason !== undefined) {
      status = "refused";
      refusal = reason;
      provider.disconnect(); // retrying would be refused the same way
      notify();
    }
  });
  items.observe(notify);
  provider.awareness.on("change", notify);

  return {
    items: () => items.toJSON() as Record<string, BoardItem>,
    peers: () => {
      const peers: Peer[] = [];
      provider.awareness.getStates().forEach((state, clientId) => {
        if (clientId === doc.clientID) return;
        const user = state["user"] as { name?: string; color?: string } | undefined;
        const cursor = state["cursor"] as { x: number; y: number } | null | undefined;
        if (user?.name) peers.push({ clientId, name: user.name, color: user.color ?? "#5b3fa6", cursor: cursor ?? null });
      });
      return peers;
    },
    status: () => status,
    refusal: () => refusal,
    put: (id, item) => items.set(id, item),
    remove: (id) => items.delete(id),
    setCursor: (point) => provider.awareness.setLocalStateField("cursor", point),
    onChange: (listener) => {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    destroy: () => {
      listeners.clear();
      provider.awareness.setLocalState(null);
      provider.destroy();
      doc.destroy();
    },
  };
}
