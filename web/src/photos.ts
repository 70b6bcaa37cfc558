// Photos on check-ins: uploaded with the session after the check-in is stored, and fetched
// with it to show (an <img> cannot send the session token), kept as object URLs while shown.

import { ApiError, NetworkError, token } from "./api";

export const MAX_PHOTO_BYTES = 2 * 1024 * 1024;

function authorization(): Record<string, string> {
  const current = token();
  return current === null ? {} : { Authorization: `Bearer ${current}` };
}

/** Add (or replace) the photo of one of your check-ins. */
export async function uploadPhoto(entryId: string, file: File): Promise<void> {
  if (file.size > MAX_PHOTO_BYTES) throw new ApiError("That photo is larger than 2 MB; choose a smaller one.", "VALIDATION", "body");
  let response: Response;
  try {
    response = await fetch(`/moods/${encodeURIComponent(entryId)}/photo`, {
      method: "POST",
      headers: { ...authorization(), "Content-Type": file.type || "application/octet-stream" },
      body: file,
    });
  } catch {
    throw new NetworkError();
  }
  if (response.ok) return;
  let message = "The photo could not be added.";
  try {
    const body = (await response.json()) as { errors?: { message?: string }[] };
    message = body.errors?.[0]?.message ?? message;
  } catch {
    // Not JSON (a proxy's page): the plain sentence serves.
  }
  throw new ApiError(message.charAt(0).toUpperCase() + message.slice(1), "VALIDATION", "body");
}

/** An object URL for a photo path from the API (`MoodEntry.photo`). */
export async function photoUrl(path: string): Promise<string> {
  const response = await fetch(path, { headers: authorization() });
  if (!response.ok) throw new ApiError("This photo is not available.", "NOT_FOUND");
  return URL.createObjectURL(await response.blob());
}
