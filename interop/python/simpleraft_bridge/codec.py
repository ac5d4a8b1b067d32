"""The wire codec of simpleraft-ts, for Python: JSON bytes <-> message objects.

This is the Python side of docs/wire-format.md (version 1) and a line-by-line
counterpart of src/messages/codec.ts: the same limits, the same checks in the
same order, and the same CodecError code and field for every bad input, so a
message one side accepts the other accepts, and what one side writes the
other writes byte for byte (the golden vectors in interop/vectors/ hold both
to that).

Messages are duck-typed. decode_message() builds simpleRaft's own classes
(simpleRaft/messages/*.py: ``Kind(sender, receiver, term, data)``, fields
``_sender``, ``_receiver``, ``_term``, ``_data``, ``_timestamp``, class
attribute ``_type``) when the simpleRaft package can be imported, and the
look-alikes in stand_ins.py otherwise; encode_message() reads either, or any
object with those attributes (or the same names without the underscore).

Indices. The wire carries the Raft paper's 1-based log indices: index i is
the i-th entry, and index 0 means "before the first entry" (prevLogIndex 0,
lastLogIndex 0 on an empty log). simpleRaft keeps the log in a 0-based Python
list, so wire index i is list position i - 1 (wire_index_to_list_position),
and a log of n entries has last wire index n == len(log). The codec does not
shift indices: it carries the numbers as they are, and a bridge between a
simpleRaft node and this project converts with the two helpers below.
simpleRaft itself sets ``_lastLogIndex = len(log) - 1`` after an append but 0
on an empty log, so its own numbers are 0-based positions and cannot tell "one
entry" from "none"; that is one reason replication with it stops after the
first entry (docs/wire-format.md, "Index base").
"""

import base64
import binascii
import math
import re

from . import jsjson
from . import stand_ins

__all__ = [
    "CodecError",
    "MAX_MESSAGE_BYTES",
    "MAX_VALUE_DEPTH",
    "MAX_NODE_NAME_LENGTH",
    "MAX_MESSAGE_ID_LENGTH",
    "SIMPLERAFT_TYPE_CODES",
    "WIRE_FORMAT_VERSION",
    "decode_message",
    "decode_dict",
    "validate",
    "encode_message",
    "encode_dict",
    "message_to_dict",
    "message_to_wire_dict",
    "message_from_dict",
    "message_classes",
    "wire_index_to_list_position",
    "list_position_to_wire_index",
]

WIRE_FORMAT_VERSION = 1

#: Default cap on one encoded message, in bytes (codec.ts MAX_MESSAGE_BYTES).
MAX_MESSAGE_BYTES = 4 * 1024 * 1024
#: Nesting limit for entry and command values (codec.ts MAX_VALUE_DEPTH).
MAX_VALUE_DEPTH = 32
#: Longest node name, in UTF-16 code units as JavaScript counts.
MAX_NODE_NAME_LENGTH = 128
#: Longest message id (and ReadIndex context), in UTF-16 code units.
MAX_MESSAGE_ID_LENGTH = 256
#: Terms and indices are integers in [0, RAFT_NUMBER_LIMIT) (bounds.ts): below
#: 2**53 with 2**20 of headroom, so term + 1 and index + a batch stay exact.
RAFT_NUMBER_LIMIT = 2**53 - 2**20


class CodecError(ValueError):
    """The only error decoding raises; also raised by encoding for unsendable messages.

    ``code`` is one of 'too-large', 'bad-json', 'bad-field', 'out-of-range',
    'missing-field', 'unexpected-key', 'unknown-type'; ``field`` names the offending path
    ('$', '$.term', '$.data.entries[0].value', ...), exactly as the
    TypeScript codec names it.
    """

    CODES = ("too-large", "bad-json", "bad-field", "out-of-range", "missing-field", "unexpected-key", "unknown-type")

    def __init__(self, code, field, detail):
        ValueError.__init__(self, "%s at %s: %s" % (code, field, detail))
        self.code = code
        self.field = field
        self.detail = detail


#: The type codes simpleRaft's State.on_message dispatches. It returns None for
#: any other code, and simpleRaft's Server.on_message then fails to unpack
#: that None (TypeError), so a bridge hands a simpleRaft server only these.
SIMPLERAFT_TYPE_CODES = frozenset([0, 1, 2, 3])

# Keys that must never be accepted from the wire, whatever the object.
FORBIDDEN_KEYS = frozenset(["__proto__", "constructor", "prototype"])

ENVELOPE_REQUIRED = ("type", "sender", "receiver", "term", "timestamp", "data")
ENVELOPE_KEYS = ENVELOPE_REQUIRED + ("id",)

# Field kinds.
NODE, INDEX, INDEX_OR_NULL, BOOL, ENTRIES, VALUE, MESSAGE_ID, BASE64 = (
    "node", "index", "index-or-null", "bool", "entries", "value", "message-id", "base64")

# The data keys of each type code: (required, optional), each a tuple of
# (key, kind) in wire order, which is also the order the fields are checked.
# Keep in step with DATA_KEYS and decodeData in src/messages/codec.ts.
DATA_SPECS = {
    # AppendEntries: simpleRaft's keys are the paper's.
    0: ((("leaderId", NODE), ("prevLogIndex", INDEX), ("prevLogTerm", INDEX), ("entries", ENTRIES),
         ("leaderCommit", INDEX)),
        (("context", INDEX),)),
    # RequestVote: candidateId is the envelope's sender; lastLogTerm is None on simpleRaft's empty log.
    1: ((("lastLogIndex", INDEX), ("lastLogTerm", INDEX_OR_NULL)), ()),
    # RequestVoteResponse: response is the paper's voteGranted.
    2: ((("response", BOOL),), ()),
    # Response (AppendEntries reply): response is success, currentTerm is term.
    3: ((("response", BOOL), ("currentTerm", INDEX)),
        (("matchIndex", INDEX), ("conflictIndex", INDEX), ("conflictTerm", INDEX), ("context", INDEX),
         ("snapshotOffset", INDEX), ("rejectedIndex", INDEX))),
    # Ours: InstallSnapshot (paper §7, Figure 13), one chunk, bytes in base64.
    4: ((("leaderId", NODE), ("lastIncludedIndex", INDEX), ("lastIncludedTerm", INDEX), ("offset", INDEX),
         ("data", BASE64), ("done", BOOL)), ()),
    # Ours: ClientCommand.
    5: ((("value", VALUE),), ()),
    # Ours: ReadIndex and its response (Ongaro's thesis §6.4).
    6: ((("context", MESSAGE_ID),), ()),
    7: ((("context", MESSAGE_ID), ("index", INDEX)), ()),
}

_CONTROL = re.compile("[\x00-\x1f\x7f]")
_BASE64 = re.compile("[A-Za-z0-9+/]*={0,2}")


# --------------------------------------------------------------------------
# Decoding


def decode_message(data, max_bytes=MAX_MESSAGE_BYTES, classes=None):
    """Decode and validate one message (bytes or str) into a message object.

    Raises CodecError, and nothing else, on any malformed, oversized or
    unexpected input. ``classes`` maps type codes to message classes; by
    default simpleRaft's when importable, else the stand-ins.
    """
    return message_from_dict(decode_dict(data, max_bytes), classes)


def decode_dict(data, max_bytes=MAX_MESSAGE_BYTES):
    """Decode and validate one message into its canonical dict form."""
    if isinstance(data, str):
        # As Buffer.byteLength counts it: a lone surrogate takes 3 bytes.
        size = len(data.encode("utf-8", "surrogatepass"))
    elif isinstance(data, (bytes, bytearray, memoryview)):
        size = memoryview(data).nbytes
    else:
        raise TypeError("decode_dict takes bytes or str, not %s" % type(data).__name__)
    if size > max_bytes:
        raise CodecError("too-large", "$", "%d bytes > limit %d" % (size, max_bytes))
    if isinstance(data, str):
        text = data
    else:
        try:
            # Strict UTF-8; a byte order mark stays in the text and fails to parse.
            text = bytes(data).decode("utf-8")
        except UnicodeDecodeError:
            raise CodecError("bad-json", "$", "not valid UTF-8") from None
    try:
        raw = jsjson.parse(text)
    except jsjson.JSONTextError as e:
        raise CodecError("bad-json", "$", str(e)) from None
    try:
        return validate(raw)
    except CodecError:
        raise
    except Exception as e:  # a bug in the validator must still not escape as anything else
        raise CodecError("bad-field", "$", "internal: %r" % (e,)) from None


def validate(raw):
    """Validate a parsed JSON value as a message; return its canonical dict (a fresh copy)."""
    env = _plain_object(raw, "$")
    _check_keys(env, "$", ENVELOPE_REQUIRED, ENVELOPE_KEYS)
    t = env["type"]
    if not _is_number(t) or t not in DATA_SPECS:
        raise CodecError("unknown-type", "$.type", "unknown message type %s" % (_show(t),))
    sender = _node_id(env["sender"], "$.sender")
    receiver = None if env["receiver"] is None else _node_id(env["receiver"], "$.receiver")
    term = _index(env["term"], "$.term")
    timestamp = _non_negative_number(env["timestamp"], "$.timestamp")
    raw_data = _plain_object(env["data"], "$.data")
    required, optional = DATA_SPECS[t]
    _check_keys(raw_data, "$.data", [k for k, _ in required], [k for k, _ in required + optional])
    data = {}
    for key, kind in required:
        data[key] = _field(kind, raw_data[key], "$.data." + key)
    for key, kind in optional:
        if key in raw_data:
            data[key] = _field(kind, raw_data[key], "$.data." + key)
    message = {"type": t, "sender": sender, "receiver": receiver, "term": term, "timestamp": timestamp,
               "data": data}
    if "id" in env:
        message["id"] = _message_id(env["id"], "$.id")
    return message


def _field(kind, v, field):
    if kind == INDEX:
        return _index(v, field)
    if kind == NODE:
        return _node_id(v, field)
    if kind == INDEX_OR_NULL:
        return None if v is None else _index(v, field)
    if kind == BOOL:
        if not isinstance(v, bool):
            raise CodecError("bad-field", field, "expected true or false")
        return v
    if kind == ENTRIES:
        return _entries(v, field)
    if kind == VALUE:
        return _json_value(v, field, 0)
    if kind == MESSAGE_ID:
        return _message_id(v, field)
    if kind == BASE64:
        return _base64(v, field)
    raise AssertionError("unknown field kind %r" % (kind,))


def _is_number(v):
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _finite(v):
    # Python ints are exact (and math.isfinite would overflow on huge ones).
    return isinstance(v, int) or math.isfinite(v)


def _show(v):
    try:
        return jsjson.stringify(v)
    except (TypeError, ValueError):
        return repr(v)


def _plain_object(v, field):
    if not isinstance(v, dict):
        raise CodecError("bad-field", field, "expected an object")
    return v


def _check_keys(obj, field, required, allowed):
    for key in jsjson.js_key_order(obj):
        if key in FORBIDDEN_KEYS or key not in allowed:
            raise CodecError("unexpected-key", "%s.%s" % (field, key), "key not allowed here")
    for key in required:
        if key not in obj:
            raise CodecError("missing-field", "%s.%s" % (field, key), "required")


def _index(v, field):
    """A term or log index: an integer in [0, RAFT_NUMBER_LIMIT) (codec.ts index()).

    A whole number at or above the limit (2**53 - 1, 2**63, 1e300) is
    'out-of-range'; anything else that is not a non-negative integer is
    'bad-field'.
    """
    # jsjson keeps whole numbers within 2**53 - 1 as int, everything else as float.
    if isinstance(v, bool) or not _is_number(v):
        raise CodecError("bad-field", field, "expected a non-negative integer")
    if isinstance(v, float) and not (_finite(v) and v == math.floor(v)):
        raise CodecError("bad-field", field, "expected a non-negative integer")
    if v < 0:
        raise CodecError("bad-field", field, "expected a non-negative integer")
    if v >= RAFT_NUMBER_LIMIT:
        raise CodecError("out-of-range", field, "%s is not below the limit %d" % (jsjson.format_number(v), RAFT_NUMBER_LIMIT))
    return int(v)


def _non_negative_number(v, field):
    if not _is_number(v) or not _finite(v) or v < 0:
        raise CodecError("bad-field", field, "expected a non-negative number")
    return v


def _node_id(v, field):
    """A node name: a non-empty printable string or a non-negative integer."""
    if _is_number(v):
        return _index(v, field)
    if (not isinstance(v, str) or len(v) == 0 or jsjson.utf16_length(v) > MAX_NODE_NAME_LENGTH
            or _CONTROL.search(v)):
        raise CodecError("bad-field", field, "expected a node name (1-%d printable characters or an integer)"
                         % MAX_NODE_NAME_LENGTH)
    return v


def _message_id(v, field):
    if not isinstance(v, str) or len(v) == 0 or jsjson.utf16_length(v) > MAX_MESSAGE_ID_LENGTH:
        raise CodecError("bad-field", field, "expected a string of 1-%d characters" % MAX_MESSAGE_ID_LENGTH)
    return v


def _base64(v, field):
    """Standard base64 with padding, in canonical form (encoding the bytes gives the same text)."""
    if not isinstance(v, str) or len(v) % 4 != 0 or not _BASE64.fullmatch(v):
        raise CodecError("bad-field", field, "expected standard base64 with padding")
    try:
        canonical = base64.b64encode(base64.b64decode(v, validate=True)).decode("ascii")
    except (binascii.Error, ValueError):
        canonical = None
    if canonical != v:
        raise CodecError("bad-field", field, "base64 not in canonical form")
    return v


def _entries(v, field):
    if not isinstance(v, list):
        raise CodecError("bad-field", field, "expected an array")
    out = []
    for i, e in enumerate(v):
        f = "%s[%d]" % (field, i)
        obj = _plain_object(e, f)
        _check_keys(obj, f, ("term", "value"), ("term", "value"))
        out.append({"term": _index(obj["term"], f + ".term"), "value": _json_value(obj["value"], f + ".value", 0)})
    return out


def _json_value(v, field, depth):
    """Any JSON value, copied, with forbidden keys refused and depth bounded."""
    if depth > MAX_VALUE_DEPTH:
        raise CodecError("bad-field", field, "nested deeper than %d" % MAX_VALUE_DEPTH)
    if v is None or isinstance(v, (str, bool)):
        return v
    if isinstance(v, (int, float)):
        if not _finite(v):
            raise CodecError("bad-field", field, "non-finite number")
        return v
    if isinstance(v, list):
        return [_json_value(x, "%s[%d]" % (field, i), depth + 1) for i, x in enumerate(v)]
    if isinstance(v, dict):
        out = {}
        for k in jsjson.js_key_order(v):
            if k in FORBIDDEN_KEYS:
                raise CodecError("unexpected-key", "%s.%s" % (field, k), "key not allowed")
            out[k] = _json_value(v[k], "%s.%s" % (field, k), depth + 1)
        return out
    raise CodecError("bad-field", field, "not a JSON value")


# --------------------------------------------------------------------------
# Message objects


_classes_cache = None


def message_classes():
    """Type code -> class: simpleRaft's for codes 0-3 when it can be imported, else the stand-ins."""
    global _classes_cache
    if _classes_cache is None:
        classes = {
            0: stand_ins.AppendEntriesMessage,
            1: stand_ins.RequestVoteMessage,
            2: stand_ins.RequestVoteResponseMessage,
            3: stand_ins.ResponseMessage,
            4: stand_ins.InstallSnapshotMessage,
            5: stand_ins.ClientCommandMessage,
            6: stand_ins.ReadIndexMessage,
            7: stand_ins.ReadIndexResponseMessage,
        }
        try:
            from simpleRaft.messages.append_entries import AppendEntriesMessage
            from simpleRaft.messages.request_vote import RequestVoteMessage, RequestVoteResponseMessage
            from simpleRaft.messages.response import ResponseMessage
        except ImportError:
            pass
        else:
            classes.update({0: AppendEntriesMessage, 1: RequestVoteMessage, 2: RequestVoteResponseMessage,
                            3: ResponseMessage})
        _classes_cache = classes
    return _classes_cache


def message_from_dict(d, classes=None):
    """Build a message object from a canonical dict (as decode_dict returns)."""
    cls = (classes or message_classes())[d["type"]]
    message = cls(d["sender"], d["receiver"], d["term"], d["data"])
    message._timestamp = d["timestamp"]  # the constructor stamped the local clock; keep the sender's
    if "id" in d:
        message._id = d["id"]
    return message


_MISSING = object()


def _attr(message, name):
    v = getattr(message, "_" + name, _MISSING)
    if v is _MISSING:
        v = getattr(message, name, _MISSING)
    if v is _MISSING:
        raise CodecError("missing-field", "$." + name, "the message object has no _%s or %s" % (name, name))
    return v


def message_to_dict(message):
    """The wire dict of a message object (simpleRaft's, a stand-in, or any look-alike)."""
    d = {
        "type": _attr(message, "type"),
        "sender": _attr(message, "sender"),
        "receiver": _attr(message, "receiver"),
        "term": _attr(message, "term"),
        "timestamp": _attr(message, "timestamp"),
        "data": _attr(message, "data"),
    }
    mid = getattr(message, "_id", None)
    if mid is not None:
        d["id"] = mid
    return d


# --------------------------------------------------------------------------
# Encoding


def encode_message(message, check=True):
    """Encode a message object as the canonical UTF-8 JSON bytes.

    simpleRaft's Leader fills prevLogTerm from ``_lastLogTerm``, which starts
    at None; the wire, like the paper, says 0 for the term before the first
    entry, so an AppendEntries prevLogTerm of None is written as 0. Otherwise
    the fields are written as they are.
    """
    return encode_dict(message_to_wire_dict(message), check)


def message_to_wire_dict(message):
    """message_to_dict(), with what the wire says differently from simpleRaft.

    simpleRaft's Leader fills an AppendEntries prevLogTerm from
    ``_lastLogTerm``, which starts at None; the wire says 0 there (see
    encode_message). The dict is a fresh one; ``data`` is copied when changed.
    """
    d = message_to_dict(message)
    if d["type"] == 0 and isinstance(d["data"], dict) and d["data"].get("prevLogTerm", 0) is None:
        d["data"] = dict(d["data"], prevLogTerm=0)
    return d


def encode_dict(d, check=True):
    """Encode a message dict as canonical JSON bytes: the key order of the wire,
    absent (or None) optional fields left out, numbers and strings as
    JSON.stringify writes them.

    With ``check`` (the default) the bytes are decoded again and any reason a
    peer would drop them is raised here as CodecError instead.
    """
    t = d.get("type")
    if not _is_number(t) or t not in DATA_SPECS:
        raise CodecError("unknown-type", "$.type", "unknown message type %s" % (_show(t),))
    data = d.get("data")
    if not isinstance(data, dict):
        raise CodecError("bad-field", "$.data", "expected a dict")
    required, optional = DATA_SPECS[t]
    known = set(k for k, _ in required + optional)
    for key in data:
        if key not in known:
            raise CodecError("unexpected-key", "$.data.%s" % (key,), "not a field of message type %d" % t)
    out_data = {}
    for key, _ in required:
        if key not in data:
            raise CodecError("missing-field", "$.data." + key, "required")
        out_data[key] = data[key]
    for key, _ in optional:
        if data.get(key) is not None:
            out_data[key] = data[key]
    out = {}
    for key in ENVELOPE_REQUIRED:
        if key not in d:
            raise CodecError("missing-field", "$." + key, "required")
        out[key] = out_data if key == "data" else d[key]
    if d.get("id") is not None:
        out["id"] = d["id"]
    try:
        # The envelope's keys are not array indices, so insertion order is the
        # wire order, and jsjson.stringify keeps it.
        text = jsjson.stringify(out)
    except (TypeError, ValueError, OverflowError) as e:
        raise CodecError("bad-field", "$", str(e)) from None
    encoded = text.encode("utf-8")  # lone surrogates were escaped, so this cannot fail
    if check:
        decode_dict(encoded)
    return encoded


# --------------------------------------------------------------------------
# Index base


def wire_index_to_list_position(index):
    """Wire (paper, 1-based) log index -> position in a 0-based Python list such as simpleRaft's log.

    Index 0 means "before the first entry" and has no position.
    """
    if index < 1:
        raise ValueError("wire index %r has no list position (index 0 is 'before the first entry')" % (index,))
    return index - 1


def list_position_to_wire_index(position):
    """Position in a 0-based Python list -> wire (paper, 1-based) log index."""
    if position < 0:
        raise ValueError("list position %r is negative" % (position,))
    return position + 1
