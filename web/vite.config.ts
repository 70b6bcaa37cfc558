// Builds the HugMood browser app into web/dist, which `hugmood serve` serves at `/`.
import { defineConfig } from "vite";

export default defineConfig({
  esbuild: { jsx: "automatic", jsxImportSource: "preact" },
  build: { target: "es2022", outDir: "dist", emptyOutDir: true, sourcemap: false },
  server: {
    // `npm run dev` next to `hugmood serve` on :8000.
    proxy: { "/graphql": { target: "http://127.0.0.1:8000", ws: true }, "/boards": { target: "ws://127.0.0.1:8000", ws: true } },
  },
});
