// The node's log lines: events at their level, in both formats.

import { expect } from 'chai';
import { createLogger } from '../../src/cli/logger';
import { RaftEvent } from '../../src/server/events';

function lines(format: 'human' | 'json', debug: boolean, events: RaftEvent[]): string[] {
  const out: string[] = [];
  const log = createLogger('n1', format, debug, (l) => out.push(l));
  for (const e of events) log.event(e);
  return out;
}

const jump: RaftEvent = { kind: 'term-jump', term: 1007, from: 'n2', ourTerm: 7, address: '127.0.0.1:5002' };
const exhausted: RaftEvent = { kind: 'term-exhausted', term: 2 ** 53 - 2 ** 20 - 1 };

describe('logger', () => {
  it('a term jump is a warning naming the sender and its address; an exhausted term is an error (issue 18)', () => {
    const [j, x] = lines('json', false, [jump, exhausted]).map((l) => JSON.parse(l));
    expect(j).to.include({ level: 'warn', node: 'n1', event: 'term-jump', from: 'n2', address: '127.0.0.1:5002', term: 1007 });
    expect(x).to.include({ level: 'error', event: 'term-exhausted' });
    const [hj, hx] = lines('human', false, [jump, exhausted]);
    expect(hj).to.match(/ n1 WARN: term jump: n2 \(from 127\.0\.0\.1:5002\) claims term 1007, 1000 ahead of our 7/);
    expect(hx).to.match(/ n1 ERROR: cannot start an election: term 9007199253692415 is the largest/);
  });

  it('ordinary events are info lines without a level word; drops appear only at debug', () => {
    const drop: RaftEvent = { kind: 'drop', reason: 'x' };
    const leader: RaftEvent = { kind: 'leader', term: 3, leader: 'n2' };
    expect(lines('human', false, [drop, leader])).to.have.length(1);
    const [d, l] = lines('human', true, [drop, leader]);
    expect(d).to.match(/ n1 dropped a message: x$/);
    expect(l).to.match(/ n1 leader for term 3 is n2$/);
    expect(JSON.parse(lines('json', true, [drop])[0]).level).to.equal('debug');
  });
});
