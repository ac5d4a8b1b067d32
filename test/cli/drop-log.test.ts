// Drop lines at --log-level debug (src/cli/drop-log.ts): every drop is told,
// a flood in a few lines per window.

import { expect } from 'chai';
import { DropLog } from '../../src/cli/drop-log';

describe('drop log', () => {
  function setup() {
    const lines: string[] = [];
    const pending: (() => void)[] = [];
    const d = new DropLog({
      log: (l) => lines.push(l),
      windowMs: 1000,
      perWindow: 3,
      schedule: (fn) => {
        pending.push(fn);
        return { cancel: () => pending.splice(pending.indexOf(fn), 1) };
      },
    });
    const endWindow = () => pending.shift()!();
    return { d, lines, pending, endWindow };
  }

  it('logs the first drops of a window one by one with their detail, then one total per reason', () => {
    const { d, lines, endWindow } = setup();
    for (let i = 0; i < 416; i++) d.onDrop('malformed', `frame ${i}`);
    d.onDrop('duplicate', 'id 7');
    expect(lines).to.deep.equal(['malformed (frame 0)', 'malformed (frame 1)', 'malformed (frame 2)']);
    endWindow();
    expect(lines.slice(3)).to.deep.equal([
      'malformed: 413 more within 1000 ms, not logged one by one',
      'duplicate: 1 more within 1000 ms, not logged one by one',
    ]);
  });

  it('opens a fresh window after one closes, and a quiet window adds no line', () => {
    const { d, lines, pending, endWindow } = setup();
    d.onDrop('malformed', 'a');
    endWindow();
    expect(pending).to.have.length(0);
    d.onDrop('queue-full', 'to n2');
    expect(lines).to.deep.equal(['malformed (a)', 'queue-full (to n2)']);
  });

  it('close() reports what was still being counted and cancels the window', () => {
    const { d, lines, pending } = setup();
    for (let i = 0; i < 5; i++) d.onDrop('closed', 'send while stopped');
    d.close();
    expect(pending).to.have.length(0);
    expect(lines.at(-1)).to.equal('closed: 2 more within 1000 ms, not logged one by one');
  });
});
