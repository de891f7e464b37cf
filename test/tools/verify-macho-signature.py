#!/usr/bin/env python3
"""Check the embedded code signature of a thin 64-bit Mach-O file.

A second implementation for duo-sea's tests: it shares no code with the
signer in src/formats. It recomputes the SHA-256 of every 4 KiB page up to
the code limit and compares each with the CodeDirectory. It also checks the
hash of the requirements blob, that the code limit is the signature's
offset, and that __LINKEDIT covers the signature and ends the file. Structures follow
<mach-o/loader.h> and xnu's osfmk/kern/cs_blobs.h.

Usage: verify-macho-signature.py [--require-adhoc] FILE...
Prints one JSON object per file on stdout. Exits 1 when any file fails,
naming the file and the check on stderr.
"""
import hashlib
import json
import math
import struct
import sys

LC_SEGMENT_64 = 0x19
LC_CODE_SIGNATURE = 0x1D
EMBEDDED_SIGNATURE_MAGIC = 0xFADE0CC0
CODE_DIRECTORY_MAGIC = 0xFADE0C02
REQUIREMENTS_MAGIC = 0xFADE0C01
REQUIREMENTS_SLOT = 2
ADHOC_FLAG = 0x2
SHA256_HASH_TYPE = 2


class CheckFailed(Exception):
    pass


def require(condition, message):
    if not condition:
        raise CheckFailed(message)


def load_commands(data):
    magic, _cpu, _subtype, _filetype, count, size, _flags, _reserved = struct.unpack_from("<IiiIIIII", data, 0)
    require(magic == 0xFEEDFACF, "not a little-endian 64-bit Mach-O file (magic 0x%08x)" % magic)
    position = 32
    for _ in range(count):
        command, command_size = struct.unpack_from("<II", data, position)
        require(command_size >= 8 and position + command_size <= 32 + size, "load command at %d overruns sizeofcmds" % position)
        yield command, position
        position += command_size
    require(position == 32 + size, "sizeofcmds %d does not match the commands" % size)


def read_layout(data):
    segments = {}
    signature = None
    for command, position in load_commands(data):
        if command == LC_SEGMENT_64:
            name = data[position + 8:position + 24].split(b"\0", 1)[0].decode("ascii")
            vmaddr, vmsize, fileoff, filesize = struct.unpack_from("<QQQQ", data, position + 24)
            segments[name] = {"vmaddr": vmaddr, "vmsize": vmsize, "fileoff": fileoff, "filesize": filesize}
        elif command == LC_CODE_SIGNATURE:
            require(signature is None, "two LC_CODE_SIGNATURE commands")
            dataoff, datasize = struct.unpack_from("<II", data, position + 8)
            signature = {"dataoff": dataoff, "datasize": datasize}
    require(signature is not None, "no LC_CODE_SIGNATURE command")
    require("__LINKEDIT" in segments, "no __LINKEDIT segment")
    return segments, signature


def blobs_of(superblob):
    magic, length, count = struct.unpack_from(">III", superblob, 0)
    require(magic == EMBEDDED_SIGNATURE_MAGIC, "signature magic is 0x%08x, not 0xfade0cc0" % magic)
    require(length <= len(superblob), "SuperBlob length %d exceeds datasize %d" % (length, len(superblob)))
    found = {}
    for index in range(count):
        slot, offset = struct.unpack_from(">II", superblob, 12 + 8 * index)
        blob_magic, blob_length = struct.unpack_from(">II", superblob, offset)
        require(offset + blob_length <= length, "blob in slot 0x%x runs past the SuperBlob" % slot)
        found[slot] = (blob_magic, superblob[offset:offset + blob_length])
    return found


def check_file(path, require_adhoc):
    with open(path, "rb") as handle:
        data = handle.read()
    segments, signature = read_layout(data)
    linkedit = segments["__LINKEDIT"]
    dataoff, datasize = signature["dataoff"], signature["datasize"]
    linkedit_end = linkedit["fileoff"] + linkedit["filesize"]
    require(linkedit["fileoff"] <= dataoff and dataoff + datasize <= linkedit_end, "__LINKEDIT [%d, %d) does not cover the signature [%d, %d)" % (linkedit["fileoff"], linkedit_end, dataoff, dataoff + datasize))
    require(linkedit_end == len(data), "__LINKEDIT ends at %d, the file at %d" % (linkedit_end, len(data)))
    require(linkedit["vmsize"] >= linkedit["filesize"], "__LINKEDIT vmsize is smaller than its filesize")

    blobs = blobs_of(data[dataoff:dataoff + datasize])
    require(0 in blobs and blobs[0][0] == CODE_DIRECTORY_MAGIC, "no CodeDirectory in slot 0")
    directory = blobs[0][1]
    (_magic, length, version, flags, hash_offset, ident_offset, special_count, code_count, code_limit,
     hash_size, hash_type, _platform, page_shift) = struct.unpack_from(">IIIIIIIIIBBBB", directory, 0)
    require(hash_type == SHA256_HASH_TYPE and hash_size == 32, "hash type %d with %d-byte hashes is not SHA-256" % (hash_type, hash_size))
    require(page_shift == 12, "page size 2^%d is not 4096" % page_shift)
    require(code_limit == dataoff, "code limit %d is not the signature offset %d" % (code_limit, dataoff))
    page_size = 1 << page_shift
    require(code_count == math.ceil(code_limit / page_size), "%d code slots for a code limit of %d" % (code_count, code_limit))
    if require_adhoc:
        require(flags & ADHOC_FLAG, "CodeDirectory flags 0x%x lack the ad-hoc flag" % flags)

    def stored(slot_index):
        start = hash_offset + slot_index * hash_size
        return directory[start:start + hash_size]

    bad_pages = [page for page in range(code_count)
                 if hashlib.sha256(data[page * page_size:min((page + 1) * page_size, code_limit)]).digest() != stored(page)]
    require(not bad_pages, "%d of %d page hashes differ, first page %d" % (len(bad_pages), code_count, bad_pages[0] if bad_pages else -1))
    if REQUIREMENTS_SLOT in blobs:
        require(blobs[REQUIREMENTS_SLOT][0] == REQUIREMENTS_MAGIC, "slot 2 is not a requirements blob")
        require(special_count >= REQUIREMENTS_SLOT, "the CodeDirectory does not hash the requirements")
        require(hashlib.sha256(blobs[REQUIREMENTS_SLOT][1]).digest() == stored(-REQUIREMENTS_SLOT), "requirements hash differs")

    identifier = directory[ident_offset:directory.index(b"\0", ident_offset)].decode("utf-8")
    exec_segment = struct.unpack_from(">QQQ", directory, 64) if version >= 0x20400 else None
    return {
        "file": path,
        "identifier": identifier,
        "version": "0x%x" % version,
        "flags": "0x%x" % flags,
        "pageCount": code_count,
        "codeLimit": code_limit,
        "signatureOffset": dataoff,
        "signatureSize": datasize,
        "specialSlots": special_count,
        "execSegment": None if exec_segment is None else {"base": exec_segment[0], "limit": exec_segment[1], "flags": exec_segment[2]},
        "cdhash": hashlib.sha256(directory[:length]).hexdigest()[:40],
        "linkedit": linkedit,
        "slots": sorted(blobs),
    }


def main(arguments):
    require_adhoc = "--require-adhoc" in arguments
    paths = [argument for argument in arguments if argument != "--require-adhoc"]
    failed = False
    for path in paths:
        try:
            print(json.dumps(check_file(path, require_adhoc), sort_keys=True))
        except (CheckFailed, struct.error, ValueError, OSError) as error:
            print("%s: %s" % (path, error), file=sys.stderr)
            failed = True
    return 1 if failed or not paths else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
