// One board's shared document over y-websocket: items, other members' cursors, and edits.
// Loaded only when a board is opened (Yjs and y-websocket stay out of the check-in bundle).
//
// The document model is the server's (src/hugmood/boards/model.py): one root map `items`,
// item id → a plain JSON object replaced whole on every change.

import * as Y from "yjs";
import { WebsocketProvider } from "y-websocket";
import { ApiError, deviceId, NetworkError, plainWords } from "./api";

export interface BoardItem {
  kind: "sticker" | "note" | "image";
  mood?: string;
  text?: string;
  /** image: the id of the stored blob (`POST /boards/<id>/images`) and its description. */
  blobId?: string;
  alt?: string;
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

/** An image's bytes as this page has them: an object URL once fetched. */
export type ImageState = { state: "loading" } | { state: "ready"; url: string } | { state: "failed" };

export interface LiveBoard {
  items(): Record<string, BoardItem>;
  peers(): Peer[];
  status(): BoardStatus;
  /** Why the server refused the socket, in words, when status() is "refused". */
  refusal(): string;
  put(id: string, item: BoardItem): void;
  remove(id: string): void;
  setCursor(point: { x: number; y: number } | null): void;
  /** The image's object URL (fetched once per board with the session token, then kept). */
  image(blobId: string): ImageState;
  /** Store an image on the server; resolves with its blob id, or rejects with ApiError /
   * NetworkError in words. */
  upload(file: File): Promise<string>;
  onChange(listener: () => void): () => void;
  destroy(): void;
}

const REFUSALS: Record<number, string> = {
  4401: "Your session has ended. Please log in again.",
  4403: "You can no longer change this board: you may have been removed, or you are a viewer.",
  4404: "You're not a member of this board (any more).",
};

// 4410: while this copy of the board was away, the server rebased the board (a new generation
// of its document holding only the live items, without the history). The server has taken
// every edit this copy made and carried it over; this copy must not be merged in again, so it
// is dropped and the board is loaded afresh, in a new Y.Doc over a new socket.
const REBASED = 4410;
const RETRY_IMAGE_MS = 10_000;

/** One copy of the board's document and the socket that keeps it in sync. */
interface Copy {
  doc: Y.Doc;
  items: Y.Map<BoardItem>;
  provider: WebsocketProvider;
}

export function openBoard(
  boardId: string,
  socketPath: string,
  token: string,
  me: { name: string; color: string },
): LiveBoard {
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  const cut = socketPath.lastIndexOf("/");
  const listeners = new Set<() => void>();
  const notify = () => listeners.forEach((listener) => listener());
  let status: BoardStatus = "connecting";
  let refusal = "";
  let cursor: { x: number; y: number } | null = null;

  const connect = (): Copy => {
    const doc = new Y.Doc();
    const items = doc.getMap<BoardItem>("items");
    const provider = new WebsocketProvider(
      `${scheme}://${location.host}${socketPath.slice(0, cut)}`,
      socketPath.slice(cut + 1),
      doc,
      // No BroadcastChannel between tabs: a tab still holding a rebased copy must not pass its
      // old document to a tab that has loaded the new one. Each tab syncs through the server.
      { params: { token }, maxBackoffTime: 5000, disableBc: true },
    );
    provider.awareness.setLocalState({ user: me, cursor });
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
    // y-websocket stops reconnecting after a 44xx close and then says so here.
    provider.on("closed", ({ code }: { code: number }) => {
      if (code !== REBASED) return;
      close(current);
      current = connect();
      status = "connecting";
      notify();
    });
    items.observe(notify);
    provider.awareness.on("change", notify);
    return { doc, items, provider };
  };
  const close = ({ doc, provider }: Copy) => {
    provider.awareness.setLocalState(null);
    provider.destroy();
    doc.destroy();
  };
  let current = connect();

  // Images: an <img src> cannot send the Bearer token, so the bytes are fetched here and shown
  // through object URLs, one per blob for as long as the board is open (revoked on destroy).
  const imagesPath = `/boards/${encodeURIComponent(boardId)}/images`;
  const headers = (extra: Record<string, string> = {}) => ({
    Authorization: `Bearer ${token}`,
    "X-HugMood-Device": deviceId(),
    ...extra,
  });
  const images = new Map<string, ImageState>();
  const failedAt = new Map<string, number>();
  const aborts = new AbortController();
  const fetchImage = async (blobId: string) => {
    try {
      const response = await fetch(`${imagesPath}/${encodeURIComponent(blobId)}`, {
        headers: headers(),
        signal: aborts.signal,
      });
      if (!response.ok) throw new Error(String(response.status));
      const url = URL.createObjectURL(await response.blob());
      if (aborts.signal.aborted) {
        URL.revokeObjectURL(url);
        return;
      }
      images.set(blobId, { state: "ready", url });
    } catch {
      if (aborts.signal.aborted) return;
      images.set(blobId, { state: "failed" });
      failedAt.set(blobId, Date.now());
    }
    notify();
  };
  const upload = async (file: File): Promise<string> => {
    let response: Response;
    try {
      response = await fetch(imagesPath, {
        method: "POST",
        headers: headers({ "Content-Type": file.type || "application/octet-stream" }),
        body: file,
      });
    } catch {
      throw new NetworkError();
    }
    let body: { blobId?: string; errors?: { message: string; extensions?: { code?: string; field?: string } }[] } = {};
    try {
      body = (await response.json()) as typeof body;
    } catch {
      // not JSON (a proxy's page): said in words below
    }
    const first = body.errors?.[0];
    if (response.ok && typeof body.blobId === "string") return body.blobId;
    if (first !== undefined) throw new ApiError(plainWords(first), first.extensions?.code ?? "INTERNAL", first.extensions?.field);
    if (response.status === 413) throw new ApiError("That image is too big: the largest is 2 MB.", "VALIDATION");
    if (response.status >= 500) throw new ApiError("HugMood is having trouble right now. Please try again shortly.", "UNAVAILABLE");
    throw new ApiError("The image could not be added. Please try again.", "INTERNAL");
  };

  return {
    items: () => current.items.toJSON() as Record<string, BoardItem>,
    peers: () => {
      const peers: Peer[] = [];
      current.provider.awareness.getStates().forEach((state, clientId) => {
        if (clientId === current.doc.clientID) return;
        const user = state["user"] as { name?: string; color?: string } | undefined;
        const at = state["cursor"] as { x: number; y: number } | null | undefined;
        if (user?.name) peers.push({ clientId, name: user.name, color: user.color ?? "#5b3fa6", cursor: at ?? null });
      });
      return peers;
    },
    status: () => status,
    refusal: () => refusal,
    put: (id, item) => current.items.set(id, item),
    remove: (id) => current.items.delete(id),
    setCursor: (point) => {
      cursor = point;
      current.provider.awareness.setLocalStateField("cursor", point);
    },
    image: (blobId) => {
      const known = images.get(blobId);
      // A failed fetch (offline, a blip) is tried again on a later change, at most every 10 s.
      if (known && !(known.state === "failed" && Date.now() - (failedAt.get(blobId) ?? 0) > RETRY_IMAGE_MS)) return known;
      const loading: ImageState = { state: "loading" };
      images.set(blobId, loading);
      void fetchImage(blobId);
      return loading;
    },
    upload,
    onChange: (listener) => {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    destroy: () => {
      listeners.clear();
      close(current);
      aborts.abort();
      images.forEach((image) => {
        if (image.state === "ready") URL.revokeObjectURL(image.url);
      });
      images.clear();
    },
  };
}
