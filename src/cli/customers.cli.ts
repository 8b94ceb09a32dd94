import { parseArgs } from 'node:util';
import { erasedStubId, type ErasureService } from '../domain/privacy/erasure.service.js';
import type { AuditLogService } from '../domain/audit/audit-log.service.js';

const USAGE = `用法 / usage:
  wecom-ops customers erase <externalUserId> [--yes] [--json]
`;

/**
 * `wecom-ops customers erase <id>` (PIPL art. 47). Without `--yes` it only says what it would do: erasure cannot be
 * undone. Returns the exit code: 0 erased, 1 not confirmed, 2 bad usage.
 */
export async function customersCommand(
  sub: string | undefined,
  args: string[],
  erasure: ErasureService,
  out: NodeJS.WritableStream,
  audit?: Pick<AuditLogService, 'recordCli'>,
): Promise<number> {
  const { values, positionals } = parseArgs({ args, options: { yes: { type: 'boolean' }, json: { type: 'boolean' } }, allowPositionals: true });
  const id = positionals[0];
  if (sub !== 'erase' || !id || id.length > 64) {
    out.write(USAGE);
    return 2;
  }
  if (!values.yes) {
    out.write(`将删除客户 ${id} 在本系统中的全部个人信息，且无法恢复。确认请加 --yes。\n`);
    out.write(`This erases every piece of personal data this bot holds about ${id} and cannot be undone. Add --yes to confirm.\n`);
    return 1;
  }
  const r = await erasure.erase(id, 'cli');
  // The audit row names the customer by the erasure's stub, never by the id just erased (docs/security.md §Audit log).
  await audit?.recordCli('customers.erase', erasedStubId(r.subjectHash), { after: { erasureId: r.erasureId, totalRows: r.totalRows } });
  if (values.json) {
    out.write(`${JSON.stringify({ ...r, erasedAt: r.erasedAt.toISOString() })}\n`);
    return 0;
  }
  out.write(`已删除 / erased: ${r.totalRows} rows (erasure ${r.erasureId}, subject ${r.subjectHash})\n`);
  for (const [table, n] of Object.entries(r.counts)) out.write(`  ${table}\t${n}\n`);
  out.write(`仍在企业微信中 / still in WeCom${r.wecomFollowers.length ? ` (staff: ${r.wecomFollowers.join(', ')})` : ''}:\n`);
  for (const line of r.remainsInWecom) out.write(`  - ${line}\n`);
  return 0;
}
