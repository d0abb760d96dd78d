import type { ReplicationCore, ReplicationEvent, ReplicationEventType } from '../events.ts';

/** A `ReplicationCore` that records every event. */
export class RecordingCore implements ReplicationCore {
  /** Every event received, in order. */
  readonly events: ReplicationEvent[] = [];
  /** Called after recording each event. */
  onEvent: ((e: ReplicationEvent) => void) | null = null;

  /** Records `event`, then calls `onEvent`. */
  notify(event: ReplicationEvent): void {
    this.events.push(event);
    this.onEvent?.(event);
  }

  /** The events of one type. */
  ofType<T extends ReplicationEventType>(type: T): Extract<ReplicationEvent, { type: T }>[] {
    return this.events.filter((e): e is Extract<ReplicationEvent, { type: T }> => e.type === type);
  }
}
