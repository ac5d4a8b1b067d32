# etcd3gw (Debian python3-etcd3gw 2.0) used directly against a member of our
# cluster: leases, a put with a lease, locks. Run by test/interop/etcd-clients.test.ts
# with ETCD3GW_URL=http://127.0.0.1:PORT (a follower, so every lease call is
# also forwarded to the leader). The same file passes against real etcd 3.4.
import os
import unittest
import urllib.parse
import uuid

import etcd3gw


def make_client(api_path='/v3/'):
    url = urllib.parse.urlparse(os.environ['ETCD3GW_URL'])
    return etcd3gw.Etcd3Client(host=url.hostname, port=url.port, api_path=api_path, timeout=10)


class LeaseTest(unittest.TestCase):
    def setUp(self):
        self.client = make_client()
        self.key = 'etcd3gw-test/' + str(uuid.uuid4())

    def test_grant_ttl_refresh_keys_revoke(self):
        lease = self.client.lease(ttl=30)
        # A server-chosen ID is a random 63-bit number: etcd3gw sends it back
        # as a bare JSON number, which must be read exactly.
        self.assertGreater(lease.id, 2 ** 53)
        self.assertIn(lease.ttl(), (29, 30))
        self.assertEqual(lease.refresh(), 30)
        self.assertTrue(self.client.put(self.key, 'up', lease=lease))
        self.assertEqual(lease.keys(), [self.key.encode()])
        value, meta = self.client.get(self.key, metadata=True)[0]
        self.assertEqual(value, b'up')
        self.assertEqual(int(meta['lease']), lease.id)
        self.assertTrue(lease.revoke())
        self.assertEqual(self.client.get(self.key), [])
        self.assertEqual(lease.ttl(), -1)
        self.assertEqual(lease.refresh(), -1)

    def test_revoke_unknown_lease_is_not_found(self):
        lease = self.client.lease(ttl=30)
        lease.revoke()
        with self.assertRaises(etcd3gw.exceptions.Etcd3Exception):
            lease.revoke()

    def test_v3beta_path(self):
        lease = make_client('/v3beta/').lease(ttl=30)
        self.assertEqual(lease.refresh(), 30)
        self.assertTrue(lease.revoke())
        self.assertEqual(lease.ttl(), -1)


class LockTest(unittest.TestCase):
    def setUp(self):
        self.client = make_client()
        self.name = str(uuid.uuid4())

    def test_acquire_release(self):
        lock = self.client.lock(self.name, ttl=30)
        self.assertTrue(lock.acquire())
        self.assertTrue(lock.is_acquired())
        self.assertEqual(lock.refresh(), 30)
        other = self.client.lock(self.name, ttl=30)
        self.assertFalse(other.acquire())
        self.assertFalse(other.is_acquired())
        self.assertTrue(lock.release())
        self.assertFalse(lock.is_acquired())
        self.assertTrue(other.acquire())
        self.assertTrue(other.release())

    def test_release_of_a_lock_not_held_fails(self):
        lock = self.client.lock(self.name, ttl=30)
        self.assertFalse(lock.release())

    def test_context_manager(self):
        with self.client.lock(self.name, ttl=30) as lock:
            self.assertTrue(lock.is_acquired())
        self.assertFalse(lock.is_acquired())
