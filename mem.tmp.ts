import { runSeed } from './src/sim/runner';
const compaction = process.argv[2] !== 'off';
for (let seed = 1; seed <= 300; seed++) {
  runSeed({ seed, nodes: 3, steps: 2000, compaction });
  if (seed % 100 === 0) { (global as any).gc?.(); console.log(seed, (process.memoryUsage().heapUsed / 1e6).toFixed(0), 'MB heap', (process.memoryUsage().rss / 1e6).toFixed(0), 'MB rss'); }
}
