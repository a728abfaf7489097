/**
 * Passive outlier ejection: counting each upstream's consecutive failed
 * exchanges and taking it out of rotation, for an exponentially growing
 * time, when the count reaches the threshold — unless it is the last
 * upstream in rotation.
 *
 * @module
 */

import type { OutlierConfig } from "./config.ts";
import type { Pool, Upstream } from "./upstreams.ts";

/** Resets the failure count of `u` after a good exchange. */
export function recordSuccess(u: Upstream): void {
  u.failures = 0;
}

/**
 * Counts a failed exchange of `u`; ejects it when the count reaches
 * `consecutiveFailures` and another upstream is in rotation. Returns whether
 * it was ejected now.
 */
export function recordFailure(
  pool: Pool,
  u: Upstream,
  config: OutlierConfig,
): boolean {
  const threshold = config.consecutiveFailures;
  if (threshold === 0 || ++u.failures < threshold) return false;
  const now = performance.now();
  if (!pool.inRotation(u, now)) return false; // already out
  // Never eject the last upstream in rotation: the count stays at the
  // threshold, so it goes as soon as another one is back and it fails again.
  if (pool.othersInRotation(u, now) === 0) return false;
  if (u.readmittedAt !== 0 && now - u.readmittedAt >= config.maxEjectionMs) {
    u.ejections = 0; // it stayed in rotation long enough: start over
  }
  u.ejections++;
  const ms = Math.min(
    config.baseEjectionMs * 2 ** (u.ejections - 1),
    config.maxEjectionMs,
  );
  u.ejectedUntil = now + ms;
  u.failures = 0;
  return true;
}

/** Ends the ejection of `u` (an active check saw it recover). */
export function readmit(u: Upstream): void {
  if (u.ejectedUntil !== 0) u.readmittedAt = performance.now();
  u.ejectedUntil = 0;
  u.failures = 0;
}
