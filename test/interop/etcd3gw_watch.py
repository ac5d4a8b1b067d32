"""etcd3gw (Debian python3-etcd3gw 2.0), unchanged, watching our cluster.

Usage: python3 etcd3gw_watch.py HOST PORT
Watches a key and a prefix while another client writes, reads the events
etcd3gw hands out, and checks them; also a watch from a past start_revision
with prev_kv. Prints one line per check and exits 0 when all hold (the same
script passes against etcd 3.4.23).
"""

import sys
import threading

import etcd3gw

host, port = sys.argv[1], int(sys.argv[2])
client = etcd3gw.client(host=host, port=port, timeout=10)
client.api_path = '/v3/'  # etcd3gw 2.0 defaults to /v3alpha/, which etcd 3.4 does not serve either


def take(events, n):
    """The first n events of an etcd3gw iterator, within 10 s."""
    out = []
    done = threading.Event()

    def run():
        for ev in events:
            out.append(ev)
            if len(out) == n:
                break
        done.set()

    threading.Thread(target=run, daemon=True).start()
    if not done.wait(10):
        raise AssertionError('got %d of %d events in 10 s: %r' % (len(out), n, out))
    return out


def check(what, cond):
    if not cond:
        raise AssertionError(what)
    print('ok', what)


# A key: a put and a delete, in order.
events, cancel = client.watch('gw/key')
client.put('gw/key', 'one')
client.put('gw/other', 'not watched')
client.delete('gw/key')
got = take(events, 2)
cancel()
check('key watch: PUT then DELETE', [e.get('type', 'PUT') for e in got] == ['PUT', 'DELETE'])
check('key watch: the key and value', got[0]['kv']['key'] == b'gw/key' and got[0]['kv']['value'] == b'one')

# A prefix: three keys in write order.
events, cancel = client.watch_prefix('gw/p/')
for k in ('a', 'b', 'c'):
    client.put('gw/p/' + k, k.upper())
got = take(events, 3)
cancel()
check('prefix watch: keys in write order', [e['kv']['key'] for e in got] == [b'gw/p/a', b'gw/p/b', b'gw/p/c'])
check('prefix watch: values', [e['kv']['value'] for e in got] == [b'A', b'B', b'C'])

# History: from the revision of the first prefix put, with prev_kv.
first = int(got[0]['kv']['mod_revision'])
client.put('gw/p/a', 'A2')
events, cancel = client.watch_prefix('gw/p/', start_revision=first, prev_kv=True)
got = take(events, 4)
cancel()
check('replay from start_revision', [int(e['kv']['mod_revision']) for e in got] == [first, first + 1, first + 2, first + 3])
check('prev_kv on the overwrite', got[3]['prev_kv']['value'] == 'QQ==')  # etcd3gw decodes only kv
print('all etcd3gw watch checks passed')
