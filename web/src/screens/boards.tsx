// Mood boards: the boards you are on, a new one, its members and roles, and the shared canvas
// of stickers, notes and images where everyone's edits and cursors show live.

import { useEffect, useRef, useState } from "preact/hooks";
import { describe, gql, token } from "../api";
import type { BoardItem, ImageState, LiveBoard, Peer } from "../board-live";
import { PROFILE, QUADRANT_COLOUR, when, type Connection, type MoodWord, type Profile } from "../model";
import { account } from "../session";
import { useSignal } from "../signal";
import { useVocabulary } from "./checkin";
import { Empty, ErrorText } from "./common";

type Role = "OWNER" | "EDITOR" | "VIEWER";

interface Member {
  profile: Profile;
  role: Role;
}

interface Board {
  id: string;
  title: string;
  description: string;
  archived: boolean;
  myRole: Role;
  itemCount: number;
  lastActivityAt: string;
  socketPath: string;
  members: Member[];
}

const BOARD = `id title description archived myRole itemCount lastActivityAt socketPath
  members { profile { ${PROFILE} } role }`;
const ROLE_WORDS: Record<Role, string> = { OWNER: "owner", EDITOR: "can edit", VIEWER: "can look" };
const NOTE_COLOURS: [string, string][] = [
  ["#fff1a8", "Yellow"],
  ["#c9f0d3", "Green"],
  ["#cfe3ff", "Blue"],
  ["#ffd6e0", "Pink"],
];
/** Canvas units: items keep x in 0–1000 and y in 0–640 whatever the screen size. */
const WIDTH = 1000;
const HEIGHT = 640;
const CURSOR_COLOURS = ["#b3261e", "#006d3b", "#1a5fd0", "#8a4b00", "#6a1b9a"];
/** What the server takes (README, "Images"): these types, up to 2 MiB. */
const IMAGE_TYPES = ["image/png", "image/jpeg", "image/gif", "image/webp"];
const MAX_IMAGE_BYTES = 2 * 1024 * 1024;
const MAX_ALT = 200;

function megabytes(bytes: number): string {
  return `${(bytes / (1024 * 1024)).toFixed(1)} MB`;
}

/** Why a file cannot be uploaded, before sending it; null if it may be. */
function imageProblem(file: File | undefined): string | null {
  if (!file) return "Choose an image first.";
  if (file.type && !IMAGE_TYPES.includes(file.type)) return "Only PNG, JPEG, GIF and WebP images can be added to a board.";
  if (file.size > MAX_IMAGE_BYTES) return `That image is ${megabytes(file.size)}; a board takes images up to 2 MB. Please choose a smaller one.`;
  if (file.size === 0) return "That file is empty. Please choose an image.";
  return null;
}

function clamp(value: number, max: number): number {
  return Math.round(Math.min(max, Math.max(0, value)));
}

/** Where an item at (x, y) sits: its anchor slides from its left/top edge (at 0) to its
 * right/bottom edge (at the far side), so no item is ever cut off at the canvas's edges. */
function anchored(x: number, y: number): Record<string, string> {
  const px = (clamp(x, WIDTH) / WIDTH) * 100;
  const py = (clamp(y, HEIGHT) / HEIGHT) * 100;
  return { left: `${px}%`, top: `${py}%`, transform: `translate(-${px}%, -${py}%)` };
}

interface Rect {
  left: number;
  top: number;
  right: number;
  bottom: number;
}

/** The box an item of `w` × `h` units covers when placed at (x, y) (see `anchored`). */
function boxAt(x: number, y: number, w: number, h: number): Rect {
  const left = x - w * (x / WIDTH);
  const top = y - h * (y / HEIGHT);
  return { left, top, right: left + w, bottom: top + h };
}

function overlaps(a: Rect, b: Rect, gap: number): boolean {
  return a.left < b.right + gap && b.left < a.right + gap && a.top < b.bottom + gap && b.top < a.bottom + gap;
}

/** A spot for a new item of `w` × `h` units: the first, left to right and top to bottom, where
 * it covers none of the items already there; on a full board, the least covered one. */
function freeSpot(taken: Rect[], w: number, h: number): [number, number] {
  let best: [number, number] = [WIDTH / 2, HEIGHT / 2];
  let fewest = Infinity;
  for (let y = 40; y <= HEIGHT - 40; y += 20) {
    for (let x = 60; x <= WIDTH - 60; x += 20) {
      const box = boxAt(x, y, w, h);
      const covered = taken.filter((t) => overlaps(box, t, 8)).length;
      if (covered === 0) return [x, y];
      if (covered < fewest) {
        best = [x, y];
        fewest = covered;
      }
    }
  }
  return best;
}

/** Canvas zoom steps (canvas pixels per unit); a phone starts zoomed in and pans. */
const ZOOMS = [0.5, 0.75, 1, 1.25, 1.5];
/** How far two fingers may zoom the canvas. */
const PINCH_MIN = 0.3;
const PINCH_MAX = 2.5;

/** Two-finger pinch zoom on the board's viewport (one finger still pans by scrolling): the
 * point between the fingers stays under them. Touch events, not pointer events: the browser
 * would take a two-finger gesture over as its own pan and cancel the pointers. */
function usePinchZoom(
  viewport: HTMLDivElement | null,
  canvas: { current: HTMLDivElement | null },
  zoom: number | null,
  setZoom: (zoom: number) => void,
) {
  const current = useRef(zoom);
  current.current = zoom;
  useEffect(() => {
    if (!viewport) return;
    let start: { spread: number; zoom: number; x: number; y: number } | null = null;
    const spread = (t: TouchList) => Math.hypot(t[0]!.clientX - t[1]!.clientX, t[0]!.clientY - t[1]!.clientY);
    const middle = (t: TouchList) => {
      const box = viewport.getBoundingClientRect();
      return { x: (t[0]!.clientX + t[1]!.clientX) / 2 - box.left, y: (t[0]!.clientY + t[1]!.clientY) / 2 - box.top };
    };
    const begin = (event: TouchEvent) => {
      if (event.touches.length !== 2) return;
      const width = canvas.current?.getBoundingClientRect().width ?? WIDTH;
      const m = middle(event.touches);
      // Where the fingers meet, in canvas pixels at the zoom the pinch starts from.
      start = { spread: spread(event.touches) || 1, zoom: current.current ?? width / WIDTH, x: viewport.scrollLeft + m.x, y: viewport.scrollTop + m.y };
    };
    const move = (event: TouchEvent) => {
      if (!start || event.touches.length !== 2) return;
      event.preventDefault();
      const next = Math.min(PINCH_MAX, Math.max(PINCH_MIN, (start.zoom * spread(event.touches)) / start.spread));
      const ratio = next / start.zoom;
      const m = middle(event.touches);
      setZoom(next);
      requestAnimationFrame(() => {
        viewport.scrollLeft = start ? start.x * ratio - m.x : viewport.scrollLeft;
        viewport.scrollTop = start ? start.y * ratio - m.y : viewport.scrollTop;
      });
    };
    const end = (event: TouchEvent) => {
      if (event.touches.length < 2) start = null;
    };
    viewport.addEventListener("touchstart", begin, { passive: true });
    viewport.addEventListener("touchmove", move, { passive: false });
    viewport.addEventListener("touchend", end);
    viewport.addEventListener("touchcancel", end);
    return () => {
      viewport.removeEventListener("touchstart", begin);
      viewport.removeEventListener("touchmove", move);
      viewport.removeEventListener("touchend", end);
      viewport.removeEventListener("touchcancel", end);
    };
  }, [viewport, canvas, setZoom]);
}

function useLiveBoard(boardId: string, socketPath: string | null, name: string, userId: string) {
  const [live, setLive] = useState<LiveBoard | null>(null);
  const [, setVersion] = useState(0);
  useEffect(() => {
    if (!socketPath) return;
    let stopped = false;
    let opened: LiveBoard | null = null;
    let unsubscribe: () => unknown = () => undefined;
    const colour = CURSOR_COLOURS[userId.charCodeAt(userId.length - 1) % CURSOR_COLOURS.length] ?? "#5b3fa6";
    void import("../board-live").then(({ openBoard }) => {
      if (stopped) return;
      opened = openBoard(boardId, socketPath, token() ?? "", { name, color: colour });
      unsubscribe = opened.onChange(() => setVersion((v) => v + 1));
      setLive(opened);
    });
    return () => {
      stopped = true;
      unsubscribe();
      opened?.destroy();
    };
  }, [boardId, socketPath, name, userId]);
  return live;
}

function ImageView({ image, alt }: { image: ImageState; alt: string }) {
  if (image.state === "ready") return <img class="board-img" src={image.url} alt={alt} draggable={false} />;
  return (
    <span class="board-img-placeholder" data-state={image.state}>
      {image.state === "loading" ? "Loading " : "Could not load "}
      {alt}
    </span>
  );
}

function ItemView({
  id,
  item,
  image,
  canEdit,
  onMove,
  onRemove,
  onDragStart,
  dragging,
}: {
  id: string;
  item: BoardItem;
  image: ImageState | null;
  canEdit: boolean;
  onMove: (x: number, y: number) => void;
  onRemove: () => void;
  onDragStart: (event: PointerEvent) => void;
  dragging: { x: number; y: number } | null;
}) {
  const at = dragging ?? item;
  const alt = item.alt?.trim() || "an image";
  const label =
    item.kind === "sticker" ? `Sticker: ${item.mood ?? ""}` : item.kind === "image" ? `Image: ${alt}` : `Note: ${item.text ?? ""}`;
  const keys = (event: KeyboardEvent) => {
    if (!canEdit) return;
    const step = event.shiftKey ? 50 : 10;
    const moves: Record<string, [number, number]> = {
      ArrowLeft: [-step, 0],
      ArrowRight: [step, 0],
      ArrowUp: [0, -step],
      ArrowDown: [0, step],
    };
    const move = moves[event.key];
    if (move) {
      event.preventDefault();
      onMove(clamp(item.x + move[0], WIDTH), clamp(item.y + move[1], HEIGHT));
    } else if (event.key === "Delete" || event.key === "Backspace") {
      event.preventDefault();
      onRemove();
    }
  };
  return (
    <div
      class={`board-item board-${item.kind}`}
      data-item-id={id}
      data-kind={item.kind}
      tabIndex={0}
      role="group"
      aria-label={`${label}${canEdit ? ". Arrow keys move it, Delete removes it." : ""}`}
      style={{ ...anchored(at.x, at.y), background: item.color }}
      onKeyDown={keys}
      onPointerDown={canEdit ? onDragStart : undefined}
    >
      {item.kind === "sticker" ? (
        <span class="sticker-word">{item.mood}</span>
      ) : item.kind === "image" ? (
        <ImageView image={image ?? { state: "failed" }} alt={alt} />
      ) : (
        <span class="note-text">{item.text}</span>
      )}
    </div>
  );
}

function Canvas({ board, live, words }: { board: Board; live: LiveBoard; words: MoodWord[] }) {
  const me = useSignal(account);
  const area = useRef<HTMLDivElement>(null);
  const [drag, setDrag] = useState<{ id: string; dx: number; dy: number; x: number; y: number } | null>(null);
  const [mood, setMood] = useState("calm");
  const [note, setNote] = useState("");
  const [colour, setColour] = useState(NOTE_COLOURS[0]?.[0] ?? "#fff1a8");
  const fileInput = useRef<HTMLInputElement>(null);
  const [alt, setAlt] = useState("");
  const [uploading, setUploading] = useState(false);
  const [imageError, setImageError] = useState<string | null>(null);
  const mounted = useRef(true);
  useEffect(() => () => void (mounted.current = false), []);
  const canEdit = board.myRole !== "VIEWER" && !board.archived && live.status() !== "refused";
  const items = live.items();
  const peers: Peer[] = live.peers();
  const lastCursor = useRef(0);

  const point = (event: PointerEvent) => {
    const box = area.current?.getBoundingClientRect();
    if (!box) return { x: 0, y: 0 };
    return { x: ((event.clientX - box.left) / box.width) * WIDTH, y: ((event.clientY - box.top) / box.height) * HEIGHT };
  };
  /** Where a new item of about `wPx` × `hPx` screen pixels goes, clear of what is shown. */
  const place = (wPx: number, hPx: number): [number, number] => {
    const canvas = area.current;
    if (!canvas) return [WIDTH / 2, HEIGHT / 2];
    const box = canvas.getBoundingClientRect();
    const sx = WIDTH / box.width;
    const sy = HEIGHT / box.height;
    const taken = [...canvas.querySelectorAll<HTMLElement>("[data-item-id]")].map((el) => {
      const r = el.getBoundingClientRect();
      return { left: (r.left - box.left) * sx, top: (r.top - box.top) * sy, right: (r.right - box.left) * sx, bottom: (r.bottom - box.top) * sy };
    });
    return freeSpot(taken, wPx * sx, hPx * sy);
  };
  // null: the canvas fits the screen's width; a number: canvas pixels per unit, panned by
  // scrolling (or a finger). Phones start at 0.75 so notes stay readable.
  const [zoom, setZoom] = useState<number | null>(() => (window.matchMedia("(max-width: 600px)").matches ? 0.75 : null));
  const [viewport, setViewport] = useState<HTMLDivElement | null>(null);
  usePinchZoom(viewport, area, zoom, setZoom);
  const step = (direction: 1 | -1) => {
    const width = area.current?.getBoundingClientRect().width ?? WIDTH;
    const current = zoom ?? width / WIDTH;
    const next = direction > 0 ? ZOOMS.find((z) => z > current + 0.01) : [...ZOOMS].reverse().find((z) => z < current - 0.01);
    setZoom(next ?? current);
  };
  const add = (item: Omit<BoardItem, "x" | "y" | "addedBy" | "addedAt">) => {
    // A rough size in pixels (items are laid out at 0.9rem): enough to keep them apart.
    const chars = item.kind === "sticker" ? (item.mood ?? "").length : (item.text ?? "").length;
    const [w, h] =
      item.kind === "image"
        ? [190, 190]
        : item.kind === "sticker"
          ? [chars * 10 + 30, 34]
          : [Math.min(250, chars * 9 + 30), Math.ceil((chars * 9) / 220) * 22 + 20];
    const [x, y] = place(w, h);
    live.put(crypto.randomUUID(), { ...item, x, y, addedBy: me?.id ?? "", addedAt: Date.now() });
  };
  const addImage = async (event: Event) => {
    event.preventDefault();
    const file = fileInput.current?.files?.[0];
    const problem = imageProblem(file);
    setImageError(problem);
    if (problem || !file) return;
    setUploading(true);
    try {
      const blobId = await live.upload(file);
      if (!mounted.current) return;
      const description = alt.trim().slice(0, MAX_ALT);
      add({ kind: "image", blobId, ...(description ? { alt: description } : {}), color: "#ffffff" });
      setAlt("");
      if (fileInput.current) fileInput.current.value = "";
    } catch (e) {
      if (mounted.current) setImageError(`The image was not added. ${describe(e)}`);
    } finally {
      if (mounted.current) setUploading(false);
    }
  };

  return (
    <>
      {canEdit && (
        <div class="board-tools">
          <form
            class="row wrap"
            aria-label="Add a sticker"
            onSubmit={(e) => {
              e.preventDefault();
              const word = words.find((w) => w.word === mood);
              add({ kind: "sticker", mood, color: word ? (QUADRANT_COLOUR[word.quadrant] ?? "#f7d774") : "#f7d774" });
            }}
          >
            <label class="grow">
              Sticker
              <select name="sticker" value={mood} onChange={(e) => setMood(e.currentTarget.value)}>
                {words.map((w) => (
                  <option key={w.word} value={w.word}>{w.word}</option>
                ))}
              </select>
            </label>
            <button type="submit">Add sticker</button>
          </form>
          <form
            class="row wrap"
            aria-label="Add a note"
            onSubmit={(e) => {
              e.preventDefault();
              if (!note.trim()) return;
              add({ kind: "note", text: note.trim().slice(0, 1000), color: colour });
              setNote("");
            }}
          >
            <label class="grow">
              Note
              <input name="boardNote" maxLength={1000} value={note} onInput={(e) => setNote(e.currentTarget.value)} />
            </label>
            <label>
              Colour
              <select name="noteColour" value={colour} onChange={(e) => setColour(e.currentTarget.value)}>
                {NOTE_COLOURS.map(([value, label]) => (
                  <option key={value} value={value}>{label}</option>
                ))}
              </select>
            </label>
            <button type="submit">Add note</button>
          </form>
          <form class="row wrap" aria-label="Add an image" onSubmit={addImage}>
            <label class="grow board-file">
              <span>
                Image <span class="muted small">(up to 2 MB)</span>
              </span>
              <input
                ref={fileInput}
                type="file"
                name="boardImage"
                accept={IMAGE_TYPES.join(",")}
                onChange={() => setImageError(null)}
              />
            </label>
            <label class="grow board-alt">
              <span>
                Description <span class="muted small">(optional)</span>
              </span>
              <input name="imageAlt" maxLength={MAX_ALT} value={alt} onInput={(e) => setAlt(e.currentTarget.value)} />
            </label>
            <button type="submit" disabled={uploading}>
              {uploading ? "Adding image…" : "Add image"}
            </button>
          </form>
          <ErrorText error={imageError} />
        </div>
      )}
      <p class="muted small" role="status" data-testid="board-status">
        {live.status() === "connected"
          ? `Live${peers.length ? ` with ${peers.map((p) => p.name).join(", ")}` : ""}.`
          : live.status() === "refused"
            ? live.refusal()
            : "Connecting…"}
        {canEdit ? " Drag items to move them; arrow keys and Delete work too." : ""}
      </p>
      <div class="row board-zoom" role="group" aria-label="Zoom">
        <button type="button" onClick={() => step(-1)} aria-label="Zoom out">−</button>
        <button type="button" onClick={() => step(1)} aria-label="Zoom in">+</button>
        <button type="button" onClick={() => setZoom(null)} aria-pressed={zoom === null}>
          Fit
        </button>
      </div>
      <div class="board-viewport" data-testid="board-viewport" ref={setViewport}>
      <div
        class="board-canvas"
        style={zoom === null ? undefined : { width: `${WIDTH * zoom}px` }}
        ref={area}
        data-testid="board-canvas"
        aria-label={`${board.title}: ${Object.keys(items).length} items`}
        role="region"
        onPointerMove={(event) => {
          if (drag) {
            const p = point(event);
            setDrag({ ...drag, x: clamp(p.x - drag.dx, WIDTH), y: clamp(p.y - drag.dy, HEIGHT) });
          }
          const now = performance.now();
          if (now - lastCursor.current > 50) {
            lastCursor.current = now;
            const p = point(event);
            live.setCursor({ x: Math.round(p.x), y: Math.round(p.y) });
          }
        }}
        onPointerLeave={() => live.setCursor(null)}
        onPointerUp={() => {
          if (drag) {
            const item = items[drag.id];
            if (item && (item.x !== drag.x || item.y !== drag.y)) live.put(drag.id, { ...item, x: drag.x, y: drag.y });
            setDrag(null);
          }
        }}
      >
        {Object.keys(items).length === 0 && (
          <p class="board-empty">{canEdit ? "An empty board. Add a sticker, a note or an image to begin." : "Nothing on this board yet."}</p>
        )}
        {Object.entries(items).map(([id, item]) => (
          <ItemView
            key={id}
            id={id}
            item={item}
            image={item.kind === "image" && item.blobId ? live.image(item.blobId) : null}
            canEdit={canEdit}
            dragging={drag?.id === id ? drag : null}
            onMove={(x, y) => live.put(id, { ...item, x, y })}
            onRemove={() => live.remove(id)}
            onDragStart={(event) => {
              const p = point(event);
              (event.currentTarget as HTMLElement).setPointerCapture?.(event.pointerId);
              setDrag({ id, dx: p.x - item.x, dy: p.y - item.y, x: item.x, y: item.y });
            }}
          />
        ))}
        {peers
          .filter((p) => p.cursor)
          .map((p) => (
            <span
              key={p.clientId}
              class="board-cursor"
              data-testid="peer-cursor"
              style={{ left: `${((p.cursor?.x ?? 0) / WIDTH) * 100}%`, top: `${((p.cursor?.y ?? 0) / HEIGHT) * 100}%`, color: p.color }}
            >
              <span class="board-cursor-name" style={{ background: p.color }}>{p.name}</span>
            </span>
          ))}
      </div>
      </div>
    </>
  );
}

function Members({ board, onChanged }: { board: Board; onChanged: () => void }) {
  const me = useSignal(account);
  const [friends, setFriends] = useState<Connection[]>([]);
  const [handle, setHandle] = useState("");
  const [role, setRole] = useState<Role>("EDITOR");
  const [error, setError] = useState<string | null>(null);
  const owner = board.myRole === "OWNER";
  useEffect(() => {
    if (!owner) return;
    gql<{ connections: Connection[] }>(`{ connections(status: FRIENDS) { profile { ${PROFILE} } status since } }`)
      .then((data) => setFriends(data.connections))
      .catch((e) => setError(describe(e)));
  }, [owner]);
  const run = async (work: () => Promise<unknown>) => {
    setError(null);
    try {
      await work();
      onChanged();
    } catch (e) {
      setError(describe(e));
    }
  };
  const invitable = friends.filter((f) => !board.members.some((m) => m.profile.handle === f.profile.handle));
  return (
    <section aria-labelledby="members-title">
      <h2 id="members-title">Members</h2>
      <ul class="people" data-testid="board-members">
        {board.members.map((m) => (
          <li key={m.profile.handle} class="person row spread">
            <span>
              <strong>{m.profile.displayName}</strong> <span class="muted">@{m.profile.handle} · {ROLE_WORDS[m.role]}</span>
            </span>
            {owner && m.role !== "OWNER" && (
              <button type="button" onClick={() => run(() => gql("mutation($b: ID!, $h: String!) { removeFromBoard(boardId: $b, handle: $h) }", { b: board.id, h: m.profile.handle }))} aria-label={`Remove @${m.profile.handle} from the board`}>
                Remove
              </button>
            )}
            {!owner && m.profile.handle === me?.handle && (
              <button type="button" onClick={() => run(() => gql("mutation($b: ID!, $h: String!) { removeFromBoard(boardId: $b, handle: $h) }", { b: board.id, h: m.profile.handle }))}>
                Leave board
              </button>
            )}
          </li>
        ))}
      </ul>
      {owner && !board.archived && (
        invitable.length === 0 ? (
          <Empty>Invite friends to make this board together: every friend you have is already here, or you have none yet.</Empty>
        ) : (
          <form
            class="row wrap invite"
            aria-label="Invite a friend"
            onSubmit={(e) => {
              e.preventDefault();
              const who = handle || invitable[0]?.profile.handle || "";
              void run(() => gql(`mutation($b: ID!, $h: String!, $r: BoardRole!) { inviteToBoard(boardId: $b, handle: $h, role: $r) { id } }`, { b: board.id, h: who, r: role }));
            }}
          >
            <label class="grow">
              Invite
              <select name="invite" value={handle} onChange={(e) => setHandle(e.currentTarget.value)}>
                {invitable.map((f) => (
                  <option key={f.profile.handle} value={f.profile.handle}>{f.profile.displayName} (@{f.profile.handle})</option>
                ))}
              </select>
            </label>
            <label>
              Role
              <select name="role" value={role} onChange={(e) => setRole(e.currentTarget.value as Role)}>
                <option value="EDITOR">can edit</option>
                <option value="VIEWER">can look</option>
              </select>
            </label>
            <button type="submit">Invite</button>
          </form>
        )
      )}
      {owner && !board.archived && (
        <button type="button" class="danger" onClick={() => run(() => gql("mutation($b: ID!) { archiveBoard(boardId: $b) { id } }", { b: board.id }))}>
          Archive board (read-only for everyone)
        </button>
      )}
      <ErrorText error={error} />
    </section>
  );
}

function OpenBoard({ id, onBack }: { id: string; onBack: () => void }) {
  const me = useSignal(account);
  const words = useVocabulary();
  const [board, setBoard] = useState<Board | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [version, setVersion] = useState(0);
  useEffect(() => {
    gql<{ board: Board }>(`query($id: ID!) { board(id: $id) { ${BOARD} } }`, { id })
      .then((data) => setBoard(data.board))
      .catch((e) => setError(describe(e)));
  }, [id, version]);
  // Open the socket once both the board and who I am are known (my name is in my cursor).
  const live = useLiveBoard(id, me && board ? board.socketPath : null, me?.displayName ?? "", me?.id ?? "");
  return (
    <>
      <button type="button" onClick={onBack}>
        ← All boards
      </button>
      <ErrorText error={error} />
      {board && (
        <>
          <h1>{board.title}</h1>
          {board.description && <p class="muted">{board.description}</p>}
          {board.archived && <p class="notice">This board is archived: everyone can look, nobody can change it.</p>}
          {live ? <Canvas board={board} live={live} words={words} /> : <p class="muted">Opening the board…</p>}
          <Members board={board} onChanged={() => setVersion((v) => v + 1)} />
        </>
      )}
    </>
  );
}

export function BoardsScreen() {
  const [boards, setBoards] = useState<Board[] | null>(null);
  const [open, setOpen] = useState<string | null>(() => new URLSearchParams(location.search).get("board"));
  const [title, setTitle] = useState("");
  const [description, setDescription] = useState("");
  const [error, setError] = useState<string | null>(null);
  const [version, setVersion] = useState(0);

  useEffect(() => {
    if (open) return;
    gql<{ boards: Board[] }>(`{ boards(includeArchived: true) { ${BOARD} } }`)
      .then((data) => setBoards(data.boards))
      .catch((e) => setError(describe(e)));
  }, [open, version]);

  const show = (id: string | null) => {
    history.replaceState(null, "", id ? `/boards?board=${encodeURIComponent(id)}` : "/boards");
    setOpen(id);
  };

  if (open) return <OpenBoard key={open} id={open} onBack={() => show(null)} />;

  async function create(event: Event) {
    event.preventDefault();
    setError(null);
    try {
      const data = await gql<{ createBoard: Board }>(
        `mutation($input: CreateBoardInput!) { createBoard(input: $input) { id } }`,
        { input: { id: crypto.randomUUID(), title: title.trim(), description: description.trim() } },
      );
      setTitle("");
      setDescription("");
      setVersion((v) => v + 1);
      show(data.createBoard.id);
    } catch (e) {
      setError(describe(e));
    }
  }

  return (
    <>
      <h1>Mood boards</h1>
      <p class="muted">Boards you make with friends: stickers, notes and images on one canvas, everyone live.</p>
      <form class="card" onSubmit={create} aria-label="New board">
        <label>
          Title
          <input name="title" required maxLength={80} value={title} onInput={(e) => setTitle(e.currentTarget.value)} />
        </label>
        <label>
          <span>
            Description <span class="muted">(optional)</span>
          </span>
          <input name="description" maxLength={500} value={description} onInput={(e) => setDescription(e.currentTarget.value)} />
        </label>
        <button class="primary" type="submit">
          Create board
        </button>
      </form>
      <ErrorText error={error} />
      <section aria-labelledby="boards-title">
        <h2 id="boards-title">Your boards</h2>
        {boards === null ? (
          <p class="muted">Loading…</p>
        ) : boards.length === 0 ? (
          <Empty>No boards yet. Create one above, then invite friends to it.</Empty>
        ) : (
          <ul class="people" data-testid="boards-list">
            {boards.map((b) => (
              <li key={b.id} class="person row spread" data-board-id={b.id}>
                <span>
                  <strong>{b.title}</strong>{" "}
                  <span class="muted small">
                    {ROLE_WORDS[b.myRole]} · {b.itemCount} items · {b.members.length} members · {when(b.lastActivityAt)}
                    {b.archived ? " · archived" : ""}
                  </span>
                </span>
                <button type="button" onClick={() => show(b.id)} aria-label={`Open ${b.title}`}>
                  Open
                </button>
              </li>
            ))}
          </ul>
        )}
      </section>
    </>
  );
}
