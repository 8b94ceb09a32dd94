import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { HEAP_GROWING_PERCENT, limitHeapGrowth } from '../../bin/heap-growth.js';

vi.setConfig({ testTimeout: 60_000 });

const run = promisify(execFile);
const root = resolve(import.meta.dirname, '../..');
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { scripts: Record<string, string>; bin: Record<string, string> };

/**
 * The bot's processes let the heap grow by at most half of its live data between full collections (bin/heap-growth.js,
 * docs/audiences.md §Memory while planning): the CLI entry sets the flag before it loads anything, for `serve` as for
 * every other command, and an operator's own flag on the node command line wins. The child records the V8 flags it
 * sets (test/helpers/record-v8-flags.mjs).
 */
describe('heap growth of the bot process', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'cli-heap-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const flagsSetBy = async (nodeArgs: string[], args: string[], name: string): Promise<string[]> => {
    const record = join(dir, name);
    await run(process.execPath, [...nodeArgs, '--import', './test/helpers/record-v8-flags.mjs', pkg.bin['wecom-ops'], ...args], {
      cwd: root,
      env: { ...process.env, RECORD_V8_FLAGS: record },
    });
    return existsSync(record) ? readFileSync(record, 'utf8').split('\n').filter(Boolean) : [];
  };

  it('npm start and wecom-ops run the entry that sets the growth limit', async () => {
    // What npm start runs is the published bin, with the serve command.
    expect(pkg.scripts.start).toBe(`node ${pkg.bin['wecom-ops']} serve`);
    expect(await flagsSetBy([], ['--help'], 'help.txt')).toEqual([`--heap-growing-percent=${HEAP_GROWING_PERCENT}`]);
  });

  it("keeps the operator's own --heap-growing-percent", async () => {
    expect(await flagsSetBy(['--heap-growing-percent=80'], ['--help'], 'own.txt')).toEqual([]);
  });

  it('sets the flag once, unless the node command line has one', () => {
    const set: string[] = [];
    expect(limitHeapGrowth([], (f) => set.push(f))).toBe('--heap-growing-percent=50');
    expect(limitHeapGrowth(['--enable-source-maps', '--heap-growing-percent', '20'], (f) => set.push(f))).toBeNull();
    expect(set).toEqual(['--heap-growing-percent=50']);
  });
});
