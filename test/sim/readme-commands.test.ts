// The README's simulator commands, run as a reader would run them, each
// checked against what its comment claims. A new claim in that block needs a
// check here: an unchecked claim fails the test.

import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

const ROOT = path.join(__dirname, '..', '..');

/** `npm run sim -- ...` lines of the README's simulator section, with their comments. */
function readmeSimCommands(): { args: string[]; claim: string }[] {
  const readme = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8');
  const section = readme.split('\n## The simulator')[1]?.split('\n## ')[0] ?? '';
  const block = /```sh\n([\s\S]*?)```/.exec(section)?.[1] ?? '';
  return block
    .split('\n')
    .filter((line) => line.startsWith('npm run sim -- '))
    .map((line) => {
      const [command, claim = ''] = line.split('#');
      return { args: command.trim().split(/\s+/).slice(4), claim: claim.trim() };
    });
}

/** What each claim means, checked on the command's exit status and output. */
const CHECKS: Record<string, (status: number | null, out: string) => void> = {
  'watch one run, event by event': (status, out) => {
    expect(status, out.slice(-2000)).to.equal(0);
    expect(out).to.match(/became leader in term \d+/);
    // The faults behind the events: messages lost, links cut, nodes crashed and back.
    expect(out).to.match(/network: lost \w+ n\d -> n\d/);
    expect(out).to.match(/network: (partition|cut the link)/);
    expect(out).to.match(/n\d: crashed/);
    expect(out).to.match(/n\d: restarted/);
  },
  'watch a bug get caught': (status, out) => {
    expect(status, out.slice(-2000)).to.equal(1);
    expect(out).to.match(/FAIL seed \d+, \d+ nodes: safety: /);
    expect(out).to.match(/replay: npm run sim -- .*--bug commitPreviousTermByCount/);
    expect(out).to.match(/\d+ passed, [1-9]\d* failed/);
  },
  'write a trace to replay in the page': (status, out) => {
    expect(status, out.slice(-2000)).to.equal(1);
    const written = /trace: \d+ events written to (\S+)/.exec(out);
    expect(written, out.slice(-2000)).to.not.equal(null);
    const trace = JSON.parse(fs.readFileSync(written![1], 'utf8'));
    expect(trace.format).to.equal('simpleraft-trace/1');
    expect(trace.events[trace.failure.index]).to.include({ kind: 'fault', fault: 'safety' });
  },
};

describe("the README's simulator commands do what they claim", function () {
  this.timeout(300_000);
  const commands = readmeSimCommands();

  it('the README has simulator commands, and every claim among them has a check', () => {
    expect(commands.length).to.be.at.least(2);
    for (const c of commands) if (c.claim !== '') expect(CHECKS, `a check for "${c.claim}"`).to.have.property(c.claim);
  });

  for (const c of commands.filter((x) => x.claim !== '')) {
    it(`npm run sim -- ${c.args.join(' ')}   # ${c.claim}`, () => {
      const r = spawnSync(process.execPath, ['-r', 'ts-node/register/transpile-only', 'src/sim/cli.ts', ...c.args], {
        cwd: ROOT,
        encoding: 'utf8',
        timeout: 240_000,
        maxBuffer: 64 * 1024 * 1024,
      });
      if (r.error) throw r.error;
      CHECKS[c.claim]?.(r.status, r.stdout + r.stderr);
    });
  }
});
