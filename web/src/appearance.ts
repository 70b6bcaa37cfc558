// Appearance chosen on this device: light, dark or the system's; normal or larger text.

export type Theme = "system" | "light" | "dark";
export type TextSize = "normal" | "large";

const THEME_KEY = "hugmood.theme";
const TEXT_KEY = "hugmood.text";

export function theme(): Theme {
  const value = localStorage.getItem(THEME_KEY);
  return value === "light" || value === "dark" ? value : "system";
}

export function textSize(): TextSize {
  return localStorage.getItem(TEXT_KEY) === "large" ? "large" : "normal";
}

/** Put the choices on <html> (style.css reads `data-theme` and `data-text`). */
export function applyAppearance(): void {
  const root = document.documentElement;
  const chosen = theme();
  if (chosen === "system") delete root.dataset["theme"];
  else root.dataset["theme"] = chosen;
  if (textSize() === "large") root.dataset["text"] = "large";
  else delete root.dataset["text"];
}

export function setAppearance(next: { theme?: Theme; text?: TextSize }): void {
  if (next.theme) localStorage.setItem(THEME_KEY, next.theme);
  if (next.text) localStorage.setItem(TEXT_KEY, next.text);
  applyAppearance();
}
