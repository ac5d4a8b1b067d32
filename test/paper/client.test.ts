// Paper tests for client interaction (§8) and simpleRaft's on_client_command.
// "Clients of Raft send all of their requests to the leader. ... If the
// client's first choice is not the leader, that server will reject the
// client's request and supply information about the most recent leader it
// has heard from." We go one step further, as etcd raft's MsgProp does: a
// follower that knows the leader forwards the command (a ClientCommand
// message, type code 5).

import { expect } from 'chai';
import { MessageType } from '../../src/messages';
import {
  Net,
  appendEntries,
  appendResponse,
  appendsTo,
  appliedOf,
  clientCommand,
  drain,
  electLeader,
  logOf,
  logTerms,
  newServer,
  ofType,
  ticksUntilCandidate,
} from './helpers';

const PEERS3 = ['n2', 'n3'];

describe('paper: client commands (§8)', () => {
  it('§8 a follower forwards a client command to the leader it knows, as a ClientCommand (type 5)', () => {
    const s = newServer('n1', PEERS3);
    s.step(appendEntries('n2', 'n1', 1, { prevLogIndex: 0, prevLogTerm: 0 }));
    drain(s);
    expect(s.propose({ op: 'put', key: 'k' })).to.deep.equal({ kind: 'forwarded', leader: 'n2' });
    const out = drain(s);
    const cmds = ofType(out, MessageType.ClientCommand);
    expect(cmds).to.have.length(1);
    expect(cmds[0].type).to.equal(5);
    expect(cmds[0].receiver).to.equal('n2');
    expect(cmds[0].data).to.deep.equal({ value: { op: 'put', key: 'k' } });
    expect(s.log.lastIndex(), 'a follower never appends a command itself').to.equal(0);
  });

  it('§8 a follower that knows no leader, or a candidate, answers not-leader and sends nothing', () => {
    const follower = newServer('n1', PEERS3);
    expect(follower.propose('x')).to.deep.equal({ kind: 'not-leader', leader: null });
    expect(drain(follower)).to.deep.equal([]);

    const candidate = newServer('n1', PEERS3);
    ticksUntilCandidate(candidate);
    drain(candidate);
    expect(candidate.propose('x')).to.deep.equal({ kind: 'not-leader', leader: null });
    expect(drain(candidate)).to.deep.equal([]);
    expect(candidate.log.lastIndex()).to.equal(0);
  });

  // Figure 2 Leaders: "If command received from client: append entry to
  // local log, respond after entry applied to state machine (§5.3)."
  it('§5.3 the leader appends a client command at its next index, in its term, and replicates it', () => {
    const s = newServer('n1', PEERS3, { term: 4, log: [1, 4] });
    electLeader(s);
    // Both followers hold the no-op: the leader streams to them from index 4.
    for (const peer of PEERS3) s.step(appendResponse(peer, 'n1', 5, true, { matchIndex: 3 }));
    drain(s);
    expect(s.propose('x')).to.deep.equal({ kind: 'appended', index: 4, term: 5 });
    const out = drain(s);
    expect(logTerms(s)).to.deep.equal([1, 4, 5, 5]);
    for (const peer of PEERS3) {
      const [ae] = appendsTo(out, peer);
      expect(ae.data, peer).to.deep.include({ prevLogIndex: 3, prevLogTerm: 5, leaderCommit: 3 });
      expect(ae.data.entries, peer).to.deep.equal([{ term: 5, value: 'x' }]);
    }
  });

  it('§8 a forwarded command reaching the leader is appended; reaching a non-leader it is dropped, and its term is ignored', () => {
    const leader = newServer('n1', PEERS3);
    electLeader(leader);
    leader.step(clientCommand('n3', 'n1', 1, 'y'));
    drain(leader);
    expect(logOf(leader)).to.deep.equal([{ term: 1, value: null }, { term: 1, value: 'y' }]);

    const follower = newServer('n1', PEERS3, { term: 2 });
    follower.step(clientCommand('n3', 'n1', 9, 'y'));
    expect(drain(follower)).to.deep.equal([]);
    expect(follower.log.lastIndex()).to.equal(0);
    expect(follower.currentTerm, 'a ClientCommand is not an RPC: no term rule').to.equal(2);
  });

  it('§8 end to end: a command given to a follower is forwarded, committed and applied everywhere', () => {
    const n1 = newServer('n1', PEERS3);
    const net = new Net([n1, newServer('n2', ['n1', 'n3']), newServer('n3', ['n1', 'n2'])]);
    ticksUntilCandidate(n1);
    net.flush('n1');
    net.run();
    expect(n1.state.role).to.equal('leader');

    const n3 = net.get('n3');
    expect(n3.propose('z')).to.deep.equal({ kind: 'forwarded', leader: 'n1' });
    net.flush('n3');
    net.run();
    for (const name of ['n1', 'n2', 'n3']) {
      expect(appliedOf(net.get(name)).map((e) => e.value), name).to.deep.equal([null, 'z']);
    }
  });
});
