import { createHash } from 'node:crypto';
import { closeSync, fdatasyncSync, openSync, readFileSync, readdirSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * Who used the machine's CPU during a measured window, from the kernel's own counters (/proc/stat and
 * /proc/<pid>/stat, in clock ticks). A surge run on 2 cores moves by more than the settings it compares when anything
 * else runs, so each run reports the share of the machine that processes outside the bench took (`otherCpuPct`):
 * a run with a large one measured the neighbours as much as the bot.
 */
export interface CpuShare {
  /** Busy share of the whole machine (all cores = 100). */
  machineCpuPct: number;
  /** Share taken by the bench's own processes (bot, sandbox, load generator, the bench itself). */
  benchCpuPct: number;
  /** Share taken by the database server (MariaDB), which other work may also use. */
  dbCpuPct: number;
  /** Share taken by everything else. */
  otherCpuPct: number;
}

function machineTicks(): { busy: number; total: number } {
  const fields = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
  const total = fields.reduce((a, b) => a + b, 0);
  // user nice system idle iowait irq softirq steal …: idle and iowait are not busy.
  return { busy: total - (fields[3] ?? 0) - (fields[4] ?? 0), total };
}

function processTicks(pid: number): number {
  try {
    // The command name (field 2) may hold spaces; the fields after its closing parenthesis are fixed.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return Number(rest[11]) + Number(rest[12]); // utime, stime (fields 14 and 15)
  } catch {
    return 0; // gone
  }
}

/** The database server's pid (mariadbd or mysqld), if it runs on this machine. */
export function databaseServerPid(): number | undefined {
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const comm = readFileSync(`/proc/${name}/comm`, 'utf8').trim();
      if (comm === 'mariadbd' || comm === 'mysqld') return Number(name);
    } catch {
      // raced with an exit
    }
  }
  return undefined;
}

export interface CpuWindow {
  /** Count a process as the bench's from now (one started after the window opened, such as the load generator). */
  track(pid: number | undefined): void;
  /** Read the tracked processes' counters now, so one that exits before `end` still counts (call it often). */
  sample(): void;
  /** The shares since the window opened. */
  end(): CpuShare;
}

/** Open a window over the machine, counting `benchPids` (and this process) as the bench's. */
export function cpuWindow(benchPids: (number | undefined)[]): CpuWindow {
  const dbPid = databaseServerPid();
  const m0 = machineTicks();
  const start = new Map<number, number>();
  const last = new Map<number, number>();
  const track = (pid: number | undefined) => {
    if (pid && !start.has(pid)) start.set(pid, processTicks(pid));
  };
  const sample = () => {
    for (const pid of start.keys()) last.set(pid, Math.max(last.get(pid) ?? 0, processTicks(pid)));
  };
  for (const pid of [process.pid, ...benchPids]) track(pid);
  const db0 = dbPid ? processTicks(dbPid) : 0;
  return {
    track,
    sample,
    end() {
      sample();
      const m1 = machineTicks();
      const total = m1.total - m0.total || 1;
      const bench = [...start].reduce((a, [pid, t0]) => a + Math.max(0, (last.get(pid) ?? t0) - t0), 0);
      const db = dbPid ? Math.max(0, processTicks(dbPid) - db0) : 0;
      const busy = m1.busy - m0.busy;
      const pct = (t: number) => Math.round((1000 * t) / total) / 10;
      return { machineCpuPct: pct(busy), benchCpuPct: pct(bench), dbCpuPct: pct(db), otherCpuPct: pct(Math.max(0, busy - bench - db)) };
    },
  };
}

/**
 * How fast this machine's CPU is right now: the best of three timings of a fixed piece of work (hashing and JSON,
 * about 100 ms on this 2-core machine when idle). A shared host can run the same code slower at one hour than another;
 * a run whose calibration is slow measured a slower machine.
 */
export function cpuCalibrationMs(): number {
  const block = Buffer.alloc(1024, 7);
  const doc = { id: 1, name: '客户', tags: Array.from({ length: 20 }, (_, i) => `tag${i}`), at: 1_700_000_000_000 };
  let best = Infinity;
  for (let round = 0; round < 3; round++) {
    const t = performance.now();
    let h = block;
    for (let i = 0; i < 20_000; i++) {
      h = createHash('sha256').update(h).digest();
      if (i % 4 === 0) JSON.parse(JSON.stringify({ ...doc, id: i }));
    }
    best = Math.min(best, performance.now() - t);
  }
  return Math.round(best);
}

/**
 * How long a durable write takes on this machine's disk right now: the median of 30 small writes each followed by
 * fdatasync, in the system's temporary directory. Every acknowledgement waits for one such flush (SQLite's inbox commit,
 * or MariaDB's redo log), and on a shared host it can take longer at one hour than another while the CPU is as fast.
 */
export function fsyncCalibrationMs(): number {
  const path = join(tmpdir(), `wecom-ops-fsync-${process.pid}`);
  const fd = openSync(path, 'w');
  const block = Buffer.alloc(4096, 1);
  const times: number[] = [];
  try {
    for (let i = 0; i < 30; i++) {
      const t = performance.now();
      writeSync(fd, block, 0, block.length, (i % 8) * 4096);
      fdatasyncSync(fd);
      times.push(performance.now() - t);
    }
  } finally {
    closeSync(fd);
    rmSync(path, { force: true });
  }
  times.sort((a, b) => a - b);
  return Math.round(times[15] * 100) / 100;
}
