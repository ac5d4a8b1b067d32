"""Decode many inputs for the differential test against the TypeScript codec.

Reads JSON lines {"b64": <input bytes in base64>, "maxBytes": <optional>} on
stdin and writes one JSON line per input: {"ok": <base64 of the canonical
re-encoding>}, {"err": [code, field]}, or {"crash": <repr>} if anything other
than CodecError escaped (which test/interop/python-vectors.test.ts counts as
a failure). Not a test module itself.
"""

import base64
import json
import sys

import _support  # noqa: F401
from simpleraft_bridge import CodecError, decode_dict, encode_dict


def main():
    out = sys.stdout
    for line in sys.stdin:
        case = json.loads(line)
        raw = base64.b64decode(case["b64"])
        try:
            d = decode_dict(raw, case.get("maxBytes", 4 * 1024 * 1024))
            result = {"ok": base64.b64encode(encode_dict(d)).decode("ascii")}
        except CodecError as e:
            result = {"err": [e.code, e.field]}
        except BaseException as e:  # noqa: B902 - reported, then judged by the caller
            result = {"crash": repr(e)[:500]}
        out.write(json.dumps(result) + "\n")


if __name__ == "__main__":
    main()
