// Copies GraphiQL and the React it runs on from node_modules into dist/graphiql/, so
// `hugmood serve` serves GraphiQL's files itself (no CDN: it works offline and sends nobody's
// browser to a third party). Run by `npm run build` after Vite has emptied dist/.
import { copyFileSync, mkdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const web = join(dirname(fileURLToPath(import.meta.url)), "..");
const into = join(web, "dist", "graphiql");
const FILES = [
  "react/umd/react.production.min.js",
  "react-dom/umd/react-dom.production.min.js",
  "graphiql/graphiql.min.js",
  "graphiql/graphiql.min.css",
];

mkdirSync(into, { recursive: true });
for (const file of FILES) {
  copyFileSync(join(web, "node_modules", file), join(into, file.split("/").pop()));
}
