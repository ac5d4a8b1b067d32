// The Python bridge (interop/python/simpleraft_bridge), counted by the suite:
// its own unittest run (golden vectors both ways, strict refusals, message
// objects), and a differential run in which the TypeScript and the Python
// decoders meet the same seeded fuzz inputs and must give the same answer:
// the same canonical bytes, or the same CodecError code and field.

import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { decodeMessage, encodeMessage, CodecError } from '../../src/messages/codec';
import { MessageType } from '../../src/messages';
import { SeededRng } from '../../src/time/rng';
import { fuzzInput } from '../messages/fuzz-inputs';
import { INVALID_VECTORS, VALID_VECTORS } from '../messages/vector-cases';
import { pythonWithZmq } from './harness';

const ROOT = path.join(__dirname, '..', '..');
// A python3 that can import zmq (the board tests need it; /usr/bin/python3 first), else any python3.
const PYTHON = pythonWithZmq() ?? process.env.PYTHON ?? 'python3';
const ENV = { ...process.env, PYTHONDONTWRITEBYTECODE: '1' };

function python(args: string[], input?: string, timeout = 120_000) {
  const r = spawnSync(PYTHON, args, { cwd: ROOT, input, env: ENV, encoding: 'utf8', timeout, maxBuffer: 256 * 1024 * 1024 });
  if (r.error) throw new Error(`could not run ${PYTHON} ${args.join(' ')}: ${r.error.message}`);
  return r;
}

describe('interop: Python bridge', function () {
  this.timeout(180_000);

  it('python3 -m unittest discover -s interop/python/tests passes (codec, vectors, boards, runner)', () => {
    const r = python(['-m', 'unittest', 'discover', '-s', 'interop/python/tests']);
    expect(r.status, r.stderr).to.equal(0);
    const ran = /Ran (\d+) tests?/.exec(r.stderr);
    expect(ran, r.stderr).to.not.equal(null);
    expect(Number(ran![1]), 'too few Python tests ran').to.be.greaterThan(20);
    expect(r.stderr).to.match(/\nOK( \(skipped=\d+\))?\n?$/);
  });

  it('the Python and TypeScript decoders agree on every fuzz input, byte for byte', () => {
    const SEED = 7_051_966;
    const N = 6000;
    const rng = new SeededRng(SEED);
    const cases: { bytes: Buffer; maxBytes?: number; how: string }[] = [];
    for (let i = 0; i < N; i++) {
      const f = fuzzInput(rng);
      cases.push({ bytes: Buffer.from(f.input as Uint8Array | string), maxBytes: f.maxBytes, how: f.how });
    }
    // Numbers of every size and shape: random bit patterns read as doubles.
    const words = new Uint32Array(2);
    const double = new Float64Array(words.buffer);
    for (let i = 0; i < 300; i++) {
      const values: number[] = [];
      while (values.length < 20) {
        words[0] = rng.int(0, 2 ** 32);
        words[1] = rng.int(0, 2 ** 32);
        if (Number.isFinite(double[0])) values.push(double[0]);
      }
      const m = { type: MessageType.ClientCommand, sender: 'a', receiver: 'b', term: 1, timestamp: rng.next() * 1e9, data: { value: values } } as const;
      cases.push({ bytes: Buffer.from(encodeMessage(m)), how: 'doubles' });
    }
    for (const v of VALID_VECTORS) cases.push({ bytes: Buffer.from(encodeMessage(v.message)), how: `vector ${v.name}` });
    for (const v of INVALID_VECTORS) cases.push({ bytes: v.bytes, maxBytes: v.maxBytes, how: `vector ${v.file}` });

    const input = cases.map((c) => JSON.stringify({ b64: c.bytes.toString('base64'), maxBytes: c.maxBytes })).join('\n') + '\n';
    const r = python(['interop/python/tests/decode_stdin.py'], input);
    expect(r.status, r.stderr).to.equal(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines.length).to.equal(cases.length);

    let accepted = 0;
    for (let i = 0; i < cases.length; i++) {
      const c = cases[i];
      const py = JSON.parse(lines[i]) as { ok?: string; err?: [string, string]; crash?: string };
      const where = `seed ${SEED}, case #${i} (${c.how}): ${c.bytes.toString('hex').slice(0, 400)}`;
      expect(py.crash, `Python raised something other than CodecError; ${where}`).to.equal(undefined);
      let ts: { ok: string } | { err: [string, string] };
      try {
        ts = { ok: Buffer.from(encodeMessage(decodeMessage(c.bytes, c.maxBytes))).toString('base64') };
      } catch (e) {
        if (!(e instanceof CodecError)) throw e;
        ts = { err: [e.code, e.field] };
      }
      if ('ok' in ts) accepted++;
      expect(py, where).to.deep.equal(ts);
    }
    expect(accepted, 'too few inputs were accepted to compare encodings').to.be.greaterThan(1000);
  });
});
