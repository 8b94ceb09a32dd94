// Retention sweeps.

/** One sweep's options: rows older than `cutoff` (epoch ms), `batch` rows per statement, or only count. */
export interface SweepOptions {
  cutoff: number;
  batch: number;
  isDryRun: boolean;
}
