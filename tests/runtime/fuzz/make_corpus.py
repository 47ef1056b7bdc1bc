#!/usr/bin/env python3
"""make_corpus.py: writes the seed corpora of the runtime's fuzz targets (run it from anywhere).

corpus_safetensors/  files for fuzz_safetensors.c: valid ones (every dtype class, metadata,
                     escapes, scalars, zero-size tensors) and one of each malformed class that
                     tests/runtime/test_safetensors.c checks.
corpus_inputs/       files for fuzz_inputs.c, whose manifest has x (f32 4x3), ids (i32 4, range 7)
                     and seed (i32 1): valid inputs and each way they can be wrong.
A name starting with "bare_" holds a bare header and data (fuzz_file.h adds the length).
"""
import json
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))


def header_bytes(header):
    if isinstance(header, bytes):
        return header
    return json.dumps(header, separators=(",", ":")).encode()


def safetensors(header, data=b"", pad=True):
    """The file: u64 length, the header (a dict, or raw bytes kept as they are), data."""
    text = header_bytes(header)
    if pad and not isinstance(header, bytes):
        text += b" " * ((8 - len(text) % 8) % 8)
    return struct.pack("<Q", len(text)) + text + data


def tensors(specs, metadata=None):
    """specs: [(name, dtype, shape, bytes)] laid out in order; returns (header dict, data)."""
    header, data = {}, b""
    if metadata is not None:
        header["__metadata__"] = metadata
    for name, dtype, shape, blob in specs:
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [len(data), len(data) + len(blob)]}
        data += blob
    return header, data


def f32(*values):
    return struct.pack("<%df" % len(values), *values)


def i32(*values):
    return struct.pack("<%di" % len(values), *values)


def entry(dtype, shape, begin, end):
    return {"dtype": dtype, "shape": shape, "data_offsets": [begin, end]}


def safetensors_corpus():
    files = {}
    files["valid_f32"] = safetensors(*tensors([("w", "F32", [2, 3], f32(*range(6))),
                                               ("b", "F32", [3], f32(1, 2, 3))], {"format": "pt"}))
    files["valid_i32"] = safetensors(*tensors([("tokens", "I32", [2, 2], i32(0, 1, -5, 2**31 - 1))]))
    files["valid_dtypes"] = safetensors(*tensors([
        ("f64", "F64", [2], struct.pack("<2d", 1.5, -2)), ("i64", "I64", [1], struct.pack("<q", -7)),
        ("c64", "C64", [1], f32(1, 2)), ("f32", "F32", [1], f32(3)), ("u32", "U32", [1], i32(9)),
        ("bf16", "BF16", [2], b"\x80\x3f\x00\x40"), ("f16", "F16", [1], b"\x00\x3c"),
        ("i16", "I16", [1], b"\xff\xff"), ("u16", "U16", [1], b"\x01\x00"),
        ("u8", "U8", [3], b"\x01\x02\x03"), ("i8", "I8", [1], b"\x80"), ("bool", "BOOL", [2], b"\x00\x01"),
        ("f8", "F8_E4M3", [1], b"\x38"), ("f8b", "F8_E5M2", [1], b"\x3c"), ("e8", "F8_E8M0", [1], b"\x7f"),
        ("f4", "F4", [4], b"\x12\x34"), ("f6", "F6_E2M3", [4], b"\x00\x00\x00")]))
    files["valid_scalar_and_empty"] = safetensors(*tensors([
        ("scalar", "F32", [], f32(2.5)), ("nothing", "F32", [0, 4], b""), ("one", "I32", [1], i32(3))]))
    files["valid_unicode_names"] = safetensors(
        b'{"caf\\u00e9":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},'
        b'"\\ud83d\\ude00 \\n\\t\\"\\\\\\/":{"dtype":"F32","shape":[1],"data_offsets":[4,8]},'
        b'"\xc3\xa9t\xc3\xa9":{"dtype":"F32","shape":[1],"data_offsets":[8,12]}}', f32(1, 2, 3))
    files["valid_metadata"] = safetensors(*tensors([("w", "F32", [1], f32(1))],
                                                   {"format": "pt", "step": "000010", "note": "\u00e9\u0001"}))
    files["valid_empty"] = safetensors(b"{}")
    files["valid_spaced"] = safetensors(
        b' { "w" : { "shape" : [ 2 ] , "data_offsets" : [ 0 , 8 ] , "dtype" : "F32" } }\r\n\t  ', f32(1, 2))
    files["valid_many"] = safetensors(*tensors([("t%d" % t, "F32", [1 + t % 3], f32(*[t] * (1 + t % 3)))
                                                for t in range(64)], {"format": "pt"}))
    files["valid_out_of_order"] = safetensors(
        {"late": entry("F32", [1], 4, 8), "early": entry("F32", [1], 0, 4)}, f32(1, 2))
    files["bare_valid"] = b'{"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}' + f32(1, 2)
    files["bare_metadata"] = b'{"__metadata__":{"k":"v"},"i":{"dtype":"I32","shape":[],"data_offsets":[0,4]}}' + i32(5)

    good = b'{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}'
    malformed = {
        "truncated_length": b"\x05\x00\x00",
        "header_past_end": struct.pack("<Q", 100) + b'{"a":{"dt',
        "not_json": safetensors(b"PK\x03\x04 a zip file"),
        "not_object": safetensors(b"[1,2]"),
        "trailing_garbage": safetensors(good + b" xyz", f32(1, 2)),
        "unclosed": safetensors(good[:-1], f32(1, 2)),
        "duplicate_name": safetensors(b'{"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},'
                                      b'"w":{"dtype":"F32","shape":[2],"data_offsets":[8,16]}}', f32(1, 2, 3, 4)),
        "nul_in_name": safetensors(b'{"w\\u0000x":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},'
                                   b'"w":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}', f32(1, 2)),
        "lone_surrogate": safetensors(b'{"w\\ud800":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}', f32(1)),
        "invalid_utf8": safetensors(b'{"w\xff":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}', f32(1)),
        "missing_fields": safetensors(b'{"a":{"dtype":"F32"}}'),
        "unknown_field": safetensors(b'{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8],"x":1}}', f32(1, 2)),
        "unknown_dtype": safetensors(b'{"a":{"dtype":"F31","shape":[2],"data_offsets":[0,8]}}', f32(1, 2)),
        "negative_dim": safetensors(b'{"a":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}}', f32(1, 2)),
        "shape_overflow": safetensors(b'{"a":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,8]}}', f32(1, 2)),
        "bits_overflow": safetensors(b'{"a":{"dtype":"F64","shape":[2305843009213693952],"data_offsets":[0,8]}}', f32(1, 2)),
        "dim_above_2_64": safetensors(b'{"a":{"dtype":"F32","shape":[18446744073709551616],"data_offsets":[0,8]}}', f32(1, 2)),
        "offsets_past_end": safetensors(b'{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,800]}}', f32(1, 2)),
        "begin_after_end": safetensors(b'{"a":{"dtype":"F32","shape":[2],"data_offsets":[8,0]}}', f32(1, 2)),
        "overlap": safetensors({"a": entry("F32", [2], 0, 8), "b": entry("F32", [2], 4, 12)}, f32(1, 2, 3)),
        "misaligned": safetensors({"b": entry("U8", [1], 0, 1), "a": entry("F32", [1], 1, 5)}, b"\x01" + f32(1)),
        "byte_count": safetensors(b'{"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}', f32(1, 2)),
        "hole": safetensors({"a": entry("F32", [2], 0, 8), "b": entry("F32", [2], 12, 20)}, f32(1, 2, 3, 4, 5)),
        "bytes_after_last": safetensors(good, f32(1, 2, 3, 4)),
        "metadata_not_strings": safetensors(b'{"__metadata__":{"format":"pt","n":[1,{"x":null}]}}'),
        "metadata_twice": safetensors(b'{"__metadata__":{},"__metadata__":{"k":"v"}}'),
        "metadata_key_twice": safetensors(b'{"__metadata__":{"k":"1","k":"2"}}'),
        "bare_overlap": b'{"a":{"dtype":"I32","shape":[1],"data_offsets":[0,4]},"b":{"dtype":"I32","shape":[1],"data_offsets":[0,4]}}' + i32(1),
    }
    files.update({"bad_" + name: data for name, data in malformed.items()})
    return files


def inputs_corpus():
    def inputs(x=f32(*range(12)), x_shape=(4, 3), ids=i32(0, 1, 2, 6), ids_dtype="I32", seed=True, extra=()):
        specs = []
        if x is not None:
            specs.append(("x", "F32", list(x_shape), x))
        if ids is not None:
            specs.append(("ids", ids_dtype, [4], ids))
        if seed:
            specs.append(("seed", "I32", [1], i32(99)))
        specs.extend(extra)
        return safetensors(*tensors(specs, {"format": "pt"}))

    return {
        "valid": inputs(),
        "valid_without_seed": inputs(seed=False),
        "valid_extra_tensors": inputs(extra=[("other", "BF16", [2], b"\x00\x00\x00\x00")]),
        "ids_at_range": inputs(ids=i32(0, 7, 1, 2)),
        "ids_negative": inputs(ids=i32(-1, 0, 1, 2)),
        "ids_as_f32": inputs(ids=f32(0, 1, 2, 3), ids_dtype="F32"),
        "x_transposed": inputs(x_shape=(3, 4)),
        "x_missing": inputs(x=None),
        "all_missing": inputs(x=None, ids=None, seed=False),
        "bare_valid": (b'{"x":{"dtype":"F32","shape":[4,3],"data_offsets":[0,48]},'
                       b'"ids":{"dtype":"I32","shape":[4],"data_offsets":[48,64]}}' + f32(*range(12)) + i32(6, 5, 4, 3)),
        "bad_overlap": safetensors({"x": entry("F32", [4, 3], 0, 48), "ids": entry("I32", [4], 32, 48)}, f32(*range(12))),
    }


def write(directory, files):
    path = os.path.join(HERE, directory)
    os.makedirs(path, exist_ok=True)
    for old in os.listdir(path):
        os.remove(os.path.join(path, old))
    for name, data in sorted(files.items()):
        with open(os.path.join(path, name + ".safetensors"), "wb") as f:
            f.write(data)
    print("%s: %d files" % (directory, len(files)))


if __name__ == "__main__":
    write("corpus_safetensors", safetensors_corpus())
    write("corpus_inputs", inputs_corpus())
