"""The Python probe: a stand-in node in a live cluster, driven line by line from its stdin.

    python3 -m simpleraft_bridge.probe --name p1 --port 5004 --peers n1=127.0.0.1:5001,... [--transport udp]

It is the runner's Host (runner.py) with the stand-in classes
(stand_in_states.py) and no election timer of its own, plus a command channel
for a test: one JSON object per line on stdin, one JSON answer per line on
stdout (the event log goes to stderr as JSON lines). Each command may carry an
``id``, echoed in its answer.

``{"cmd": "status"}``
    term, role, votedFor, leader, log (the entries), commit, ready (peers
    reachable), stats (the Host's counters: heartbeats-received,
    responses-true, ...), and ``firstAppend``: the first AppendEntries that
    put entries into the empty log (its sender, term, prevLogIndex, entries).
``{"cmd": "config", "dispatch": bool, "matchIndex": bool, "duplicate": bool}``
    dispatch: hand incoming messages to the stand-in node (default true; when
    false the probe only records them and answers nothing by itself);
    matchIndex: put ``matchIndex`` in successful Responses (default true; false
    answers as simpleRaft does); duplicate: send every answer twice.
``{"cmd": "send", "msg": {type, receiver, term, data[, sender]}}``
    send one message as it is (the sender defaults to the probe; the
    timestamp is stamped).
``{"cmd": "request", "msg": {...}, "expect": {"type": T, "sender": S[, "minTerm": N]},
   "timeoutMs": 5000, "retryMs": 500}``
    send, and answer with the first message of type T from S with a term of
    at least minTerm (default: the request's term) that arrives after it;
    resend every retryMs until then (Raft messages may be lost, and repeating
    a request is harmless). ``{"ok": false, "error": "timeout"}`` otherwise.
``{"cmd": "quit"}``
    stop. The probe also stops when its stdin closes (the test is gone).
"""

import json
import queue
import random
import sys
import threading
import time

from . import codec
from .boards import name_text
from .runner import Host, Logger, build_board, parse_args, stand_in_classes

__all__ = ["Probe", "main"]


class Probe(object):
    def __init__(self, host, out=None):
        self.host = host
        self.out = out or sys.stdout
        self.received = []  # (arrival number, message dict)
        self.arrivals = 0
        self.pending = []
        self.first_append = None
        self._last_inbound = None
        host.inbound_hooks.append(self._on_inbound)

    def after_step(self):
        """After each Host.run_once (one message at most): did that message fill the empty log?"""
        last, self._last_inbound = self._last_inbound, None
        if self.first_append is None and last is not None:
            d, before = last
            if d["type"] == 0 and before == 0 and self.host.server._log:
                self.first_append = {"sender": d["sender"], "term": d["term"], "prevLogIndex": d["data"]["prevLogIndex"],
                                     "entries": d["data"]["entries"], "logBefore": before,
                                     "logAfter": len(self.host.server._log)}

    def _on_inbound(self, message):
        d = codec.message_to_dict(message)
        self.arrivals += 1
        self._last_inbound = (d, len(self.host.server._log))
        for req in list(self.pending):
            e = req["expect"]
            if d["type"] == e["type"] and name_text(d["sender"]) == name_text(e["sender"]) and d["term"] >= e["minTerm"]:
                self.pending.remove(req)
                self.answer(req["id"], ok=True, reply=d, sends=req["sends"])

    def answer(self, cid, **fields):
        if cid is not None:
            fields["id"] = cid
        self.out.write(json.dumps(fields) + "\n")
        self.out.flush()

    def status(self):
        s = self.host.server
        return {
            "name": s._name,
            "term": s._currentTerm,
            "role": type(s._state).__name__.lower(),
            "votedFor": getattr(s, "_votedFor", None),
            "leader": getattr(s, "_leaderId", None),
            "log": [{"term": e["term"], "value": e["value"]} for e in s._log],
            "commit": s._commitIndex,
            "ready": sorted(name_text(p) for p in self.host.board.ready_peers()),
            "stats": dict(self.host.stats),
            "firstAppend": self.first_append,
            "dispatch": self.host.dispatch,
            "matchIndex": s._send_match_index,
            "duplicate": s._duplicate_responses,
        }

    def command(self, line):
        try:
            c = json.loads(line)
            cid = c.get("id")
        except ValueError as e:
            self.answer(None, ok=False, error="bad command: %s" % e)
            return True
        try:
            cmd = c.get("cmd")
            if cmd == "status":
                self.answer(cid, ok=True, **self.status())
            elif cmd == "config":
                s = self.host.server
                if "dispatch" in c:
                    self.host.dispatch = bool(c["dispatch"])
                if "matchIndex" in c:
                    s._send_match_index = bool(c["matchIndex"])
                if "duplicate" in c:
                    s._duplicate_responses = bool(c["duplicate"])
                self.answer(cid, ok=True)
            elif cmd == "send":
                self.answer(cid, ok=self.host.board.send_dict(c["msg"]))
            elif cmd == "request":
                msg = c["msg"]
                e = dict(c["expect"])
                e.setdefault("minTerm", msg["term"])
                now = time.monotonic()
                req = {"id": cid, "msg": msg, "expect": e, "sends": 0,
                       "deadline": now + c.get("timeoutMs", 5000) / 1000.0,
                       "retry": c.get("retryMs", 500) / 1000.0, "next": now}
                self.pending.append(req)
                self.pump()
            elif cmd == "quit":
                self.answer(cid, ok=True)
                return False
            else:
                self.answer(cid, ok=False, error="unknown command %r" % (cmd,))
        except Exception as ex:  # a bad command must not kill the probe
            self.answer(cid, ok=False, error="%s: %s" % (type(ex).__name__, ex))
        return True

    def pump(self):
        """Send what is due, time out what is late."""
        now = time.monotonic()
        for req in list(self.pending):
            if now >= req["deadline"]:
                self.pending.remove(req)
                self.answer(req["id"], ok=False, error="timeout", sends=req["sends"])
            elif now >= req["next"]:
                self.host.board.send_dict(req["msg"])
                req["sends"] += 1
                req["next"] = now + req["retry"]


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv, prog="python3 -m simpleraft_bridge.probe")
    classes = stand_in_classes()
    board = build_board(args, classes, args.peer_list)
    host = Host(args.name, board, classes, election_timeout_ms=0, heartbeat_ms=args.heartbeat_interval,
                log=Logger(args.name, "json", sys.stderr), rng=random.Random(args.seed),
                wait_for_peers_ms=args.wait_for_peers, stats_every_ms=args.stats_every or 1000)
    probe = Probe(host)
    lines = queue.Queue()

    def read_stdin():
        for line in sys.stdin:
            lines.put(line)
        lines.put(None)

    threading.Thread(target=read_stdin, daemon=True).start()
    probe.answer(None, ok=True, event="started", name=args.name)
    try:
        running = True
        while running:
            host.run_once(0.005)
            probe.after_step()
            probe.pump()
            while running:
                try:
                    line = lines.get_nowait()
                except queue.Empty:
                    break
                running = line is not None and probe.command(line)
    except KeyboardInterrupt:
        pass
    finally:
        board.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
