// etcdctl's txn syntax, for `raftctl txn`: three blocks of lines, each ended
// by an empty line (or the end of input):
//
//   mod("key1") > "0"            compares: TARGET("key") OP "operand"
//   value("key2") = "v"            TARGET: value|val, version|ver, create|c, mod|m, lease
//                                  OP: = != < >   (lease operands in hex, as etcdctl)
//   put key1 "new value"         success requests: put, get, del with their flags
//   get key2 --prefix
//
//   put key1 "created"           failure requests
//
// Strings are double-quoted with backslash escapes (etcdctl reads them with
// Go's %q); a bare word needs no quotes. Each line becomes part of an etcd
// TxnRequest in its JSON form.

type Json = Record<string, unknown>;

export class TxnSyntaxError extends Error {}

const TARGETS: Record<string, string> = {
  value: 'VALUE', val: 'VALUE', version: 'VERSION', ver: 'VERSION', create: 'CREATE', c: 'CREATE', mod: 'MOD', m: 'MOD', lease: 'LEASE',
};
const OPS: Record<string, string> = { '=': 'EQUAL', '!=': 'NOT_EQUAL', '<': 'LESS', '>': 'GREATER' };
const TARGET_FIELD: Record<string, string> = {
  VALUE: 'value', VERSION: 'version', CREATE: 'create_revision', MOD: 'mod_revision', LEASE: 'lease',
};

const b64 = (s: string) => Buffer.from(s, 'utf8').toString('base64');

/** Split a line into words; "..." is one word, with JSON's escapes. */
export function words(line: string): string[] {
  const out: string[] = [];
  const re = /\s*("(?:[^"\\]|\\.)*"|[^\s"]+)/gy;
  let m: RegExpExecArray | null;
  let at = 0;
  while ((m = re.exec(line)) !== null) {
    const w = m[1];
    out.push(w.startsWith('"') ? unquote(w) : w);
    at = re.lastIndex;
  }
  if (line.slice(at).trim().length > 0) throw new TxnSyntaxError(`cannot read ${JSON.stringify(line.slice(at).trim())}`);
  return out;
}

function unquote(w: string): string {
  try {
    return JSON.parse(w) as string;
  } catch {
    throw new TxnSyntaxError(`bad quoted string ${w}`);
  }
}

/** One compare line as etcd's Compare JSON. */
export function parseCompare(line: string): Json {
  const m = /^\s*(\w+)\(("(?:[^"\\]|\\.)*")\)\s+(\S+)\s+(.*?)\s*$/.exec(line);
  if (!m) throw new TxnSyntaxError(`malformed comparison: ${line} (expected e.g. mod("key") > "0")`);
  const target = TARGETS[m[1]];
  if (!target) throw new TxnSyntaxError(`unknown compare target ${m[1]} (value, version, create, mod, lease)`);
  const op = OPS[m[3]];
  if (!op) throw new TxnSyntaxError(`unknown operator ${m[3]} (=, !=, <, >)`);
  const [operand, ...rest] = words(m[4]);
  if (operand === undefined || rest.length > 0) throw new TxnSyntaxError(`malformed comparison: ${line}`);
  const cmp: Json = { key: b64(unquote(m[2])), target, result: op };
  if (target === 'VALUE') cmp.value = b64(operand);
  else if (target === 'LEASE') {
    if (!/^[0-9a-f]{1,16}$/i.test(operand)) throw new TxnSyntaxError(`lease ${operand}: not a hexadecimal lease ID`);
    cmp.lease = BigInt(`0x${operand}`).toString();
  } else {
    if (!/^-?[0-9]+$/.test(operand)) throw new TxnSyntaxError(`${m[1]}: ${operand} is not an integer`);
    cmp[TARGET_FIELD[target]] = operand;
  }
  return cmp;
}

/** Flags of a request line: --name or --name=value. */
function flagsOf(args: string[], allowed: string[]): { positional: string[]; flags: Map<string, string> } {
  const positional: string[] = [];
  const flags = new Map<string, string>();
  for (const a of args) {
    if (!a.startsWith('--')) {
      positional.push(a);
      continue;
    }
    const [name, value] = a.slice(2).split(/=(.*)/s, 2);
    if (!allowed.includes(name)) throw new TxnSyntaxError(`unknown flag --${name} (allowed: ${allowed.map((f) => `--${f}`).join(' ')})`);
    flags.set(name, value ?? 'true');
  }
  return { positional, flags };
}

function rangeEndOf(key: string, given: string | undefined, flags: Map<string, string>): string | undefined {
  if (flags.has('prefix')) {
    if (key.length === 0) return b64('\0');
    const k = Buffer.from(key, 'utf8');
    for (let i = k.length - 1; i >= 0; i--) {
      if (k[i] < 0xff) return Buffer.concat([k.subarray(0, i), Buffer.from([k[i] + 1])]).toString('base64');
    }
    return b64('\0');
  }
  if (flags.has('from-key')) return b64('\0');
  return given === undefined ? undefined : b64(given);
}

function count(flags: Map<string, string>, name: string): string | undefined {
  const v = flags.get(name);
  if (v === undefined) return undefined;
  if (!/^[0-9]+$/.test(v)) throw new TxnSyntaxError(`--${name}: not a number: ${v}`);
  return v;
}

/** One request line (put, get or del) as etcd's RequestOp JSON. */
export function parseRequest(line: string): Json {
  const [cmd, ...args] = words(line);
  switch (cmd) {
    case 'put': {
      const { positional, flags } = flagsOf(args, ['lease', 'prev-kv']);
      if (positional.length !== 2) throw new TxnSyntaxError(`put needs a key and a value: ${line}`);
      const put: Json = { key: b64(positional[0]), value: b64(positional[1]) };
      const lease = flags.get('lease');
      if (lease !== undefined) {
        if (!/^[0-9a-f]{1,16}$/i.test(lease)) throw new TxnSyntaxError(`--lease ${lease}: not a hexadecimal lease ID`);
        put.lease = BigInt(`0x${lease}`).toString();
      }
      if (flags.has('prev-kv')) put.prev_kv = true;
      return { request_put: put };
    }
    case 'get': {
      const { positional, flags } = flagsOf(args, ['prefix', 'from-key', 'limit', 'rev', 'keys-only', 'count-only']);
      if (positional.length < 1 || positional.length > 2) throw new TxnSyntaxError(`get needs a key and at most a range end: ${line}`);
      const range: Json = { key: b64(positional[0]) };
      const end = rangeEndOf(positional[0], positional[1], flags);
      if (end) range.range_end = end;
      const limit = count(flags, 'limit');
      if (limit) range.limit = limit;
      const rev = count(flags, 'rev');
      if (rev) range.revision = rev;
      if (flags.has('keys-only')) range.keys_only = true;
      if (flags.has('count-only')) range.count_only = true;
      return { request_range: range };
    }
    case 'del': {
      const { positional, flags } = flagsOf(args, ['prefix', 'from-key', 'prev-kv']);
      if (positional.length < 1 || positional.length > 2) throw new TxnSyntaxError(`del needs a key and at most a range end: ${line}`);
      const del: Json = { key: b64(positional[0]) };
      const end = rangeEndOf(positional[0], positional[1], flags);
      if (end) del.range_end = end;
      if (flags.has('prev-kv')) del.prev_kv = true;
      return { request_delete_range: del };
    }
    default:
      throw new TxnSyntaxError(`unknown request ${JSON.stringify(cmd ?? '')} (get, put, del)`);
  }
}

/**
 * Builds a TxnRequest from lines as they come: compares, an empty line,
 * success requests, an empty line, failure requests, an empty line (or the end).
 */
export class TxnReader {
  private section = 0;
  readonly request: { compare: Json[]; success: Json[]; failure: Json[] } = { compare: [], success: [], failure: [] };

  /** The prompt etcdctl -i prints before each section. */
  static readonly PROMPTS = ['compares:', 'success requests (get, put, del):', 'failure requests (get, put, del):'];

  /** Feed one line; returns true once the txn is complete. */
  line(text: string): boolean {
    if (this.section > 2) return true;
    if (text.trim().length === 0) {
      this.section += 1;
      return this.section > 2;
    }
    if (this.section === 0) this.request.compare.push(parseCompare(text));
    else (this.section === 1 ? this.request.success : this.request.failure).push(parseRequest(text));
    return false;
  }

  get sectionIndex(): number {
    return this.section;
  }
}
