# Test-side shim, loaded by Python at startup because this directory is on
# PYTHONPATH (test/interop/tooz.test.ts). Debian's tooz 3.1 calls
# etcd3gw.client(..., api_path=...), but Debian's etcd3gw 2.0 only accepts
# api_path on Etcd3Client itself. We wrap the helper so it passes api_path
# through; tooz and etcd3gw themselves are not changed.
import inspect

try:
    import etcd3gw
except ImportError:  # the tests skip themselves when etcd3gw is missing
    etcd3gw = None

if etcd3gw is not None and 'api_path' not in inspect.signature(etcd3gw.client).parameters:
    def _client(host='localhost', port=2379, ca_cert=None, cert_key=None,
                cert_cert=None, timeout=None, protocol='http',
                api_path='/v3alpha/'):
        return etcd3gw.Etcd3Client(host=host, port=port, ca_cert=ca_cert,
                                   cert_key=cert_key, cert_cert=cert_cert,
                                   timeout=timeout, protocol=protocol,
                                   api_path=api_path)

    etcd3gw.client = _client
