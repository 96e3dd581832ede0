#!/usr/bin/env python3
"""Writes a Lambda deployment zip that is identical byte for byte for identical inputs.

Uses Python's zipfile module (deflate through zlib), not the zip tool: every field that could vary
between builds is fixed here. Entries are sorted by name, each is dated SOURCE_DATE_EPOCH (default
1980-01-01 00:00:00, the earliest date a zip can hold), carries Unix mode 0755 for executables (Lambda
runs `bootstrap` straight from the unpacked zip) or 0644 otherwise, and no extra fields, comments or
directory entries are written. The archive is written to a temporary file and renamed into place.

usage: mkzip.py --out function.zip FILE[=NAME_IN_ZIP] ...   (default name: the file's base name)
"""
import argparse
import os
import sys
import time
import zipfile

MAX_ZIP_BYTES = 1024 * 1024  # issue 6: the deployment zip must stay within 1 MB


def zip_date_time():
    epoch = int(os.environ.get("SOURCE_DATE_EPOCH", "315532800"))
    # zip stores local times with 2-second resolution from 1980 on; clamp and use UTC to stay stable.
    t = time.gmtime(max(epoch, 315532800))
    return (t.tm_year, t.tm_mon, t.tm_mday, t.tm_hour, t.tm_min, t.tm_sec - t.tm_sec % 2)


def parse_entries(specs):
    entries = {}
    for spec in specs:
        path, _, name = spec.partition("=")
        name = name or os.path.basename(path)
        if name in entries:
            sys.exit(f"mkzip: duplicate entry name {name!r}")
        entries[name] = path
    return sorted(entries.items())


def write_zip(out, entries):
    stamp = zip_date_time()
    tmp = out + ".tmp"
    with zipfile.ZipFile(tmp, "w") as zf:
        for name, path in entries:
            with open(path, "rb") as f:
                data = f.read()
            info = zipfile.ZipInfo(name, date_time=stamp)
            info.create_system = 3  # Unix, so external_attr carries the mode bits
            mode = 0o755 if os.access(path, os.X_OK) else 0o644
            info.external_attr = (0o100000 | mode) << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(info, data, compresslevel=9)
    size = os.path.getsize(tmp)
    if size > MAX_ZIP_BYTES:
        os.unlink(tmp)
        sys.exit(f"mkzip: {out} would be {size} bytes, over the {MAX_ZIP_BYTES}-byte budget")
    os.replace(tmp, out)
    return size


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", required=True)
    ap.add_argument("files", nargs="+")
    args = ap.parse_args()
    size = write_zip(args.out, parse_entries(args.files))
    print(f"mkzip: wrote {args.out} ({size} bytes)")


if __name__ == "__main__":
    main()
