"""JSON text exactly as JavaScript's JSON.parse and JSON.stringify see it.

The TypeScript nodes parse with JSON.parse and write with JSON.stringify, and
the wire contract (docs/wire-format.md) says a message re-encodes to the same
bytes on both sides. Python's json module differs from JavaScript in ways that
matter for that:

- Numbers. JavaScript has one number type, the IEEE double: ``1.0``, ``1E0``
  and ``1`` are the same value and all print as ``1``; ``9007199254740993``
  becomes ``9007199254740992``; ``1e400`` becomes Infinity; ``-0`` prints as
  ``0``; ``1e21`` prints as ``1e+21``. We read every number as JavaScript
  would, keep it as a Python ``int`` when it is a whole number a double holds
  exactly (within +-(2**53 - 1)) and as a ``float`` otherwise, and print floats
  with ECMAScript's Number::toString rules.
- ``NaN``, ``Infinity`` and ``-Infinity`` are not JSON; Python accepts them.
- Object key order. JavaScript objects list "array index" keys ("0", "1", ...,
  "4294967294") first in ascending numeric order, then the other keys in
  insertion order. JSON.stringify writes them in that order, so we do too.
- Strings. JSON.stringify escapes only ``"``, ``\\``, the control characters
  below U+0020 (``\\b \\t \\n \\f \\r`` by name, the rest as ``\\u00xx``) and lone
  surrogates (``\\udxxx``); everything else, U+007F and U+2028 included, is
  written as itself.
- Depth. Python's parser is recursive and gives up after about a thousand
  levels of nesting; JSON.parse does not. On RecursionError we parse again
  with a small iterative parser, so the validator sees the same value the
  TypeScript one sees and names the same error.
"""

import json
import math
import re

__all__ = [
    "JSONTextError",
    "MAX_SAFE_INTEGER",
    "parse",
    "stringify",
    "js_key_order",
    "utf16_length",
]

#: Number.MAX_SAFE_INTEGER: the largest n such that n and n + 1 are doubles.
MAX_SAFE_INTEGER = 2**53 - 1

_ARRAY_INDEX_LIMIT = 2**32 - 1  # array index keys are 0 .. 2**32 - 2


class JSONTextError(ValueError):
    """The text is not JSON (as JSON.parse defines it)."""


# --------------------------------------------------------------------------
# Numbers


def _number(x):
    """A JavaScript number as we keep it: int when whole and safe, else float."""
    if x != x:  # NaN cannot come from JSON text, but never keep one
        raise JSONTextError("NaN")
    if math.isfinite(x) and x == math.floor(x) and abs(x) <= MAX_SAFE_INTEGER:
        return int(x)  # also turns -0.0 into 0
    return x


def _parse_int(text):
    # Up to 15 characters is at most 15 digits, always exact in a double.
    # Longer goes through float, which rounds to the nearest double as
    # JSON.parse does (and sidesteps Python's limit on converting very long
    # digit strings to int).
    if len(text) <= 15:
        return int(text)  # int("-0") is 0, as we want
    return _number(float(text))


def _parse_float(text):
    return _number(float(text))


def _reject_constant(name):
    raise JSONTextError("%s is not JSON" % name)


def format_number(x):
    """ECMAScript Number::toString(10) of an int or float, as JSON.stringify prints it."""
    if isinstance(x, bool):
        raise TypeError("bool is not a number here")
    if isinstance(x, int):
        if -MAX_SAFE_INTEGER <= x <= MAX_SAFE_INTEGER:
            return str(x)
        x = float(x)  # JavaScript would hold the nearest double; may raise OverflowError
    if not math.isfinite(x):
        raise ValueError("non-finite number %r" % (x,))
    if x == 0:
        return "0"  # both 0 and -0
    sign = "-" if x < 0 else ""
    # repr gives the shortest digits that read back as the same double, the
    # same digits ECMAScript asks for; only the layout differs.
    mantissa, _, exponent = repr(abs(x)).partition("e")
    whole, _, fraction = mantissa.partition(".")
    all_digits = whole + fraction
    significant = all_digits.lstrip("0")
    # ECMAScript's k digits and n: the value is 0.d1d2...dk * 10**n, so the
    # decimal point sits after the n-th digit.
    n = len(whole) + (int(exponent) if exponent else 0) - (len(all_digits) - len(significant))
    digits = significant.rstrip("0")
    k = len(digits)
    if k <= n <= 21:
        return sign + digits + "0" * (n - k)
    if 0 < n <= 21:
        return sign + digits[:n] + "." + digits[n:]
    if -6 < n <= 0:
        return sign + "0." + "0" * (-n) + digits
    e = n - 1
    exp = ("e+" if e >= 0 else "e-") + str(abs(e))
    if k == 1:
        return sign + digits + exp
    return sign + digits[0] + "." + digits[1:] + exp


# --------------------------------------------------------------------------
# Parsing

_WS = re.compile(r"[ \t\n\r]*")
_NUMBER = re.compile(r"-?(?:0|[1-9][0-9]*)(\.[0-9]+)?([eE][-+]?[0-9]+)?")
_DECODER = json.JSONDecoder(
    parse_float=_parse_float,
    parse_int=_parse_int,
    parse_constant=_reject_constant,
    strict=True,
)


def parse(text):
    """Parse JSON text (a str) as JSON.parse would; raise JSONTextError if it is not JSON."""
    try:
        return _DECODER.decode(text)
    except RecursionError:
        return _parse_deep(text)
    except (ValueError, OverflowError) as e:  # JSONDecodeError is a ValueError
        raise JSONTextError(str(e)) from None


def _parse_deep(text):
    """An iterative parser for input nested deeper than json's recursion allows.

    It accepts exactly the JSON grammar, builds the same values as parse(), and
    borrows json's own string scanner so escapes are read the same way.
    """
    scanstring = json.decoder.scanstring
    pos = _WS.match(text, 0).end()
    stack = []  # frames: [container, pending key or None]
    value = None
    while True:
        if pos >= len(text):
            raise JSONTextError("unexpected end of input at %d" % pos)
        c = text[pos]
        # Read one value, or open a container.
        if c == "{" or c == "[":
            container = {} if c == "{" else []
            pos = _WS.match(text, pos + 1).end()
            close = "}" if c == "{" else "]"
            if pos < len(text) and text[pos] == close:
                value = container
                pos += 1
            else:
                stack.append([container, None])
                if c == "{":
                    key, pos = _read_key(text, pos, scanstring)
                    stack[-1][1] = key
                continue
        elif c == '"':
            try:
                value, pos = scanstring(text, pos + 1, True)
            except ValueError as e:
                raise JSONTextError(str(e)) from None
        elif text.startswith("true", pos):
            value, pos = True, pos + 4
        elif text.startswith("false", pos):
            value, pos = False, pos + 5
        elif text.startswith("null", pos):
            value, pos = None, pos + 4
        else:
            m = _NUMBER.match(text, pos)
            if not m:
                raise JSONTextError("expected a value at %d" % pos)
            literal = m.group(0)
            value = _parse_float(literal) if (m.group(1) or m.group(2)) else _parse_int(literal)
            pos = m.end()
        # Attach the value, and close as many containers as end here.
        while True:
            pos = _WS.match(text, pos).end()
            if not stack:
                if pos != len(text):
                    raise JSONTextError("extra data at %d" % pos)
                return value
            frame = stack[-1]
            container = frame[0]
            if isinstance(container, dict):
                container[frame[1]] = value
                close = "}"
            else:
                container.append(value)
                close = "]"
            if pos < len(text) and text[pos] == ",":
                pos = _WS.match(text, pos + 1).end()
                if close == "}":
                    frame[1], pos = _read_key(text, pos, scanstring)
                break  # read the next value
            if pos < len(text) and text[pos] == close:
                pos += 1
                stack.pop()
                value = container
                continue
            raise JSONTextError("expected ',' or '%s' at %d" % (close, pos))


def _read_key(text, pos, scanstring):
    if pos >= len(text) or text[pos] != '"':
        raise JSONTextError("expected a property name at %d" % pos)
    try:
        key, pos = scanstring(text, pos + 1, True)
    except ValueError as e:
        raise JSONTextError(str(e)) from None
    pos = _WS.match(text, pos).end()
    if pos >= len(text) or text[pos] != ":":
        raise JSONTextError("expected ':' at %d" % pos)
    return key, _WS.match(text, pos + 1).end()


# --------------------------------------------------------------------------
# Key order and string length, as JavaScript has them


def _is_array_index(key):
    if key == "0":
        return True
    if not key or key[0] not in "123456789" or len(key) > 10 or not key.isascii() or not key.isdigit():
        return False
    return int(key) < _ARRAY_INDEX_LIMIT


def js_key_order(keys):
    """Keys in the order a JavaScript object lists them (Object.keys)."""
    keys = list(keys)
    indices = [k for k in keys if _is_array_index(k)]
    if not indices:
        return keys
    indices.sort(key=int)
    return indices + [k for k in keys if not _is_array_index(k)]


def utf16_length(s):
    """A JavaScript string's length: UTF-16 code units, not code points."""
    return len(s) + sum(1 for c in s if ord(c) > 0xFFFF)


# --------------------------------------------------------------------------
# Writing

_ESCAPES = {'"': '\\"', "\\": "\\\\", "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r", "\t": "\\t"}
_NEEDS_ESCAPE = re.compile('["\\\\\x00-\x1f\ud800-\udfff]')
_SURROGATE = re.compile("[\ud800-\udfff]")


def _escape(m):
    c = m.group(0)
    return _ESCAPES.get(c) or "\\u%04x" % ord(c)


def quote(s):
    """A string literal as JSON.stringify writes it."""
    if _SURROGATE.search(s):
        # A high and a low surrogate side by side are one character in
        # JavaScript; join them so only lone ones are escaped.
        s = s.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "surrogatepass")
    return '"' + _NEEDS_ESCAPE.sub(_escape, s) + '"'


def stringify(value, path="$"):
    """Compact JSON text as JSON.stringify writes it.

    Accepts None, bool, int, float, str, list/tuple and dict with str keys;
    raises TypeError or ValueError (with the path) for anything else,
    including NaN and infinities.
    """
    out = []
    _write(value, out, path)
    return "".join(out)


def _write(v, out, path):
    if v is None:
        out.append("null")
    elif v is True:
        out.append("true")
    elif v is False:
        out.append("false")
    elif isinstance(v, str):
        out.append(quote(v))
    elif isinstance(v, (int, float)):
        try:
            out.append(format_number(v))
        except (ValueError, OverflowError) as e:
            raise ValueError("%s: %s" % (path, e)) from None
    elif isinstance(v, (list, tuple)):
        out.append("[")
        for i, x in enumerate(v):
            if i:
                out.append(",")
            _write(x, out, "%s[%d]" % (path, i))
        out.append("]")
    elif isinstance(v, dict):
        for k in v:
            if not isinstance(k, str):
                raise TypeError("%s: object key %r is not a string" % (path, k))
        out.append("{")
        for i, k in enumerate(js_key_order(v)):
            if i:
                out.append(",")
            out.append(quote(k))
            out.append(":")
            _write(v[k], out, "%s.%s" % (path, k))
        out.append("}")
    else:
        raise TypeError("%s: %s is not a JSON value" % (path, type(v).__name__))
