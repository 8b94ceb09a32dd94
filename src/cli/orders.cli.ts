import { createReadStream, type ReadStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { extname } from 'node:path';
import { parseArgs } from 'node:util';
import { AppError } from '../shared/errors.js';
import { MAX_CSV_BYTES, MAX_IMPORT_ROWS, type OrderImportReport, type OrderService } from '../domain/orders/order.service.js';

const USAGE = `用法 / usage:
  wecom-ops orders import <file.csv|file.json> [--json]
    CSV: header orderNo,externalUserId,amount,orderedAt (or 订单号,客户ID,金额,下单时间), UTF-8
    At most ${MAX_IMPORT_ROWS} orders and ${MAX_CSV_BYTES / (1024 * 1024)} MB per file; a larger file imports nothing
    JSON: { "orders": [{ "orderNo", "externalUserId", "amount", "orderedAt" }] } or a bare array
`;

/** The import report as people read it; `--json` prints the API's JSON instead. */
export function formatImportReport(r: OrderImportReport): string {
  const lines = [`订单导入 / orders import: 新增 imported ${r.imported} · 更新 updated ${r.updated} · 未变 unchanged ${r.unchanged} · 失败 failed ${r.failed}`];
  for (const e of r.errors) lines.push(`  第 ${e.line} 行 line ${e.line} [${e.code}] ${e.message}`);
  if (r.failed > r.errors.length) lines.push(`  …另有 ${r.failed - r.errors.length} 行失败 / ${r.failed - r.errors.length} more`);
  return `${lines.join('\n')}\n`;
}

/**
 * `wecom-ops orders import <file>`: the same import as `POST /api/v1/orders/import`, idempotent by order number.
 * Returns the exit code: 0 every row imported or unchanged, 1 some rows failed (the rest were imported), 2 bad usage
 * or an unreadable file.
 */
export async function ordersCommand(sub: string | undefined, args: string[], orders: OrderService, out: NodeJS.WritableStream, err: NodeJS.WritableStream): Promise<number> {
  const { values, positionals } = parseArgs({ args, options: { json: { type: 'boolean' } }, allowPositionals: true });
  const file = positionals[0];
  if (sub !== 'import' || !file || positionals.length > 1) {
    err.write(USAGE);
    return 2;
  }
  let input: { csv: ReadStream } | { items: unknown[] };
  try {
    if (extname(file).toLowerCase() === '.json') {
      const parsed: unknown = JSON.parse(new TextDecoder('utf-8').decode(await readFile(file)));
      const items = Array.isArray(parsed) ? parsed : (parsed as { orders?: unknown } | null)?.orders;
      if (!Array.isArray(items)) throw new Error('JSON 应为 { "orders": [...] } 或数组 / expected { "orders": [...] } or an array');
      input = { items };
    } else {
      // Streamed through the same reader and caps as POST /api/v1/orders/import (docs/security.md §Order import limits).
      const stream = createReadStream(file);
      await new Promise<void>((resolve, reject) => stream.once('open', () => resolve()).once('error', reject));
      input = { csv: stream };
    }
  } catch (e) {
    err.write(`无法读取 ${file} / cannot read: ${(e as Error).message}\n`);
    return 2;
  }
  let report: OrderImportReport;
  try {
    report = 'csv' in input ? await orders.importCsv(input.csv) : await orders.importJson(input.items);
  } catch (e) {
    // A file the import refuses whole (no header, not UTF-8, over the row or size cap) is the operator's to fix;
    // anything else propagates.
    if (!(e instanceof AppError && e.expose)) throw e;
    err.write(`无法导入 ${file} / cannot import: ${e.message}\n`);
    return 2;
  }
  out.write(values.json ? `${JSON.stringify(report)}\n` : formatImportReport(report));
  return report.failed > 0 ? 1 : 0;
}
