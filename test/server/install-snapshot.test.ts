// The core's side of log compaction (§7, Figures 12 and 13), one rule at a
// time, on single Servers fed messages by hand: the Raft log after a
// snapshot, the InstallSnapshot receiver's rules 1-8, and the leader that
// sends a snapshot when the entries a follower needs are gone.

import { expect } from 'chai';
import { RaftLog } from '../../src/log/raft-log';
import { MemoryStorage } from '../../src/log/storage';
import { LogEntry } from '../../src/log/types';
import { InstallSnapshotMessage, Message, MessageType, NodeId, ResponseMessage } from '../../src/messages';
import { Ready } from '../../src/server/ready';
import { Server } from '../../src/server/server';
import { SeededRng } from '../../src/time/rng';

function ents(from: number, to: number, term: number): LogEntry[] {
  return Array.from({ length: to - from + 1 }, (_, i) => ({ index: from + i, term, value: `v${from + i}` }));
}

function server(name: NodeId, storage: MemoryStorage, chunk = 4): Server {
  return new Server({
    name,
    peers: ['a', 'b', 'c'].filter((p) => p !== name),
    storage,
    rng: new SeededRng(1),
    electionTicks: 10,
    heartbeatTicks: 3,
    checkQuorum: false,
    maxSnapshotChunkBytes: chunk,
  });
}

/** The driver: persist (snapshot, entries, hard state), then advance. Returns the Readys. */
function drain(s: Server, storage: MemoryStorage): Ready[] {
  const out: Ready[] = [];
  while (s.hasReady()) {
    const rd = s.ready();
    storage.save({ hardState: rd.hardState, entries: rd.entries, snapshot: rd.snapshot });
    s.advance(rd);
    out.push(rd);
  }
  return out;
}

function chunk(term: number, index: number, lastTerm: number, offset: number, data: string, done: boolean): InstallSnapshotMessage {
  return {
    type: MessageType.InstallSnapshot,
    sender: 'a',
    receiver: 'b',
    term,
    timestamp: 0,
    data: { leaderId: 'a', lastIncludedIndex: index, lastIncludedTerm: lastTerm, offset, data: Buffer.from(data).toString('base64'), done },
  };
}

function responses(rds: Ready[]): ResponseMessage['data'][] {
  return rds.flatMap((rd) => rd.messages).filter((m): m is ResponseMessage => m.type === MessageType.Response).map((m) => m.data);
}

/** A follower 'b' in term 2 with entries 1..3 of term 1 (commit 0). */
function follower(): { s: Server; st: MemoryStorage } {
  const st = new MemoryStorage();
  st.save({ hardState: { currentTerm: 2, votedFor: null, commitIndex: 0 }, entries: ents(1, 3, 1), snapshot: null });
  return { s: server('b', st), st };
}

describe('log compaction in the core (§7)', () => {
  describe('the Raft log after a snapshot', () => {
    it('starts after the snapshot: term(lastIncludedIndex) is known, earlier terms are gone', () => {
      const st = new MemoryStorage();
      st.append(ents(1, 10, 2));
      st.createSnapshot(6, Buffer.from('s'));
      const log = new RaftLog(st);
      expect(log.firstIndex()).to.equal(7);
      expect(log.term(6)).to.equal(2);
      expect(log.term(5)).to.equal(undefined);
      expect(log.entry(6)).to.equal(undefined);
      expect(log.slice(7, 9).map((e) => e.index)).to.deep.equal([7, 8]);
      // A restarted node has applied, and so committed, what the snapshot covers.
      expect(log.applied).to.equal(6);
      expect(log.committed).to.equal(6);
    });

    it('with nothing after the snapshot, the last index and term are the snapshot’s (§5.4.1 still works)', () => {
      const st = new MemoryStorage();
      st.applySnapshot({ index: 9, term: 4, data: Buffer.from('s') });
      const log = new RaftLog(st);
      expect([log.lastIndex(), log.lastTerm()]).to.deep.equal([9, 4]);
      expect(log.isUpToDate(9, 4)).to.equal(true);
      expect(log.isUpToDate(20, 3)).to.equal(false);
    });

    it('Server.compact covers only applied entries, and ignores what a snapshot already covers', () => {
      const st = new MemoryStorage();
      st.save({ hardState: { currentTerm: 1, votedFor: null, commitIndex: 4 }, entries: ents(1, 6, 1), snapshot: null });
      const s = server('b', st);
      drain(s, st); // applies 1..4
      expect(() => s.compact(5, Buffer.from('x'))).to.throw(/only 4 applied/);
      expect(s.compact(4, Buffer.from('x'))).to.include({ index: 4, term: 1 });
      expect(s.log.firstIndex()).to.equal(5);
      expect(s.compact(3, Buffer.from('y'))).to.equal(null);
    });
  });

  describe('InstallSnapshot receiver (Figure 13)', () => {
    it('1: a chunk of an older term is refused with our term', () => {
      const { s, st } = follower();
      s.step(chunk(1, 10, 1, 0, 'abcd', true));
      const rds = drain(s, st);
      expect(responses(rds)).to.deep.equal([{ response: false, currentTerm: 2 }]);
      expect(rds.some((rd) => rd.snapshot)).to.equal(false);
    });

    it('2-4: chunks are assembled in order; each is answered with the bytes held so far', () => {
      const { s, st } = follower();
      s.step(chunk(2, 10, 2, 0, 'abcd', false));
      s.step(chunk(2, 10, 2, 4, 'efgh', false));
      const rds = drain(s, st);
      expect(responses(rds).map((d) => d.snapshotOffset)).to.deep.equal([4, 8]);
      // Nothing installed yet: never half.
      expect(rds.some((rd) => rd.snapshot)).to.equal(false);
      expect(s.log.firstIndex()).to.equal(1);
      expect(s.log.lastIndex()).to.equal(3);
    });

    it('a chunk out of order (one was lost) is refused with where we are; a duplicate first chunk does not start over', () => {
      const { s, st } = follower();
      s.step(chunk(2, 10, 2, 0, 'abcd', false));
      s.step(chunk(2, 10, 2, 8, 'ijkl', false)); // offset 4 was lost
      s.step(chunk(2, 10, 2, 0, 'abcd', false)); // a duplicate of the first
      expect(responses(drain(s, st))).to.deep.equal([
        { response: true, currentTerm: 2, snapshotOffset: 4 },
        { response: false, currentTerm: 2, snapshotOffset: 4 },
        { response: false, currentTerm: 2, snapshotOffset: 4 },
      ]);
    });

    it('5, 7, 8: the last chunk installs the snapshot whole: the log is discarded, the driver resets the state machine', () => {
      const { s, st } = follower();
      s.step(chunk(2, 10, 2, 0, 'abcd', false));
      s.step(chunk(2, 10, 2, 4, 'ef', true));
      const rds = drain(s, st);
      const withSnap = rds.find((rd) => rd.snapshot);
      expect(withSnap, 'a Ready carries the snapshot').to.not.equal(undefined);
      expect(withSnap!.snapshot!.index).to.equal(10);
      expect(Buffer.from(withSnap!.snapshot!.data).toString()).to.equal('abcdef');
      expect(withSnap!.committedEntries).to.deep.equal([]);
      // The acknowledgement leaves with (after) the Ready that saves the snapshot.
      expect(responses([withSnap!]).at(-1)).to.deep.equal({ response: true, currentTerm: 2, matchIndex: 10 });
      expect([s.log.firstIndex(), s.log.lastIndex(), s.log.committed, s.log.applied]).to.deep.equal([11, 10, 10, 10]);
      expect(st.snapshot()!.index).to.equal(10);
      expect(st.lastIndex()).to.equal(10);
      // The log continues after it (§7).
      s.step({
        type: MessageType.AppendEntries,
        sender: 'a',
        receiver: 'b',
        term: 2,
        timestamp: 0,
        data: { leaderId: 'a', prevLogIndex: 10, prevLogTerm: 2, entries: [{ term: 2, value: 'x' }], leaderCommit: 11 },
      });
      const after = drain(s, st);
      expect(after.flatMap((rd) => rd.committedEntries).map((e) => e.index)).to.deep.equal([11]);
    });

    it('6: a snapshot whose last entry our log holds keeps the log after it, and nothing is reset', () => {
      const { s, st } = follower();
      s.step(chunk(2, 2, 1, 0, 'ab', true));
      const rds = drain(s, st);
      expect(rds.some((rd) => rd.snapshot)).to.equal(false);
      expect(responses(rds)).to.deep.equal([{ response: true, currentTerm: 2, matchIndex: 2 }]);
      expect([s.log.firstIndex(), s.log.lastIndex(), s.log.committed]).to.deep.equal([1, 3, 2]);
      // Entries 1..2 are applied from our own log instead.
      expect(rds.flatMap((rd) => rd.committedEntries).map((e) => e.index)).to.deep.equal([1, 2]);
    });

    it('a snapshot already covered by our commitIndex needs no transfer: we answer with commitIndex', () => {
      const st = new MemoryStorage();
      st.save({ hardState: { currentTerm: 2, votedFor: null, commitIndex: 3 }, entries: ents(1, 3, 1), snapshot: null });
      const s = server('b', st);
      s.step(chunk(2, 2, 1, 0, 'ab', false));
      expect(responses(drain(s, st))).to.deep.equal([{ response: true, currentTerm: 2, matchIndex: 3 }]);
    });

    it('a candidate hearing a snapshot chunk of its term steps down and follows (§5.2)', () => {
      const { s, st } = follower();
      for (let i = 0; i < 40 && s.state.role !== 'candidate'; i++) s.tick();
      expect(s.state.role).to.equal('candidate');
      s.step(chunk(s.currentTerm, 10, 2, 0, 'ab', false));
      expect(s.state.role).to.equal('follower');
      expect(s.leaderId).to.equal('a');
      expect(responses(drain(s, st)).at(-1)).to.include({ snapshotOffset: 2 });
    });
  });

  describe('the leader sends a snapshot when the entries a follower needs are gone', () => {
    function leader(): { s: Server; st: MemoryStorage; sent: Message[] } {
      const st = new MemoryStorage();
      st.save({ hardState: { currentTerm: 1, votedFor: 'a', commitIndex: 8 }, entries: ents(1, 8, 1), snapshot: null });
      st.createSnapshot(8, Buffer.from('0123456789'));
      const s = server('a', st, 4);
      const sent: Message[] = [];
      for (let i = 0; i < 40 && s.state.role !== 'leader'; i++) {
        s.tick();
        sent.push(...drain(s, st).flatMap((rd) => rd.messages));
        if (s.state.role === 'candidate') {
          s.step({ type: MessageType.RequestVoteResponse, sender: 'b', receiver: 'a', term: s.currentTerm, timestamp: 0, data: { response: true } });
          sent.push(...drain(s, st).flatMap((rd) => rd.messages));
        }
      }
      expect(s.state.role).to.equal('leader');
      return { s, st, sent };
    }

    const reply = (s: Server, data: ResponseMessage['data'], from: NodeId = 'c'): ResponseMessage => ({
      type: MessageType.Response,
      sender: from,
      receiver: 'a',
      term: s.currentTerm,
      timestamp: 0,
      data,
    });

    it('a follower that is behind our firstIndex gets InstallSnapshot in chunks, then entries after it', () => {
      const { s, st } = leader();
      // 'c' rejects the first AppendEntries: its log is empty.
      s.step(reply(s, { response: false, currentTerm: s.currentTerm, conflictIndex: 1 }));
      let out = drain(s, st).flatMap((rd) => rd.messages).filter((m) => m.receiver === 'c');
      const chunks: InstallSnapshotMessage[] = [];
      for (let round = 0; round < 10; round++) {
        const c = out.find((m): m is InstallSnapshotMessage => m.type === MessageType.InstallSnapshot);
        if (!c) break;
        chunks.push(c);
        const got = c.data.offset + Buffer.from(c.data.data, 'base64').length;
        s.step(reply(s, c.data.done ? { response: true, currentTerm: s.currentTerm, matchIndex: 8 } : { response: true, currentTerm: s.currentTerm, snapshotOffset: got }));
        out = drain(s, st).flatMap((rd) => rd.messages).filter((m) => m.receiver === 'c');
      }
      expect(chunks.map((c) => [c.data.offset, Buffer.from(c.data.data, 'base64').toString(), c.data.done])).to.deep.equal([
        [0, '0123', false],
        [4, '4567', false],
        [8, '89', true],
      ]);
      for (const c of chunks) expect(c.data).to.include({ lastIncludedIndex: 8, lastIncludedTerm: 1, leaderId: 'a' });
      // Then AppendEntries from the entry after the snapshot.
      const ae = out.find((m) => m.type === MessageType.AppendEntries);
      expect(ae, 'AppendEntries after the snapshot').to.not.equal(undefined);
      expect(ae!.type === MessageType.AppendEntries && ae!.data.prevLogIndex).to.equal(8);
      expect(s.status().progress!.c.matchIndex).to.equal(8);
    });

    const chunksTo = (msgs: Message[], peer: NodeId) =>
      msgs.filter((m): m is InstallSnapshotMessage => m.type === MessageType.InstallSnapshot && m.receiver === peer);
    const ticks = (s: Server, st: MemoryStorage, n: number) => {
      const out: Message[] = [];
      for (let i = 0; i < n; i++) {
        s.tick();
        out.push(...drain(s, st).flatMap((rd) => rd.messages));
      }
      return out;
    };

    it('a lost chunk goes again when the transfer stalls for a heartbeat interval', () => {
      const { s, st } = leader();
      s.step(reply(s, { response: false, currentTerm: s.currentTerm, conflictIndex: 1 }));
      expect(chunksTo(drain(s, st).flatMap((rd) => rd.messages), 'c').map((m) => m.data.offset)).to.deep.equal([0]);
      const resent = chunksTo(ticks(s, st, 6), 'c');
      expect(resent.length).to.be.at.least(1);
      expect(resent.every((m) => m.data.offset === 0)).to.equal(true);
    });

    it('a refusal saying the follower holds fewer bytes: the stalled transfer resumes from there', () => {
      const { s, st } = leader();
      s.step(reply(s, { response: false, currentTerm: s.currentTerm, conflictIndex: 1 }));
      drain(s, st);
      s.step(reply(s, { response: true, currentTerm: s.currentTerm, snapshotOffset: 4 }));
      expect(chunksTo(drain(s, st).flatMap((rd) => rd.messages), 'c').map((m) => m.data.offset)).to.deep.equal([4]);
      // The chunk at 4 is lost and the follower, restarted, says it holds nothing.
      s.step(reply(s, { response: false, currentTerm: s.currentTerm, snapshotOffset: 0 }));
      expect(chunksTo(drain(s, st).flatMap((rd) => rd.messages), 'c')).to.deep.equal([]);
      const resent = chunksTo(ticks(s, st, 6), 'c');
      expect(resent.map((m) => m.data.offset)[0]).to.equal(0);
    });

    it('duplicated answers do not multiply the chunks in flight (stop-and-wait holds)', () => {
      const { s, st } = leader();
      s.step(reply(s, { response: false, currentTerm: s.currentTerm, conflictIndex: 1 }));
      drain(s, st);
      const ack = reply(s, { response: true, currentTerm: s.currentTerm, snapshotOffset: 4 });
      // The same acknowledgement arrives three times (the network duplicated it).
      s.step(ack);
      s.step(ack);
      s.step(ack);
      expect(chunksTo(drain(s, st).flatMap((rd) => rd.messages), 'c').map((m) => m.data.offset)).to.deep.equal([4]);
    });
  });
});
