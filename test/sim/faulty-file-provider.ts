// A StorageProvider for the simulator: real FileStorage per node in a temp
// directory, behind a FaultyFs that plans a fault somewhere in each
// incarnation's writes (or its recovery), and turns half of all crashes into
// power losses. Used by test/sim/crash.test.ts.

import * as path from 'node:path';
import { FileStorage, StorageFailedError } from '../../src/log/file-storage';
import { Storage } from '../../src/log/storage';
import { NodeId } from '../../src/messages';
import { StorageProvider } from '../../src/sim/cluster';
import { SeededRng } from '../../src/time/rng';
import { FAULT_KINDS, FaultyFs, InjectedIoError, SimulatedCrash } from '../log/faulty-fs';

export class FaultyFileProvider implements StorageProvider {
  private readonly disks = new Map<NodeId, FaultyFs>();
  private healed = false;
  opens = 0;
  tornTails = 0;
  powerLosses = 0;

  constructor(
    private readonly root: string,
    private readonly rng: SeededRng,
    private readonly options: { faultChance: number; fsyncLies?: boolean },
  ) {}

  open(name: NodeId): Storage {
    let ffs = this.disks.get(name);
    if (!ffs) {
      ffs = new FaultyFs(this.rng.fork());
      ffs.fsyncLies = this.options.fsyncLies ?? false;
      this.disks.set(name, ffs);
    }
    ffs.revive();
    // Somewhere in this incarnation's next writes (or in its recovery), a fault.
    if (!this.healed && this.rng.chance(this.options.faultChance)) {
      ffs.planIn(this.rng.int(1, 600), FAULT_KINDS[this.rng.int(0, FAULT_KINDS.length)]);
    }
    this.opens++;
    const s = FileStorage.open({ dir: path.join(this.root, String(name)), clusterId: 'sim', node: name, segmentBytes: 4096, fs: ffs });
    if (s.recovery.tornTail) this.tornTails++;
    return s;
  }

  crash(name: NodeId): void {
    const ffs = this.disks.get(name);
    if (!ffs) return;
    if (this.options.fsyncLies || this.rng.chance(0.5)) {
      ffs.powerLoss();
      this.powerLosses++;
    } else ffs.processCrash();
  }

  isFault(e: unknown): boolean {
    return e instanceof SimulatedCrash || e instanceof InjectedIoError || e instanceof StorageFailedError;
  }

  heal(): void {
    this.healed = true;
    for (const ffs of this.disks.values()) ffs.plan = null;
  }
}
