import type { Container } from '../../src/container.js';

/** A customer persisted through the repositories, followed (actively) by `owners`. */
export async function buildCustomer(
  c: Container,
  overrides: { externalUserId: string; name?: string; owners?: string[]; addedAt?: Date },
): Promise<{ externalUserId: string; name: string; owners: string[] }> {
  const { repos } = c.archive;
  const name = overrides.name ?? overrides.externalUserId;
  const owners = overrides.owners ?? [];
  const now = c.clock.now().getTime();
  await c.db.tx(async (em) => {
    await repos.customers.upsertProfileInTx(em, { externalUserId: overrides.externalUserId, name, type: 1, gender: 0 }, now);
    for (const userid of owners) {
      await repos.relations.ensureStaffInTx(em, userid, now);
      await repos.relations.upsertProfileInTx(
        em,
        {
          userid,
          externalUserId: overrides.externalUserId,
          remark: '',
          description: '',
          remarkMobiles: [],
          addWay: 1,
          state: null,
          operUserid: null,
          addedAt: overrides.addedAt ?? new Date(now),
        },
        { now },
      );
    }
    await repos.customers.refreshActivityInTx(em, overrides.externalUserId, now);
  });
  return { externalUserId: overrides.externalUserId, name, owners };
}
