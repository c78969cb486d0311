#!/usr/bin/env python3
"""Writes the seed corpus of the Forward decoder fuzz target (fuzz/corpus/forward_decoder/).

msgpack is written by hand (standard library only) so that seeds can also be what no encoder
produces: truncated frames, lying length headers, wrong types, deep nesting.

    python3 fuzz/make_corpus.py [OUT_DIR]

Output is deterministic (fixed gzip mtime), so re-running it leaves the checked-in files as
they are.
"""
import gzip
import os
import struct
import sys


class Ext:
    def __init__(self, code, data):
        self.code, self.data = code, data


class Raw:
    """Bytes spliced in as they are."""

    def __init__(self, data):
        self.data = data


def pack(o):
    if isinstance(o, Raw):
        return o.data
    if o is None:
        return b"\xc0"
    if o is True:
        return b"\xc3"
    if o is False:
        return b"\xc2"
    if isinstance(o, int):
        if 0 <= o < 0x80:
            return bytes([o])
        if -32 <= o < 0:
            return struct.pack("b", o)
        if 0 <= o <= 0xFF:
            return b"\xcc" + struct.pack(">B", o)
        if 0 <= o <= 0xFFFF:
            return b"\xcd" + struct.pack(">H", o)
        if 0 <= o <= 0xFFFFFFFF:
            return b"\xce" + struct.pack(">I", o)
        if o >= 0:
            return b"\xcf" + struct.pack(">Q", o)
        if o >= -0x80:
            return b"\xd0" + struct.pack(">b", o)
        if o >= -0x8000:
            return b"\xd1" + struct.pack(">h", o)
        if o >= -0x80000000:
            return b"\xd2" + struct.pack(">i", o)
        return b"\xd3" + struct.pack(">q", o)
    if isinstance(o, float):
        return b"\xcb" + struct.pack(">d", o)
    if isinstance(o, str):
        b = o.encode()
        n = len(b)
        if n < 32:
            return bytes([0xA0 | n]) + b
        if n <= 0xFF:
            return b"\xd9" + bytes([n]) + b
        if n <= 0xFFFF:
            return b"\xda" + struct.pack(">H", n) + b
        return b"\xdb" + struct.pack(">I", n) + b
    if isinstance(o, (bytes, bytearray)):
        n = len(o)
        if n <= 0xFF:
            return b"\xc4" + bytes([n]) + bytes(o)
        if n <= 0xFFFF:
            return b"\xc5" + struct.pack(">H", n) + bytes(o)
        return b"\xc6" + struct.pack(">I", n) + bytes(o)
    if isinstance(o, Ext):
        n = len(o.data)
        fixed = {1: 0xD4, 2: 0xD5, 4: 0xD6, 8: 0xD7, 16: 0xD8}
        if n in fixed:
            return bytes([fixed[n]]) + struct.pack("b", o.code) + o.data
        return b"\xc7" + bytes([n]) + struct.pack("b", o.code) + o.data
    if isinstance(o, (list, tuple)):
        n = len(o)
        head = bytes([0x90 | n]) if n < 16 else b"\xdc" + struct.pack(">H", n)
        return head + b"".join(pack(x) for x in o)
    if isinstance(o, dict):
        n = len(o)
        head = bytes([0x80 | n]) if n < 16 else b"\xde" + struct.pack(">H", n)
        return head + b"".join(pack(k) + pack(v) for k, v in o.items())
    raise TypeError(type(o))


def event_time(seconds, nanos=0):
    return Ext(0, struct.pack(">II", seconds, nanos))


T0 = 1795000000  # 2026-11-18


def finding(i, subject=None):
    # Shaped like the agent's records (docs/collector-protocol.md).
    return {
        "id": "f%016x" % i,
        "kind": "ipv6.no_aaaa",
        "severity": "medium",
        "subject": subject or "h%d.demo-univ.edu.cn" % i,
        "title": "No AAAA record",
        "title_zh": "无 AAAA 记录",
        "evidence": {"addresses": ["192.0.2.%d" % (i % 250 + 1)], "resolver": "192.0.2.53"},
        "observed_at": "2026-11-25T13:53:17Z",
        "scan": "s-0001",
        "job": "nightly",
    }


def entry_stream(entries):
    return b"".join(pack([t, r]) for t, r in entries)


def seeds():
    s = {}
    f1 = finding(1)
    # --- valid messages, all three modes ---
    s["message_int_time"] = pack(["edusight.finding", T0, f1])
    s["message_eventtime_chunk"] = pack(
        ["edusight.finding", event_time(T0, 123456789), f1, {"chunk": "Y2h1bmstMDAwMQ=="}]
    )
    s["forward"] = pack(
        ["edusight.finding", [[T0, finding(2)], [event_time(T0, 5), finding(3)], [T0, {}]]]
    )
    s["forward_chunk_size"] = pack(
        ["edusight.finding", [[T0, finding(4)]], {"chunk": "YWJj", "size": 1}]
    )
    stream = entry_stream([(event_time(T0, i), finding(i)) for i in range(3)])
    s["packed_forward_no_option"] = pack(["edusight.finding", stream])
    s["packed_forward_chunk"] = pack(
        ["edusight.finding", stream, {"size": 3, "chunk": "cGFja2VkLTAwMDE="}]
    )
    s["packed_forward_str_body"] = pack(["edusight.finding", Raw(pack(stream.decode("latin-1")))])
    s["packed_forward_gzip"] = pack(
        [
            "edusight.finding",
            gzip.compress(stream, mtime=0),
            {"compressed": "gzip", "size": 3, "chunk": "Z3ppcA=="},
        ]
    )
    # Fluentd concatenates gzip members.
    two = gzip.compress(stream[: len(stream) // 2], mtime=0) + gzip.compress(
        stream[len(stream) // 2 :], mtime=0
    )
    s["packed_forward_gzip_members"] = pack(["t", two, {"compressed": "gzip"}])
    s["packed_forward_text"] = pack(["t", stream, {"compressed": "text"}])
    s["scan_completed"] = pack(
        ["edusight.scan", [[T0, {"event": "completed", "scan": "s-0001", "job": "nightly",
                                 "findings": 3}]], {"chunk": "c2Nhbg=="}]
    )
    s["heartbeat"] = pack(
        ["edusight.heartbeat", T0, {"version": "0.1.0", "uptime_s": 12.5, "jobs": ["nightly"],
                                    "spool_bytes": 0, "last_scan": None}]
    )
    s["foreign_tag"] = pack(["app.log", T0, {"log": "hello", "n": -5, "f": 1.5, "b": b"\x00\xff"}])
    # Several messages back to back, as one read.
    s["stream_three"] = s["message_int_time"] + s["forward"] + s["packed_forward_chunk"]
    # --- handshake ---
    s["helo"] = pack(["HELO", {"nonce": bytes(range(16)), "auth": b"", "keepalive": True}])
    s["ping"] = pack(["PING", "agent-0", "73616c74", "ab" * 64, "", ""])
    s["pong_ok"] = pack(["PONG", True, "", "edusight-collector", "cd" * 64])
    s["pong_refused"] = pack(["PONG", False, "unknown agent", "edusight-collector", ""])
    s["handshake_then_event"] = s["ping"] + s["message_int_time"]
    s["ack_map"] = pack({"ack": "Y2h1bmstMDAwMQ=="})  # not an array: a framing error
    s["acks_two"] = pack({"ack": "YQ=="}) + pack({"ack": "Yg=="})
    # --- truncated frames ---
    full = s["packed_forward_chunk"]
    for cut in (1, 2, 20, len(full) // 2, len(full) - 1):
        s["truncated_packed_%d" % cut] = full[:cut]
    s["truncated_gzip_body"] = pack(["t", gzip.compress(stream, mtime=0)[:-6], {"compressed": "gzip"}])
    s["truncated_header_array32"] = b"\xdd\x00\x00"
    s["truncated_header_bin32"] = b"\x93\xa1t\xc6\x00\x00"
    # --- lying and oversize headers ---
    s["oversize_array32"] = b"\xdd\xff\xff\xff\xff"
    s["oversize_bin32"] = b"\x93\xa1t\xc6\x7f\xff\xff\xff" + b"x" * 8
    s["oversize_str32_tag"] = b"\x92\xdb\x01\x00\x00\x00abc"
    s["oversize_map32"] = b"\x93\xa1t\xd2\x00\x00\x00\x01\xdf\xff\xff\xff\xff"
    s["oversize_ext32"] = b"\x93\xa1t\xc9\x7f\x00\x00\x00\x00" + b"\x00" * 4
    s["narrow_limit_600_bytes"] = pack(["t", T0, {"pad": "x" * 600}])
    # Exactly the fuzz target's narrow limit (512 bytes) and one byte under: both are allowed.
    for size in (511, 512):
        k = 0
        while len(pack(["t", T0, {"pad": "x" * k}])) < size:
            k += 1
        assert len(pack(["t", T0, {"pad": "x" * k}])) == size
        s["limit_exact_%d" % size] = pack(["t", T0, {"pad": "x" * k}])
    s["packed_size_lies"] = pack(["t", stream, {"size": 1000000, "chunk": "bGll"}])
    # A small gzip that inflates to more than the 512-byte narrow limit.
    s["gzip_inflates_past_limit"] = pack(
        ["t", gzip.compress(entry_stream([(T0, {"pad": "z" * 4000})]), mtime=0),
         {"compressed": "gzip"}]
    )
    # --- nesting ---
    deep = None
    for _ in range(70):
        deep = [deep]
    s["deep_record_70"] = pack(["t", T0, {"d": deep}])
    shallow = None
    for _ in range(6):
        shallow = {"k": shallow}
    s["nested_record_6"] = pack(["t", T0, {"d": shallow}])
    s["deep_arrays_raw"] = b"\x91" * 200 + b"\xc0"
    # Around the 64-level limit, one message each: Forward mode nests records two levels
    # deeper than Message mode (found by the fuzzer as a round-trip failure in its own check).
    near = b""
    for levels in range(58, 64):
        deep = None
        for _ in range(levels):
            deep = [deep]
        near += pack(["t", T0, {"d": deep}])
    s["deep_record_near_limit"] = near
    s["deep_maps_raw"] = b"\x92\xa1t" + b"\x81\xa1k" * 100 + b"\xc0"
    # --- wrong types and values ---
    s["not_array_int"] = b"\x05"
    s["not_array_str"] = pack("hello")
    s["empty_array"] = pack([])
    s["one_element"] = pack(["t"])
    s["tag_not_string"] = pack([1, T0, {}])
    s["time_string"] = pack(["t", "now", {}])
    s["time_float"] = pack(["t", 1.5, {}])
    s["time_negative"] = pack(["t", -1, {"a": 1}])
    s["time_uint64_max"] = pack(["t", 0xFFFFFFFFFFFFFFFF, {"a": 1}])
    s["eventtime_bad_nanos"] = pack(["t", event_time(T0, 1000000000), {}])
    s["eventtime_wrong_ext_type"] = pack(["t", Ext(1, b"\x00" * 8), {}])
    s["eventtime_short"] = pack(["t", Ext(0, b"\x00" * 4), {}])
    s["record_not_map"] = pack(["t", T0, [1, 2]])
    s["record_int_key"] = pack(["t", T0, Raw(b"\x81\x01\x02")])
    s["record_ext_value"] = pack(["t", T0, {"x": Ext(5, b"abcd")}])
    s["record_eventtime_value"] = pack(["t", T0, {"x": event_time(T0, 1)}])
    s["record_float32_nan"] = pack(["t", T0, Raw(b"\x81\xa1f\xca\x7f\xc0\x00\x00")])
    s["record_dup_keys"] = pack(["t", T0, Raw(b"\x82\xa1a\x01\xa1a\x02")])
    s["message_five_elements"] = pack(["t", T0, {}, {}, {}])
    s["forward_four_elements"] = pack(["t", [], {}, {}])
    s["forward_entry_not_pair"] = pack(["t", [[T0]]])
    s["options_not_map"] = pack(["t", [[T0, {}]], 7])
    s["options_nil"] = pack(["t", [[T0, {}]], None])
    s["option_chunk_int"] = pack(["t", [[T0, {}]], {"chunk": 5}])
    s["option_size_negative"] = pack(["t", [[T0, {}]], {"size": -1}])
    s["option_unknown_compression"] = pack(["t", stream, {"compressed": "zstd"}])
    s["option_key_int"] = pack(["t", [[T0, {}]], Raw(b"\x81\x01\x02")])
    s["packed_garbage_body"] = pack(["t", b"\xc1\xc1\xc1"])
    s["packed_trailing_partial"] = pack(["t", stream + b"\x92"])
    s["gzip_garbage"] = pack(["t", b"\x1f\x8b\x08\x00garbage", {"compressed": "gzip"}])
    s["helo_bad_keepalive"] = pack(["HELO", {"nonce": b"n", "keepalive": "yes"}])
    s["helo_int_key"] = pack(["HELO", Raw(b"\x81\x01\x02")])
    s["ping_int_fields"] = pack(["PING", "h", 1, 2, 3, 4])
    s["pong_int_reason"] = pack(["PONG", True, 1, "h", "d"])
    s["invalid_byte_c1"] = b"\x93\xa1t\xc1\x80"
    s["trailing_garbage_after_message"] = s["message_int_time"] + b"\xc1"
    s["float_tag_after_valid"] = s["ping"] + pack([1.0, 2.0])
    # Every fixed-width type once, so the scanner's header table is covered.
    s["all_scalar_types"] = pack(
        ["t", T0, Raw(
            b"\x8c"
            + b"\xa1a\xcc\xff" + b"\xa1b\xcd\xff\xff" + b"\xa1c\xce\xff\xff\xff\xff"
            + b"\xa1d\xcf" + b"\x00" * 8 + b"\xa1e\xd0\x80" + b"\xa1f\xd1\x80\x00"
            + b"\xa1g\xd2\x80\x00\x00\x00" + b"\xa1h\xd3" + b"\x80" + b"\x00" * 7
            + b"\xa1i\xca\x3f\x80\x00\x00" + b"\xa1j\xcb" + struct.pack(">d", 2.5)
            + b"\xa1k\xc4\x02\x00\x01" + b"\xa1l\xd9\x03abc"
        )]
    )
    s["all_ext_types"] = pack(
        ["t", [[T0, {}]], Raw(
            b"\x86" + b"\xa1a\xd4\x01\x00" + b"\xa1b\xd5\x01\x00\x00"
            + b"\xa1c\xd6\x01" + b"\x00" * 4 + b"\xa1d\xd8\x01" + b"\x00" * 16
            + b"\xa1e\xc8\x00\x03\x01abc" + b"\xa1f\xc9\x00\x00\x00\x01\x01z"
        )]
    )
    s["array16_map16_forms"] = b"\xdc\x00\x02\xa1t\xde\x00\x00"
    return s


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(here, "corpus", "forward_decoder")
    os.makedirs(out, exist_ok=True)
    for name, data in sorted(seeds().items()):
        with open(os.path.join(out, name + ".bin"), "wb") as f:
            f.write(data)
    print("%d seeds in %s" % (len(seeds()), out))


if __name__ == "__main__":
    main()
