/**
 * Owns what every conformance suite is made of: a `ConformanceCase` (a name and a body that throws
 * when the contract is broken), registering a list with vitest and running one directly. Must never
 * know any contract: the suites bring the cases.
 */
import { describe, it } from 'vitest';

/**
 * One conformance check: a name and an async body that throws (usually an assertion error) when the
 * implementation under test breaks the contract. Suites are plain lists of cases so they can be
 * registered with vitest ({@link registerCases}) or run directly ({@link runCases}), e.g. to prove a
 * suite rejects a deliberately broken implementation.
 */
export interface ConformanceCase {
  /** A unique, human-readable name; becomes the vitest test name. */
  readonly name: string;
  /** Runs the case against a fresh instance (set up and torn down by the case itself). */
  run(): Promise<void>;
}

/** Options for registering a list of cases with vitest. */
export interface RegisterOptions {
  /** Per-case timeout in milliseconds (default 20 000). */
  timeoutMs?: number;
}

/** Registers `cases` as one vitest `describe(suiteName)` block with one `it` per case. */
export function registerCases(
  suiteName: string,
  cases: readonly ConformanceCase[],
  opts: RegisterOptions = {},
): void {
  const timeout = opts.timeoutMs ?? 20_000;
  describe(suiteName, () => {
    for (const c of cases) it(c.name, () => c.run(), timeout);
  });
}

/** The outcome of running one case directly. */
export interface CaseResult {
  /** The case's name. */
  name: string;
  /** `null` when the case passed, otherwise what it threw. */
  error: unknown;
}

/**
 * Runs cases one after another outside of vitest's test registration and reports each outcome.
 * Never throws for a failing case: the failure is in its result.
 */
export async function runCases(cases: readonly ConformanceCase[]): Promise<CaseResult[]> {
  const out: CaseResult[] = [];
  for (const c of cases) {
    try {
      await c.run();
      out.push({ name: c.name, error: null });
    } catch (error) {
      out.push({ name: c.name, error: error ?? new Error('case threw a nullish value') });
    }
  }
  return out;
}

/** Names of the cases in `results` that failed. */
export function failedCases(results: readonly CaseResult[]): string[] {
  return results.filter((r) => r.error !== null).map((r) => r.name);
}

/** Checks that case names are unique (a suite bug otherwise). */
export function assertUniqueNames(cases: ConformanceCase[]): ConformanceCase[] {
  const seen = new Set<string>();
  for (const c of cases) {
    if (seen.has(c.name)) throw new Error(`duplicate conformance case name: ${c.name}`);
    seen.add(c.name);
  }
  return cases;
}
