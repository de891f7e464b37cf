#!/usr/bin/env python3
"""Print the PE header fields that the Windows end-to-end test checks, as JSON.

Written apart from src/formats/pe.ts so that the test does not check that
code with itself. It sums 32-bit words, where pe.ts sums 16-bit words, and
follows the Microsoft PE format specification: the checksum is the folded
sum of the file with its CheckSum field taken as zero, plus the file length.
"""
import array
import json
import struct
import sys


def fold(total: int, bits: int) -> int:
    """Fold a sum into `bits` bits with end-around carry, as a one's complement sum does."""
    mask = (1 << bits) - 1
    while total > mask:
        total = (total & mask) + (total >> bits)
    return total


def pe_checksum(data: bytes, checksum_offset: int) -> int:
    padded = bytearray(data + b"\0" * (-len(data) % 4))
    padded[checksum_offset:checksum_offset + 4] = b"\0\0\0\0"
    words = array.array("I", bytes(padded))
    assert words.itemsize == 4, "array type I is not 32 bits on this platform"
    if sys.byteorder != "little":
        words.byteswap()
    # Carries are added back after the sum, which gives the same one's complement sum as adding them at each step.
    return (fold(fold(sum(words), 32), 16) + len(data)) & 0xFFFFFFFF


def read_headers(data: bytes) -> dict:
    if data[:2] != b"MZ":
        raise ValueError("no MZ header")
    pe_offset = struct.unpack_from("<I", data, 0x3C)[0]
    if data[pe_offset:pe_offset + 4] != b"PE\0\0":
        raise ValueError("no PE signature")
    optional = pe_offset + 24
    magic = struct.unpack_from("<H", data, optional)[0]
    directories = optional + {0x10B: 96, 0x20B: 112}[magic]
    checksum_offset = optional + 64
    security_address, security_size = struct.unpack_from("<II", data, directories + 4 * 8)
    return {
        "fileSizeBytes": len(data),
        "checksumField": struct.unpack_from("<I", data, checksum_offset)[0],
        "checksumComputed": pe_checksum(data, checksum_offset),
        "subsystem": struct.unpack_from("<H", data, optional + 68)[0],
        "securityOffset": security_address,
        "securitySizeBytes": security_size,
    }


if __name__ == "__main__":
    with open(sys.argv[1], "rb") as file:
        print(json.dumps(read_headers(file.read())))
