"""Shared paths for the bridge's tests: the package on sys.path, the golden vectors."""

import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
PYTHON_ROOT = os.path.dirname(HERE)  # interop/python
REPO_ROOT = os.path.dirname(os.path.dirname(PYTHON_ROOT))
VECTORS = os.path.join(REPO_ROOT, "interop", "vectors")
INVALID = os.path.join(VECTORS, "invalid")

if PYTHON_ROOT not in sys.path:
    sys.path.insert(0, PYTHON_ROOT)


# Test doubles shared by test_host.py and test_simpleraft_defects.py.

class Recorder(object):
    """A neighbour that keeps the wire form of each message at the moment it is posted."""

    def __init__(self, name, sink):
        self._name = name
        self.sink = sink

    def post_message(self, message):
        from simpleraft_bridge import codec

        self.sink.append(codec.decode_dict(codec.encode_message(message)))


class NullBoard(object):
    """A message board that drops everything (the tests read what neighbours were posted)."""

    def set_owner(self, owner):
        self.owner = owner

    def post_message(self, message):
        pass
