import { parseArgs } from 'node:util';
import type { Writable } from 'node:stream';
import type { FieldCipher } from '../shared/field-cipher.js';
import type { DataKeysService } from '../domain/keys/data-keys.service.js';

export const KEYS_USAGE = `用法 / usage:
  wecom-ops keys new                      print a new random DATA_KEY (base64 of 32 bytes)
  wecom-ops keys status                   count the sealed values under each key
  wecom-ops keys rotate [--batch N]       re-seal every value under DATA_KEY (keys in DATA_KEY_READ_ONLY are read)
`;

/** `wecom-ops keys status|rotate`; returns the exit code (0 done, 1 values left that no key opens, 2 usage). */
export async function keysCommand(sub: string | undefined, args: string[], keys: DataKeysService, cipher: FieldCipher, out: Writable): Promise<number> {
  const label = (id: string) => (id === cipher.keyId ? `${id} (DATA_KEY)` : cipher.keyIds.includes(id) ? `${id} (DATA_KEY_READ_ONLY)` : id === 'v1' ? 'v1 (未标记密钥 / no key id)' : `${id} (未配置 / not configured)`);
  if (sub === 'status') {
    out.write(`DATA_KEY ${cipher.keyId}${cipher.keyIds.length > 1 ? `; DATA_KEY_READ_ONLY ${cipher.keyIds.slice(1).join(', ')}` : ''}\n`);
    let remaining = 0;
    for (const s of await keys.status()) {
      const parts = Object.entries(s.byKey).map(([k, n]) => `${label(k)}: ${n}`);
      out.write(`${s.table}.${s.column}  ${parts.join(' · ') || '—'}\n`);
      remaining += s.remaining;
    }
    out.write(remaining === 0 ? '全部在 DATA_KEY 下 / everything is under DATA_KEY: DATA_KEY_READ_ONLY can be removed\n' : `待轮换 / not yet under DATA_KEY: ${remaining} (run: wecom-ops keys rotate)\n`);
    return 0;
  }
  if (sub === 'rotate') {
    const { values } = parseArgs({ args, options: { batch: { type: 'string' } } });
    const batch = values.batch === undefined ? 500 : Number(values.batch);
    if (!Number.isInteger(batch) || batch < 1 || batch > 10_000) {
      out.write(`--batch must be an integer in 1..10000\n${KEYS_USAGE}`);
      return 2;
    }
    const started = Date.now();
    let unreadable = 0;
    for (const p of await keys.rotate({
      batch,
      // A running count on a terminal; a log or a pipe gets the summary lines only.
      onProgress: (p) => (out as { isTTY?: boolean }).isTTY && out.write(`\r${p.table}.${p.column}: ${p.rotated} re-sealed   `),
    })) {
      out.write(`${(out as { isTTY?: boolean }).isTTY ? '\r' : ''}${p.table}.${p.column}: ${p.rotated} re-sealed${p.skipped ? `, ${p.skipped} changed meanwhile` : ''}${p.unreadable ? `, ${p.unreadable} open under no configured key` : ''}\n`);
      unreadable += p.unreadable;
    }
    out.write(`完成 / done in ${Date.now() - started} ms under ${cipher.keyId}\n`);
    if (unreadable > 0) {
      out.write(`${unreadable} values open under no configured key and were left as they are (see the log); DATA_KEY_READ_ONLY must not be dropped until they are accounted for\n`);
      return 1;
    }
    return 0;
  }
  out.write(KEYS_USAGE);
  return 2;
}
