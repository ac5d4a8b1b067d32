"""python3 -m simpleraft_bridge: run one Python Raft node (see runner.py)."""

import sys

from .runner import main

sys.exit(main())
