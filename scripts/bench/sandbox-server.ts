/**
 * The WeCom sandbox in its own process for benchmarks: WeCom is another machine in production, so its CPU must not
 * be billed to the bot. Seeds the demo corp; the callback URL is set later through `PUT /_control/config`.
 * BENCH_SANDBOX_STAFF=N adds members staff0…staff{N-1} (the analytics bench's generated corp), and
 * BENCH_SANDBOX_JOURNEY_CUSTOMERS=N customers of theirs (the journeys bench). Prints `READY <url>`.
 * BENCH_SANDBOX_CPU_PROFILE=<file>: a V8 CPU profile of the sandbox, written on SIGTERM: on the bench's 2 cores the
 * sandbox's CPU is taken from the bot's, so what it spends is worth knowing.
 */
import { startSandboxServer } from '../../src/wecom/sandbox/server.js';
import { SANDBOX_CORP } from '../../src/wecom/sandbox-identity.js';
import { startCpuProfile } from './cpu-profile.js';
import { putSandboxCustomers } from '../../test/helpers/journey-corp.js';

const writeProfile = await startCpuProfile(process.env.BENCH_SANDBOX_CPU_PROFILE);

// The callback keys spawnServer hands every child (WECOM_TOKEN/WECOM_ENCODING_AES_KEY), so the bot accepts them.
const running = await startSandboxServer({
  port: 0,
  seed: true,
  corp: { ...SANDBOX_CORP, token: process.env.WECOM_TOKEN!, encodingAesKey: process.env.WECOM_ENCODING_AES_KEY! },
});
for (let i = 0; i < Number(process.env.BENCH_SANDBOX_STAFF ?? 0); i++) running.sandbox.store.staff.set(`staff${i}`, { userid: `staff${i}`, name: `员工${i}`, department: [1] });
// BENCH_SANDBOX_JOURNEY_CUSTOMERS=N: the journeys bench's customers wmJ000000000…, customer i added by staff{i % staff}.
const journeyCustomers = Number(process.env.BENCH_SANDBOX_JOURNEY_CUSTOMERS ?? 0);
if (journeyCustomers > 0) {
  const staff = [...running.sandbox.store.staff.keys()].filter((u) => /^staff\d+$/.test(u)).sort((a, b) => Number(a.slice(5)) - Number(b.slice(5)));
  putSandboxCustomers(running.sandbox.store, journeyCustomers, staff, Math.floor(Date.now() / 1000));
}
process.stdout.write(`READY ${running.url}\n`);
process.on('SIGTERM', () => void writeProfile().then(() => running.close()).then(() => process.exit(0)));
