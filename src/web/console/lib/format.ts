// Times are shown in Asia/Shanghai whatever the browser's zone: the bot's schedules are in that zone too.

const ZONE = 'Asia/Shanghai';

const dateTime = new Intl.DateTimeFormat('zh-CN', { timeZone: ZONE, year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', hour12: false });
const isoDay = new Intl.DateTimeFormat('sv-SE', { timeZone: ZONE, year: 'numeric', month: '2-digit', day: '2-digit' });

export function fmtTime(v: string | null | undefined): string {
  return v ? dateTime.format(new Date(v)) : '—';
}

/** Today's date in Shanghai, `YYYY-MM-DD`. */
export function todayShanghai(now = new Date()): string {
  return isoDay.format(now);
}

/** Whole cents as yuan: 19990 → ¥199.90. */
export function yuan(cents: number): string {
  return `¥${(cents / 100).toFixed(2)}`;
}

/** A Shanghai wall time `YYYY-MM-DD HH:mm[:ss]` as an ISO instant. */
export function shanghaiToIso(local: string): string {
  const [d, t = '00:00:00'] = local.trim().split(/[ T]/);
  return new Date(`${d}T${t.length === 5 ? `${t}:00` : t}+08:00`).toISOString();
}
