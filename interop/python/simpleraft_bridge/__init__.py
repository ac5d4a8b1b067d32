"""simpleraft_bridge: speak simpleraft-ts's JSON wire format (version 1) from Python.

    from simpleraft_bridge import decode_message, encode_message, CodecError

    msg = decode_message(raw_bytes)      # a simpleRaft message object (or a stand-in)
    raw = encode_message(msg)            # canonical bytes, byte-identical to the TypeScript side

Standard library only. See codec.py for the index base (the wire is 1-based,
simpleRaft's log list 0-based) and docs/wire-format.md for the contract.
"""

from .codec import (
    CodecError,
    MAX_MESSAGE_BYTES,
    MAX_MESSAGE_ID_LENGTH,
    MAX_NODE_NAME_LENGTH,
    MAX_VALUE_DEPTH,
    SIMPLERAFT_TYPE_CODES,
    WIRE_FORMAT_VERSION,
    decode_dict,
    decode_message,
    encode_dict,
    encode_message,
    list_position_to_wire_index,
    message_classes,
    message_from_dict,
    message_to_dict,
    validate,
    wire_index_to_list_position,
)

__all__ = [
    "CodecError",
    "MAX_MESSAGE_BYTES",
    "MAX_MESSAGE_ID_LENGTH",
    "MAX_NODE_NAME_LENGTH",
    "MAX_VALUE_DEPTH",
    "SIMPLERAFT_TYPE_CODES",
    "WIRE_FORMAT_VERSION",
    "decode_dict",
    "decode_message",
    "encode_dict",
    "encode_message",
    "list_position_to_wire_index",
    "message_classes",
    "message_from_dict",
    "message_to_dict",
    "validate",
    "wire_index_to_list_position",
]
