import type { LogId } from '@flotilla/types';
import type { LogIdView } from '../src/log-id-view.ts';

/**
 * A test log: `terms[i]` is the term of the entry at index `i`; entries up to `purgedIndex`
 * (inclusive, -1 for none) are purged. Not exported from the package.
 */
export class TestLog implements LogIdView {
  terms: number[];
  purgedIndex: number;

  constructor(terms: number[], purgedIndex = -1) {
    this.terms = terms;
    this.purgedIndex = purgedIndex;
  }

  /** A log of `n` entries, all of term `term`. */
  static uniform(n: number, term = 1, purgedIndex = -1): TestLog {
    return new TestLog(
      Array.from({ length: n }, () => term),
      purgedIndex,
    );
  }

  purged(): LogId | null {
    return this.purgedIndex < 0 ? null : this.#id(this.purgedIndex);
  }

  last(): LogId | null {
    return this.terms.length === 0 ? null : this.#id(this.terms.length - 1);
  }

  logIdAt(index: number): LogId | null {
    if (index < Math.max(0, this.purgedIndex) || index >= this.terms.length) return null;
    return this.#id(index);
  }

  /** The log id at `index` regardless of purging (for assertions). */
  at(index: number): LogId {
    return this.#id(index);
  }

  #id(index: number): LogId {
    const term = this.terms[index];
    if (term === undefined) throw new RangeError(`no entry at ${index}`);
    return { term, index };
  }
}
