import { describe, expect, it, vi } from 'vitest';
import { StaffService } from '../../../../src/domain/customers/staff.service.js';
import type { StaffRepository } from '../../../../src/persistence/repositories/staff.repository.js';
import type { Member, WecomGateway } from '../../../../src/wecom/client/gateway.js';
import { FixedClock } from '../../../../src/shared/clock.js';
import { WecomApiError } from '../../../../src/shared/errors.js';
import { silentLogger } from '../../../../src/shared/logger.js';

/** WeCom's user/get over a directory: a name, or the errcode WeCom answers for that member. */
function fakeWecom(directory: Record<string, string | number>) {
  let inFlight = 0;
  const gateway = {
    maxInFlight: 0,
    getMember: vi.fn(async (userId: string): Promise<Member> => {
      inFlight += 1;
      gateway.maxInFlight = Math.max(gateway.maxInFlight, inFlight);
      await new Promise((r) => setTimeout(r, 1));
      inFlight -= 1;
      const entry = directory[userId] ?? 60111;
      if (typeof entry === 'number') throw new WecomApiError('user/get', entry, 'refused');
      return { userId, name: entry, departmentIds: [1] };
    }),
  };
  return gateway;
}

/** The repository calls StaffService makes, recorded. */
function fakeRepo() {
  const stored: Array<{ userid: string; name: string }> = [];
  const repo = { stored, setWecomNames: vi.fn(async (names: Array<{ userid: string; name: string }>) => void stored.push(...names)) };
  return repo;
}

function build(directory: Record<string, string | number>) {
  const wecom = fakeWecom(directory);
  const repo = fakeRepo();
  const log = { ...silentLogger, warn: vi.fn() };
  const sut = new StaffService(repo as unknown as StaffRepository, wecom as unknown as WecomGateway, new FixedClock('2026-03-10T02:00:00Z'), log as unknown as typeof silentLogger);
  return { sut, wecom, repo, log };
}

describe(StaffService.name, () => {
  describe('refreshNames', () => {
    it('stores every readable name and counts members WeCom refuses (60011, 60111), warning once per member', async () => {
      const { sut, repo, log } = build({ zhangsan: '张三', lisi: 60011, wangwu: '王五' });

      const report = await sut.refreshNames(['zhangsan', 'lisi', 'wangwu', 'ghost', 'lisi']);

      expect(report).toEqual({ named: 2, unavailable: ['ghost', 'lisi'] });
      expect(repo.stored.sort((a, b) => a.userid.localeCompare(b.userid))).toEqual([
        { userid: 'wangwu', name: '王五' },
        { userid: 'zhangsan', name: '张三' },
      ]);
      expect(log.warn).toHaveBeenCalledTimes(2);
      expect(log.warn.mock.calls.map((c) => (c[0] as { userid: string; errcode: number }).errcode).sort()).toEqual([60011, 60111]);
    });

    it('keeps at most 5 user/get calls in flight (docs/wecom-protocol.md §API rate limits)', async () => {
      const directory = Object.fromEntries(Array.from({ length: 23 }, (_, i) => [`u${i}`, `员工${i}`]));
      const { sut, wecom } = build(directory);

      const report = await sut.refreshNames(Object.keys(directory));

      expect(report.named).toBe(23);
      expect(wecom.getMember).toHaveBeenCalledTimes(23);
      expect(wecom.maxInFlight).toBe(5);
    });

    it('propagates any other error after storing the names read so far', async () => {
      const { sut, repo } = build({ zhangsan: '张三', lisi: 45009 });

      await expect(sut.refreshNames(['zhangsan', 'lisi'])).rejects.toMatchObject({ errcode: 45009 });
      expect(repo.stored).toEqual([{ userid: 'zhangsan', name: '张三' }]);
    });
  });
});
