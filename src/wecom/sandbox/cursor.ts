import { Errcode, SandboxApiError } from './errcodes.js';

/**
 * Opaque paging cursors. WeCom cursors are opaque strings that are empty on the last page
 * (docs/wecom-protocol.md §Batch customer details), so the sandbox hands out base64url JSON a client cannot usefully
 * parse and must pass back verbatim.
 */
export function encodeCursor(position: Record<string, number>): string {
  return Buffer.from(JSON.stringify(position), 'utf8').toString('base64url');
}

/** Decode a cursor from a request; an empty or absent cursor means "from the start". */
export function decodeCursor(cursor: unknown): Record<string, number> | null {
  if (cursor === undefined || cursor === null || cursor === '') return null;
  if (typeof cursor !== 'string') throw new SandboxApiError(Errcode.InvalidParameterValue, 'cursor must be a string');
  try {
    const parsed: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new Error('not an object');
    for (const v of Object.values(parsed)) if (typeof v !== 'number') throw new Error('not a number');
    return parsed as Record<string, number>;
  } catch {
    throw new SandboxApiError(Errcode.InvalidParameterValue, 'invalid cursor');
  }
}
