// WatchableStore: etcd's watch over this node's applied state (etcd-io/etcd
// mvcc/watchable_store.go, simplified to an in-memory history).
//
// A watcher asks for the changes to a key or range from a start revision on.
// It is "synced" while it has seen everything up to the store's revision:
// each applied entry then hands it the new changes. A watcher whose sink is
// full (a slow client: its socket buffer is over the limit) becomes
// "unsynced": it is left behind, holding only the next revision it needs,
// and is caught up from the history, in bounded batches, once the sink has
// room again. So a slow client costs a node no memory beyond its sink's
// limit; the history it reads is the store's own, bounded by compaction. A
// watcher whose next revision has been compacted away can never be caught up
// and is canceled with the compacted revision, as etcd does.
//
// Every member serves watches from its own applied state: the events are the
// log's, in log order, whichever member a client watches.

import { keyString } from './bytes';
import { isTombstone } from './history';
import { KvStore } from './kv-store';
import { KeyValue } from './types';

export interface WatchEvent {
  type: 'PUT' | 'DELETE';
  /** For a DELETE, only the key and mod_revision are set (as etcd's). */
  kv: KeyValue;
  /** The key's version before this change, if asked for and still kept. */
  prevKv?: KeyValue;
}

export interface WatchSpec {
  key: Buffer;
  /** As in a range: empty for the one key, "\0" for every key >= key. */
  rangeEnd: Buffer;
  /** First revision to report; 0 means the next one (current + 1). */
  startRevision: number;
  prevKv: boolean;
  /** etcd's filters NOPUT and NODELETE. */
  noPut: boolean;
  noDelete: boolean;
}

/** Where a watcher's events go (the HTTP stream). */
export interface WatchSink {
  /**
   * Deliver events, all of revisions up to the store's. Return false when
   * the sink is now full: the watcher stops receiving until resume().
   */
  events(events: WatchEvent[]): boolean;
  /** The watcher needs a compacted revision; it is canceled. `behind` is true if it was running (too slow). */
  compacted(compactRevision: number, behind: boolean): void;
}

export interface Watcher {
  readonly spec: WatchSpec;
  /** The next revision this watcher has to report. */
  readonly nextRevision: number;
  readonly synced: boolean;
}

/** Events per delivery when catching up (a revision is never split). */
export const DEFAULT_CATCH_UP_BATCH = 1000;

class WatcherImpl implements Watcher {
  synced = true;
  canceled = false;
  private readonly lo: string;
  /** Upper bound (exclusive) of the key range; null: no bound; undefined: the single key lo. */
  private readonly hi: string | null | undefined;

  constructor(
    readonly spec: WatchSpec,
    public nextRevision: number,
    readonly sink: WatchSink,
  ) {
    this.lo = keyString(spec.key);
    const end = spec.rangeEnd;
    this.hi = end.length === 0 ? undefined : end.length === 1 && end[0] === 0 ? null : keyString(end);
  }

  matches(kv: KeyValue): boolean {
    const k = keyString(kv.key);
    if (this.hi === undefined) return k === this.lo;
    return k >= this.lo && (this.hi === null || k < this.hi);
  }

  wants(kv: KeyValue): boolean {
    const deleted = isTombstone(kv);
    if ((deleted && this.spec.noDelete) || (!deleted && this.spec.noPut)) return false;
    return this.matches(kv);
  }
}

export class WatchableStore {
  private readonly watchers = new Set<WatcherImpl>();

  constructor(
    private readonly kv: KvStore,
    private readonly catchUpBatch = DEFAULT_CATCH_UP_BATCH,
  ) {
    kv.onApplied(() => this.notify());
  }

  get size(): number {
    return this.watchers.size;
  }

  /** Watchers left behind (their clients are slow). */
  get unsynced(): number {
    let n = 0;
    for (const w of this.watchers) if (!w.synced) n++;
    return n;
  }

  /**
   * Start a watcher. If its start revision is already compacted, it is
   * canceled at once through sink.compacted() and null is returned; otherwise
   * the history since the start revision is delivered (or, if the sink fills,
   * left for resume()).
   */
  watch(spec: WatchSpec, sink: WatchSink): Watcher | null {
    const start = spec.startRevision > 0 ? spec.startRevision : this.kv.revision + 1;
    const w = new WatcherImpl(spec, start, sink);
    if (start < this.kv.compactRevision) {
      sink.compacted(this.kv.compactRevision, false);
      return null;
    }
    this.watchers.add(w);
    this.catchUp(w);
    return w;
  }

  cancel(w: Watcher): void {
    (w as WatcherImpl).canceled = true;
    this.watchers.delete(w as WatcherImpl);
  }

  /** The sink of an unsynced watcher has room again: catch it up. */
  resume(w: Watcher): void {
    const impl = w as WatcherImpl;
    if (impl.canceled || impl.synced) return;
    impl.synced = true;
    this.catchUp(impl);
  }

  /** After each applied entry (and a restored snapshot): hand synced watchers what is new. */
  private notify(): void {
    for (const w of [...this.watchers]) {
      if (w.synced) this.catchUp(w);
      else if (w.nextRevision < this.kv.compactRevision) this.drop(w, true);
    }
  }

  private drop(w: WatcherImpl, behind: boolean): void {
    this.cancel(w);
    w.sink.compacted(this.kv.compactRevision, behind);
  }

  /** Deliver everything from w.nextRevision on, in batches, until done or the sink is full. */
  private catchUp(w: WatcherImpl): void {
    const history = this.kv.keyHistory;
    while (!w.canceled && w.synced && w.nextRevision <= this.kv.revision) {
      if (w.nextRevision < history.compactRevision) return this.drop(w, true);
      const batch: WatchEvent[] = [];
      let upTo = this.kv.revision;
      for (const kv of history.changesSince(w.nextRevision)) {
        // Never split a revision: stop at the first change of a new one once the batch is full.
        if (batch.length >= this.catchUpBatch && kv.modRevision > batch[batch.length - 1].kv.modRevision) {
          upTo = kv.modRevision - 1;
          break;
        }
        if (!w.wants(kv)) continue;
        const ev: WatchEvent = { type: isTombstone(kv) ? 'DELETE' : 'PUT', kv };
        if (w.spec.prevKv) {
          const prev = history.previous(kv);
          if (prev) ev.prevKv = prev;
        }
        batch.push(ev);
      }
      w.nextRevision = upTo + 1;
      if (batch.length > 0 && !w.sink.events(batch)) w.synced = false;
    }
  }
}
