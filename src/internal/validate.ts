/**
 * The one option-validation helper: every factory and constructor checks its
 * numeric and boolean options through these, so every message reads the same
 * way: `Option graceMs must be a non-negative integer, got -1`.
 *
 * @module
 */

/** A whole number ≥ 0 (0 usually means "none"; the caller documents it). */
export function nonNegativeInt(name: string, value: number): number {
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new TypeError(
      `Option ${name} must be a non-negative integer, got ${String(value)}`,
    );
  }
  return value;
}

/** A whole number ≥ 1. */
export function positiveInt(name: string, value: number): number {
  if (!Number.isSafeInteger(value) || value < 1) {
    throw new TypeError(
      `Option ${name} must be a positive integer, got ${String(value)}`,
    );
  }
  return value;
}

/** A boolean. */
export function bool(name: string, value: boolean): boolean {
  if (typeof value !== "boolean") {
    throw new TypeError(
      `Option ${name} must be a boolean, got ${String(value)}`,
    );
  }
  return value;
}

/** One of `allowed`. */
export function oneOf<T extends string>(
  name: string,
  value: T,
  allowed: readonly T[],
): T {
  if (!allowed.includes(value)) {
    throw new TypeError(
      `Option ${name} must be ${
        allowed.map((a) => `"${a}"`).join(" or ")
      }, got ${JSON.stringify(value) ?? String(value)}`,
    );
  }
  return value;
}

/** A function. */
export function func<T>(name: string, value: T): T {
  if (typeof value !== "function") {
    throw new TypeError(
      `Option ${name} must be a function, got ${String(value)}`,
    );
  }
  return value;
}
