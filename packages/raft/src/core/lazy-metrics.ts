/**
 * The node's metrics hub, computed only when someone looks: after a turn it recomputes and publishes
 * at once only while a listener is subscribed; otherwise it marks the value stale and the next read
 * of `current` (or the next subscription) recomputes it.
 *
 * Owns: when the metrics are computed. Must never: hand out a value older than the last turn (a read
 * after a turn always sees that turn's state), or recompute once the hub is closed (the stop's
 * `Shutdown` value is the last).
 */
import type { RaftMetrics } from '@flotilla/types';
import { MetricsHub, type MetricsListener } from '../metrics.ts';

/** A {@link MetricsHub} that computes the metrics lazily (see the file comment). */
export class LazyMetricsHub extends MetricsHub {
  readonly #compute: () => RaftMetrics;
  #stale = false;
  #subscribed = 0;

  constructor(compute: () => RaftMetrics, onListenerError: (err: unknown) => void) {
    super(compute(), onListenerError);
    this.#compute = compute;
  }

  /** The node's state may have changed (a turn ended): publish now if anyone listens, else later. */
  changed(): void {
    if (this.closedWith !== null) return;
    if (this.#subscribed > 0) {
      this.#stale = false;
      super.publish(this.#compute());
    } else {
      this.#stale = true;
    }
  }

  override get current(): RaftMetrics {
    if (this.#stale) {
      this.#stale = false;
      if (this.closedWith === null) super.publish(this.#compute());
    }
    return super.current;
  }

  override publish(next: RaftMetrics): void {
    this.#stale = false;
    super.publish(next);
  }

  override subscribe(listener: MetricsListener): () => void {
    void this.current; // a subscriber's "from now on" starts at the node's present state
    this.#subscribed += 1;
    const off = super.subscribe(listener);
    let subscribed = true;
    return () => {
      if (subscribed) {
        subscribed = false;
        this.#subscribed -= 1;
      }
      off();
    };
  }
}
