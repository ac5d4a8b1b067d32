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
