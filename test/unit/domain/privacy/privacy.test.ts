import { describe, expect, it } from 'vitest';
import { Writable } from 'node:stream';
import { retentionSettingsSchema } from '../../../../src/domain/privacy/retention-settings.js';
import { careSettingsSchema } from '../../../../src/domain/care/care-settings.js';
import { customersCommand } from '../../../../src/cli/customers.cli.js';
import type { ErasureResult, ErasureService } from '../../../../src/domain/privacy/erasure.service.js';

function sink() {
  let text = '';
  const out = new Writable({ write: (chunk, _enc, cb) => ((text += String(chunk)), cb()) });
  return { out, text: () => text };
}

describe('retentionSettingsSchema', () => {
  it('has documented defaults and sits in the care settings with a daily schedule', () => {
    const s = careSettingsSchema.parse({});
    expect(s.retention).toEqual({ inboxPayloadDays: 30, inboxFailedDays: 90, departedTimelineDays: 365, kfTextDays: 180, deliveryTextDays: 180, batchSize: 500 });
    expect(s.schedules.retention).toBe('10 4 * * *');
  });

  it('accepts 0 (keep forever) and rejects negative periods', () => {
    expect(retentionSettingsSchema.parse({ kfTextDays: 0 }).kfTextDays).toBe(0);
    expect(retentionSettingsSchema.safeParse({ inboxPayloadDays: -1 }).success).toBe(false);
  });
});

describe(customersCommand.name, () => {
  const result: ErasureResult = {
    erasureId: 'e1', subjectHash: 'h', erasedAt: new Date(0), counts: { customers: 1 }, totalRows: 1, wecomFollowers: ['zhangsan'], remainsInWecom: ['relation'],
  };
  const calls: string[] = [];
  const sut = { erase: async (id: string, by: string) => (calls.push(`${id}|${by}`), result) } as unknown as ErasureService;

  it('does nothing without --yes', async () => {
    const s = sink();
    expect(await customersCommand('erase', ['wm1'], sut, s.out)).toBe(1);
    expect(calls).toEqual([]);
    expect(s.text()).toContain('--yes');
  });

  it('erases with --yes as principal cli and says what stays in WeCom', async () => {
    const s = sink();
    expect(await customersCommand('erase', ['wm1', '--yes'], sut, s.out)).toBe(0);
    expect(calls).toEqual(['wm1|cli']);
    expect(s.text()).toContain('zhangsan');
  });

  it('rejects bad usage', async () => {
    expect(await customersCommand('delete', ['wm1'], sut, sink().out)).toBe(2);
    expect(await customersCommand('erase', [], sut, sink().out)).toBe(2);
  });
});
