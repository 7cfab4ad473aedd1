// What the document's snippets take from their page: the two base URLs, a Clerk token, a picked file.
import fs from "node:fs";

export const backendBase = process.env.BACKEND_URL;
export const apiBase = process.env.API_URL;
export const token = process.env.TOKEN;
export const file = process.env.IMAGE_PATH
  ? new Blob([fs.readFileSync(process.env.IMAGE_PATH)], { type: "image/png" })
  : null;
// A client that never finishes must not hang the suite.
setTimeout(() => {
  console.error("gave up waiting");
  process.exit(3);
}, Number(process.env.DEADLINE_MS || 90000)).unref();
