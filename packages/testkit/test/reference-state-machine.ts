import {
  type AppliedState,
  type ApplyEntry,
  collectSnapshotData,
  emptyStoredMembership,
  type RaftStateMachine,
  type SnapshotMeta,
  snapshotDataOf,
} from '@flotilla/types';

/** A list state machine keeping its state as JSON. */
export class ListMachine implements RaftStateMachine<string, string> {
  items: string[] = [];
  applied: AppliedState = { lastApplied: null, lastMembership: emptyStoredMembership() };
  current: { meta: SnapshotMeta; bytes: Uint8Array } | null = null;
  n = 0;

  async appliedState(): Promise<AppliedState> {
    return this.applied;
  }

  async apply(entries: readonly ApplyEntry<string>[]): Promise<(string | undefined)[]> {
    return entries.map((e) => {
      this.applied = { ...this.applied, lastApplied: e.logId };
      if (e.payload.type === 'membership')
        this.applied.lastMembership = { logId: e.logId, membership: e.payload.membership };
      if (e.payload.type !== 'normal') return undefined;
      this.items = [...this.items, e.payload.data];
      return `${this.items.length}:${e.payload.data}`;
    });
  }

  snapshotBuilder() {
    const items = this.items;
    const applied = this.applied;
    return {
      buildSnapshot: async () => {
        const bytes = new TextEncoder().encode(JSON.stringify(items));
        const meta = {
          lastLogId: applied.lastApplied,
          lastMembership: applied.lastMembership,
          snapshotId: `s${++this.n}`,
        };
        this.current = { meta, bytes };
        return { meta, data: snapshotDataOf(bytes) };
      },
    };
  }

  async installSnapshot(meta: SnapshotMeta, data: AsyncIterable<Uint8Array>): Promise<void> {
    const bytes = await collectSnapshotData(data);
    this.items = JSON.parse(new TextDecoder().decode(bytes)) as string[];
    this.applied = { lastApplied: meta.lastLogId, lastMembership: meta.lastMembership };
    this.current = { meta, bytes };
  }

  async getCurrentSnapshot() {
    const c = this.current;
    return c === null ? null : { meta: c.meta, data: snapshotDataOf(c.bytes) };
  }
}
