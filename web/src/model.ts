// The shapes the app reads from HugMood's GraphQL API (docs/schema.graphql), and shared labels.

export type Privacy = "PRIVATE" | "CLOSE_FRIENDS" | "FRIENDS_ONLY" | "PUBLIC";
export type PresenceStatus = "ONLINE" | "AWAY" | "OFFLINE";
export type Relationship = "SELF" | "FRIENDS" | "REQUESTED" | "INCOMING" | "BLOCKED" | "NONE";
export type HugStatus = "SENT" | "DELIVERED" | "SEEN" | "WITHDRAWN";
export type Aggregation = "NONE" | "DAY" | "WEEK" | "MONTH";

export const HUG_TYPES = [
  "WARM",
  "COMFORTING",
  "CELEBRATION",
  "STRENGTH",
  "CALM",
  "GRATITUDE",
  "MISS_YOU",
  "PLAYFUL",
] as const;
export type HugType = (typeof HUG_TYPES)[number];

export const HUG_LABEL: Record<HugType, string> = {
  WARM: "🤗 Warm",
  COMFORTING: "🫂 Comforting",
  CELEBRATION: "🎉 Celebration",
  STRENGTH: "💪 Strength",
  CALM: "🌿 Calm",
  GRATITUDE: "🙏 Gratitude",
  MISS_YOU: "💌 Miss you",
  PLAYFUL: "🎈 Playful",
};

export const PRIVACY_LABEL: Record<Privacy, string> = {
  PRIVATE: "Only me",
  CLOSE_FRIENDS: "Close friends",
  FRIENDS_ONLY: "Friends",
  PUBLIC: "Everyone",
};

export const WEATHER = ["sunny", "cloudy", "rainy", "stormy", "snowy", "windy", "foggy", "hot", "cold"];
export const SOCIAL = ["alone", "partner", "family", "friends", "colleagues", "strangers", "online"];

export interface Profile {
  handle: string;
  displayName: string;
  bio: string;
}

export interface Account {
  id: string;
  handle: string;
  displayName: string;
  bio: string;
  defaultVisibility: Privacy;
  appearOffline: boolean;
  memberSince: string;
}

export interface MoodWord {
  word: string;
  energy: number;
  pleasantness: number;
  quadrant: string;
}

export interface ContextFactors {
  location: string | null;
  weather: string | null;
  socialContext: string | null;
  tags: string[];
}

export interface MoodEntry {
  id: string;
  author: Profile;
  moodType: string;
  intensity: number;
  note: string | null;
  contextFactors: ContextFactors;
  privacy: Privacy;
  recordedAt: string;
  /** Only for your own entries: set when a device analysed a note it kept to itself. */
  insights?: { sentiment: number } | null;
  /** Where its photo is (fetched with the session), seen by whoever may see the entry. */
  photo?: string | null;
}

export interface MoodSeries {
  starts: string[];
  counts: number[];
  meanIntensities: number[];
  dominantMoods: string[];
  meanEnergies: number[];
  meanPleasantness: number[];
}

export interface Hug {
  id: string;
  sender: Profile;
  recipient: Profile;
  hugType: HugType;
  message: string | null;
  status: HugStatus;
  sentAt: string;
}

export interface Connection {
  profile: Profile;
  status: Relationship;
  since: string;
}

export const PROFILE = "handle displayName bio";
export const ACCOUNT = "id handle displayName bio defaultVisibility appearOffline memberSince";
export const ENTRY = `id author { ${PROFILE} } moodType intensity note privacy recordedAt
  contextFactors { location weather socialContext tags } insights { sentiment } photo`;
export const HUG = `id sender { ${PROFILE} } recipient { ${PROFILE} } hugType message status sentAt`;

/** Quadrant colours (mood-meter convention), each readable with dark text. */
export const QUADRANT_COLOUR: Record<string, string> = {
  "high-energy-unpleasant": "#f4a09c",
  "high-energy-pleasant": "#f7d774",
  "low-energy-unpleasant": "#9cc3f0",
  "low-energy-pleasant": "#9fdcaa",
};

export const QUADRANT_LABEL: Record<string, string> = {
  "high-energy-unpleasant": "High energy, unpleasant",
  "high-energy-pleasant": "High energy, pleasant",
  "low-energy-unpleasant": "Low energy, unpleasant",
  "low-energy-pleasant": "Low energy, pleasant",
};

export function quadrantOf(energy: number, pleasantness: number): string {
  if (energy >= 0) return pleasantness >= 0 ? "high-energy-pleasant" : "high-energy-unpleasant";
  return pleasantness >= 0 ? "low-energy-pleasant" : "low-energy-unpleasant";
}

export function when(iso: string): string {
  return new Date(iso).toLocaleString(undefined, {
    weekday: "short",
    day: "numeric",
    month: "short",
    hour: "2-digit",
    minute: "2-digit",
  });
}

export function timeZone(): string {
  return Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC";
}
