// API tokens (hashes only; the token itself is shown once).

/** A stored API token (hash only). */
export interface ApiTokenRow {
  id: string;
  name: string;
  role: string;
  userid: string | null;
  tokenHash: string;
  createdAt: number;
}
