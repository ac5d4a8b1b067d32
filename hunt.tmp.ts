import { FaultyFileProvider } from './test/sim/faulty-file-provider';
import { runSeed } from './src/sim/runner';
import { SeededRng } from './src/time/rng';
import * as fs from 'fs'; import * as os from 'os'; import * as path from 'path';
const [from, to, steps, lies] = process.argv.slice(2).map(Number);
let fails = 0; const kinds = new Map<string, number>();
for (let seed = from; seed <= to; seed++) {
  for (const nodes of [3, 5]) {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'hunt-'));
    const provider = new FaultyFileProvider(root, new SeededRng(seed * 7 + nodes), { faultChance: 0.6, fsyncLies: !!lies });
    const r = runSeed({ seed, nodes, steps, storage: provider, snapshotEvery: [3, 10, 40][seed % 3] });
    fs.rmSync(root, { recursive: true });
    if (!r.ok) { fails++; const k = r.failure!.replace(/[0-9]+/g, "N").replace(/\/tmp\S+/g, "").slice(0, 90); kinds.set(k, (kinds.get(k) ?? 0) + 1); if (!lies) console.log(`seed ${seed} nodes ${nodes}: ${r.failure}`); }
  }
}
console.log(`${fails} failed`, [...kinds]);
