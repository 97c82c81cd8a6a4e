"""Phase 3 validation benchmark: `validate_file` over N SCIENCE.IMAGE IDPs (issue 5, point 8:
1 000 IDP headers in at most 10 s), against two astropy baselines on the same files in the
same run.

    .venv/bin/python benchmarks/bench_validate_idp.py [--files 1000] [--broken 0.1]
        [--rounds 3] [--keep DIR]

It writes N NACO coadd IDPs (48 x 40 float32 pixels, 64 header cards, CHECKSUM/DATASUM) with
the test builder (tests/phase3_builder.py), each with its own MJD-OBS/MJD-END, and breaks a
fraction of them one way each, in turn: a missing PHOTZP, RA out of range, ABMAGLIM not
fainter than ABMAGSAT, a data byte flipped after writing (CHECKSUM and DATASUM), RA outside
the footprint, MJD-END in the future, a CONTINUE'd OBJECT, no PRODCATG. It warms the page cache,
then in each round times

- **open + headers**: `fits.open` and every HDU's header parsed (the least any validator
  built on astropy does);
- **astropy verify**: `fits.open(checksum=True)` (astropy's own CHECKSUM/DATASUM check) and
  `HDUList.verify()` (FITS standard conformance);
- **validate_file**: the whole Phase 3 rule table,

and reports medians. Afterwards it checks that exactly the broken files have errors. Prints
one JSON line with the figures at the end. No database: the validator reads files only.
"""

import argparse
import json
import statistics
import sys
import tempfile
import time
import warnings
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def _breakages():
    """(name, edit of the HDUList before writing, edit of the written bytes)."""
    def header(keyword, value=None, delete=False):
        def edit(hdul):
            if delete:
                del hdul[0].header[keyword]
            else:
                hdul[0].header[keyword] = value
        return edit

    def flip_data_byte(path):
        from astropy.io import fits

        with fits.open(path) as hdul:
            start = hdul.fileinfo(0)["datLoc"]
        content = bytearray(path.read_bytes())
        content[start + 100] ^= 0xFF
        path.write_bytes(bytes(content))

    now_mjd = time.time() / 86400 + 40587
    return [
        ("missing PHOTZP", header("PHOTZP", delete=True), None),
        ("RA out of range", header("RA", 400.0), None),
        ("ABMAGLIM < ABMAGSAT", header("ABMAGSAT", 25.0), None),
        ("data byte flipped", None, flip_data_byte),
        ("RA outside footprint", header("RA", 253.3), None),
        ("MJD-END in the future", header("MJD-END", now_mjd + 10), None),
        ("CONTINUE'd OBJECT", header("OBJECT", "NGC 6240 " + "merging galaxies " * 5), None),
        ("no PRODCATG", header("PRODCATG", delete=True), None),
    ]


def generate(directory, count, broken_fraction):
    from tests import phase3_builder as builder

    breakages = _breakages()
    every = max(1, round(1 / broken_fraction)) if broken_fraction > 0 else count + 1
    paths, broken = [], {}
    for number in range(count):
        hdul = builder.build("SCIENCE.IMAGE")
        offset = number * 0.01  # one IDP every ~15 minutes
        for keyword in ("MJD-OBS", "MJD-END"):
            hdul[0].header[keyword] += offset
        name, edit, raw = breakages[(number // every) % len(breakages)] \
            if number % every == every - 1 else (None, None, None)
        if edit:
            edit(hdul)
        path = builder.write(hdul, directory / f"NA_SCOA_{number:05d}.fits")
        if raw:
            raw(path)
        if name:
            broken[str(path)] = name
        paths.append(path)
    return paths, broken


def open_headers(paths):
    from astropy.io import fits

    for path in paths:
        with fits.open(path) as hdul:
            for hdu in hdul:
                hdu.header


def astropy_verify(paths):
    from astropy.io import fits

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for path in paths:
            with fits.open(path, checksum=True) as hdul:
                hdul.verify("warn")


def validate_all(paths):
    from processing.phase3 import validate_file

    return [validate_file(path) for path in paths]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=1000)
    parser.add_argument("--broken", type=float, default=0.1, help="fraction of broken files")
    parser.add_argument("--rounds", type=int, default=3, help="rounds; medians are reported")
    parser.add_argument("--keep", help="directory for the generated files (kept)")
    args = parser.parse_args()

    work = Path(args.keep or tempfile.mkdtemp(prefix="phoenix-bench-p3-"))
    work.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    paths, broken = generate(work, args.files, args.broken)
    print(f"generated {len(paths)} files ({len(broken)} broken) in "
          f"{time.perf_counter() - started:.1f} s", file=sys.stderr)
    for path in paths:  # page cache
        path.read_bytes()
    validate_all(paths[:20])  # imports, wcslib and numpy warm

    timings = {"open_headers": [], "astropy_verify": [], "validate_file": []}
    for round_number in range(args.rounds):
        for name, function in (("open_headers", open_headers),
                               ("astropy_verify", astropy_verify),
                               ("validate_file", validate_all)):
            started = time.perf_counter()
            result = function(paths)
            timings[name].append(time.perf_counter() - started)
            if name == "validate_file":
                reports = result
        print(f"round {round_number + 1}: " + ", ".join(
            f"{name} {values[-1]:.2f} s" for name, values in timings.items()), file=sys.stderr)

    rejected = {report.file for report in reports if not report.ok}
    rules = Counter(finding.rule for report in reports for finding in report.findings)
    medians = {name: statistics.median(values) for name, values in timings.items()}
    result = {
        "files": len(paths),
        "broken": len(broken),
        "seconds": {name: round(value, 3) for name, value in medians.items()},
        "ms_per_file": {name: round(1000 * value / len(paths), 2)
                        for name, value in medians.items()},
        "validate_vs_open_headers": round(medians["validate_file"] / medians["open_headers"], 2),
        "validate_vs_astropy_verify": round(
            medians["validate_file"] / medians["astropy_verify"], 2),
        "rounds": {name: [round(value, 3) for value in values] for name, values in timings.items()},
        "rejected": len(rejected),
        "rejected_as_expected": rejected == set(broken),
        "findings_by_rule": dict(sorted(rules.items())),
        "target_met": medians["validate_file"] * 1000 / len(paths) <= 10.0,
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
