"""createAB benchmark: `create_abs` month by month over a year of a busy NACO data pool, at two
sizes in the same run, against a naive association scan (issue 3, point 6).

    .venv/bin/python benchmarks/bench_create_abs.py [--sizes 10000,100000]
        [--database postgres://…/phoenix_bench_abs] [--year 2009] [--seed 1]
        [--rounds 3] [--baseline-abs 150] [--profile] [--keep-database]

For each size it starts from a fresh database (a temporary SQLite file, or on the PostgreSQL
server of --database …/NAME the database NAME_<size>, dropped and re-created), loads the
instances, and writes the headers of N NACO frames straight into the data pool with
bulk_create: about 275 frames a night from 1 January of --year on (10 000 frames are the
year's first five weeks, 100 000 the whole year), with twilight flats, darks for every
setting used, jitter science of ten programmes in several filters, cameras and read-out
modes, standard stars and ~14 % of modes the NACO rules do not reduce (acquisitions,
spectroscopy, polarimetry, coronagraphy, lamp flats). Keywords are those the importer stores
for a simulated NACO frame (~190 keywords, ~5 kB of JSON per frame); no FITS files, the
stored header blob is empty.

It then times `create_abs(NACO, month)` for the twelve months in sequence (COMPLETE_MODE,
calSelector raw2raw, database writes included), and a second pass over the year, which must
replace every AB in place; both --rounds times, alternating the sizes (every AB removed in
between), medians reported. Besides the wall time it reports the process's CPU time (user +
system: on SQLite that includes the database's work, on PostgreSQL not the server's), which
other jobs on a shared machine disturb less. At the largest size it also times the
association of one month (the engine's index: match keys hashed, times sorted and bisected)
against a naive baseline that, for each AB and select, evaluates the select's compiled
condition on every candidate of the full ±(search_days + 1) window; the baseline runs on a
sample of ABs and is extrapolated to the month (said in the output). Prints one JSON line
with the figures at the end. Timings are never test assertions.
"""

import argparse
import contextlib
import cProfile
import hashlib
import io
import json
import os
import pstats
import random
import statistics
import sys
import tempfile
import time
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

TARGET_YEAR_SECONDS = 60.0
TARGET_GROWTH = 12.0
FRAMES_PER_NIGHT = 275


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000",
                        help="frame counts, comma-separated, each in a fresh database")
    parser.add_argument("--frames", type=int, help="one size only (same as --sizes N)")
    parser.add_argument(
        "--database",
        help="postgres://…/NAME of a server where the benchmark may create and drop the "
        "databases NAME_<size> (default: temporary SQLite files); dropped at the end "
        "unless --keep-database",
    )
    parser.add_argument("--year", type=int, default=2009)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--baseline-month", type=int, default=6,
                        help="month of the largest size on which the naive scan is measured")
    parser.add_argument("--baseline-abs", type=int, default=150,
                        help="ABs of that month the naive scan is measured on (extrapolated)")
    parser.add_argument("--rounds", type=int, default=5,
                        help="rounds of both passes per size, alternating the sizes (ABs "
                        "removed in between); medians are reported")
    parser.add_argument("--keep-database", action="store_true",
                        help="leave the databases (or SQLite files) for inspection")
    parser.add_argument("--profile", action="store_true",
                        help="cProfile the first pass of the largest size; top functions on stderr")
    args = parser.parse_args()
    sizes = [args.frames] if args.frames else [int(s) for s in args.sizes.split(",") if s.strip()]

    work = Path(tempfile.mkdtemp(prefix="phoenix-bench-abs-"))
    # Production settings: with DEBUG on, Django would record every SQL statement.
    os.environ["PHOENIX_DEBUG"] = "0"
    os.environ.setdefault("SECRET_KEY", "benchmark-" + "x" * 40)
    os.environ.setdefault("ALLOWED_HOSTS", "localhost")
    os.environ["PHOENIX_LOG_LEVEL"] = "WARNING"
    os.environ["DATABASE_URL"] = args.database or f"sqlite:///{work}/bench.sqlite3"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "phoenix_site.settings")

    import django

    django.setup()
    from django.db import connection

    template = keyword_template(work)
    databases = {size: _use_database(connection, args.database, work, size) for size in sizes}
    runs = {}
    for size in sizes:  # one fresh database per size, filled once
        _use_database(connection, args.database, work, size)
        _fresh_database(connection, args.database)
        runs[size] = SizeRun(size, args, template)
    # Rounds alternate the sizes, so that a slow patch of the machine hits both.
    for round_no in range(args.rounds):
        for size in sizes:
            _use_database(connection, args.database, work, size)
            runs[size].run_round(round_no, profile=args.profile and size == sizes[-1])
    results = []
    for size in sizes:
        _use_database(connection, args.database, work, size)
        results.append(runs[size].figures())
    largest = results[-1]
    months = largest["per_month"]
    month = f"{args.year}-{args.baseline_month:02d}"
    if not any(m["month"] == month and m["abs"] for m in months):
        month = max(months, key=lambda m: m["abs"])["month"]  # the data's busiest
    largest["baseline"] = naive_baseline(args, month)
    version = _database_version(connection)
    if args.keep_database:
        print(f"kept: {', '.join(databases.values())}", file=sys.stderr)
    else:
        for size in sizes:
            _use_database(connection, args.database, work, size)
            _drop_database(connection, args.database)
        work.rmdir()

    result = {
        "database": connection.vendor,
        "database_version": version,
        "cpus": os.cpu_count(),
        "year": args.year,
        "seed": args.seed,
        "sizes": results,
    }
    if len(results) >= 2:
        small, large = results[0], results[-1]
        result["growth"] = {
            "frames_ratio": round(large["frames"] / small["frames"], 2),
            "year_seconds_ratio": round(large["year_seconds"] / small["year_seconds"], 2),
            "ratios_per_round": [round(b / a, 2) for a, b in zip(small["year_seconds_rounds"],
                                                                 large["year_seconds_rounds"])],
            "cpu_ratio": round(large["year_cpu_seconds"] / small["year_cpu_seconds"], 2),
            "cpu_ratios_per_round": [round(b / a, 2) for a, b in zip(
                small["year_cpu_seconds_rounds"], large["year_cpu_seconds_rounds"])],
            "records_ratio": round(large["records_loaded"] / small["records_loaded"], 2),
            "per_record_ratio": round(
                large["microseconds_per_record"] / small["microseconds_per_record"], 2),
            "target_max": TARGET_GROWTH,
        }
    largest = results[-1]
    result["targets"] = {
        "year_seconds": largest["year_seconds"],
        "year_seconds_max": TARGET_YEAR_SECONDS,
        "year_met": largest["year_seconds"] <= TARGET_YEAR_SECONDS,
        "growth_met": (result["growth"]["year_seconds_ratio"] <= TARGET_GROWTH
                       if "growth" in result else None),
    }  # fmt: skip
    _print_report(result)
    print(json.dumps(result))
    return 0


# --- data -----------------------------------------------------------------------------------

#: (type digit, category, number, run, filters, camera, read-out mode, DIT, NDIT, NEXP,
#:  targets): jitter programmes; one template of NEXP frames per filter and OB.
PROGRAMMES = [
    ("0", "D", "0123", "A", ("J", "Ks"), "S27", "HighSensitivity", 20.0, 3, 15,
     ("NGC 6397 F1", "Omega Cen F5", "47 Tuc F3")),
    ("3", "C", "0456", "B", ("Ks",), "S13", "HighDynamic", 5.0, 8, 12,
     ("GC IRS 13E", "M 4 F1", "Orion BN-KL")),
    ("0", "C", "0789", "A", ("H", "Ks"), "S27", "HighDynamic", 10.0, 4, 14,
     ("IRAS 17150-3224", "NGC 6334 I", "IRAS 16594-4656")),
    ("0", "B", "0312", "C", ("H",), "S27", "HighSensitivity", 30.0, 2, 16,
     ("M 83 nucleus", "NGC 253 nucleus", "NGC 2070 R136")),
    ("1", "A", "0555", "A", ("NB_2.17", "Ks"), "S13", "HighDynamic", 10.0, 6, 20,
     ("GC IRS 16", "Sgr A* field", "IRS 7")),
    ("0", "E", "0901", "B", ("L_prime",), "L27", "HighWellDepth", 0.2, 100, 18,
     ("HR 8799", "beta Pic", "HD 95086")),
    ("0", "D", "0744", "A", ("J", "H", "Ks"), "S54", "HighSensitivity", 15.0, 4, 10,
     ("NGC 3603 F2", "Westerlund 1", "Trumpler 14")),
    ("2", "D", "5012", "A", ("Ks",), "S27", "HighDynamic", 2.0, 20, 12,
     ("SN 2009ip", "V838 Mon", "Eta Car")),
    ("0", "C", "0640", "B", ("NB_1.64", "H"), "S13", "HighSensitivity", 30.0, 2, 13,
     ("NGC 7027", "CRL 2688", "Hen 3-1475")),
    ("0", "A", "0388", "A", ("IB_2.24",), "S27", "HighDynamic", 8.0, 5, 20,
     ("Arches", "Quintuplet", "R136 core")),
]
#: Filter → CONICA wheel (the filter's ID goes to INS.OPTIn.ID, the other wheel is empty).
WHEELS = {"J": 5, "H": 5, "NB_1.64": 5, "NB_2.17": 5, "Ks": 6, "L_prime": 6, "IB_2.24": 6}
STANDARD_STARS = ("S294-D", "S055-D", "S426-D", "S875-C", "S234-E", "S813-D")
#: mode → (DPR triple, TPL.ID, filter, camera, read-out, DIT, NDIT, OPTI overrides, run)
SIDE_MODES = {
    "SPECTROSCOPY": (("SCIENCE", "OBJECT", "SPECTRUM"), "NACO_spec_obs_AutoNodOnSlit", "Ks",
                     "S54", "HighSensitivity", 30.0, 2, {"INS.OPTI4.ID": "Grism_SK"},
                     ("0", "C", "0602", "A")),
    "POLARIMETRY": (("SCIENCE", "OBJECT", "POLARIMETRY"), "NACO_pol_obs_GenericOffset", "H",
                    "S27", "HighDynamic", 10.0, 3, {"INS.OPTI4.ID": "Wollaston_45"},
                    ("0", "D", "0891", "B")),
    "CORONAGRAPHY": (("SCIENCE", "OBJECT", "CORONOGRAPHY"), "NACO_coro_obs_Stare", "Ks", "S13",
                     "HighDynamic", 20.0, 3, {"INS.OPTI1.ID": "C_0.7_sep_10"},
                     ("0", "C", "0234", "A")),
}
SIDE_TARGETS = ("HD 100546", "TW Hya", "AU Mic", "HR 4796 A", "OH 231.8+4.2", "HD 181327")
CALIBRATION_RUN = "60.A-9800(D)"
OVERHEAD = {"dark": 4.0, "flat": 45.0, "jitter": 12.0, "std": 10.0, "other": 8.0}
FLAT_SETUP = {"L27": ("HighWellDepth", 0.2, 20)}  # other cameras: HighDynamic, 1 s × 15
DARKS_PER_SETTING = 3
FLAT_FRAMES = 7


def keyword_template(work):
    """The keywords the importer stores for a simulated NACO jitter frame (one night is
    simulated and read): every frame of the benchmark starts from these and overrides the
    keys that vary, so the keyword JSON has the size and shape of the real data pool."""
    from processing.headers import DEFAULT_KEYWORD_PREFIXES, read_header
    from processing.simulation.naco import simulate_nights

    out = work / "template-night"
    manifest = simulate_nights(date(2009, 6, 15), 1, out, seed=1, broken=False)
    entry = next(e for e in manifest.files if e["raw_type"] == "SCIENCE_IMG")
    keywords = dict(read_header(out / entry["path"], DEFAULT_KEYWORD_PREFIXES).keywords)
    for path in sorted(out.rglob("*"), reverse=True):
        path.unlink() if path.is_file() else path.rmdir()
    out.rmdir()
    return keywords


class Night:
    """Frames of one night as RawFrame field dicts, in time order (see the module docstring)."""

    def __init__(self, night, seed, template, obs_ids):
        from processing.conventions import period_of

        self.night = night
        self.rng = random.Random(f"bench-abs/{seed}/{night.isoformat()}")
        self.template = template
        self.period = period_of(night)
        self.obs_ids = obs_ids
        self.frames = []
        self.settings = {}  # (mode, DIT, NDIT, camera) → darks needed

    def run_id(self, digit, category, number, run):
        digits = f"{digit}{self.period:02d}" if self.period < 100 else f"{digit}{self.period}"
        return f"{digits}.{category}-{number}({run})"

    def build(self, per_night):
        rng = self.rng
        base = datetime(self.night.year, self.night.month, self.night.day, tzinfo=timezone.utc)
        clock = base + timedelta(hours=22, minutes=45 + rng.randint(0, 40))  # evening twilight
        programmes = rng.sample(PROGRAMMES, 4)
        optics = list(dict.fromkeys((f, p[5]) for p in programmes for f in p[4]))
        rng.shuffle(optics)
        evening, morning = rng.randint(2, 3), rng.randint(2, 3)
        for index in range(evening):
            clock = self.flats(clock, *optics[index % len(optics)])
        clock += timedelta(minutes=10)

        # The night's OBs: standards and unsupported modes first, jitter science fills up.
        blocks = [("std", None) for _ in range(rng.randint(1, 2))]
        blocks += [("side", rng.choice(sorted(SIDE_MODES))) for _ in range(rng.randint(3, 4))]
        if rng.random() < 0.3:
            blocks.append(("lampflat", None))
        flats = (evening + morning) * FLAT_FRAMES
        expected = flats + sum({"std": 9, "side": 8, "lampflat": 4}[k] for k, _ in blocks)
        science = []
        # A jitter OB adds ~25 frames: stop ~16 frames short of the night's budget.
        while expected + DARKS_PER_SETTING * len(self._settings_of(science)) < per_night - 16:
            programme = rng.choice(programmes)
            science.append(programme)
            expected += 1 + len(programme[4]) * programme[9]
        blocks += [("science", p) for p in science]
        rng.shuffle(blocks)
        for kind, what in blocks:
            clock += timedelta(seconds=rng.randint(180, 480))  # slew, acquisition set-up
            clock = getattr(self, kind)(clock, what)

        clock = max(clock, base + timedelta(hours=33, minutes=30)) + timedelta(minutes=5)
        for index in range(evening, evening + morning):  # morning twilight
            clock = self.flats(clock, *optics[index % len(optics)])
        clock += timedelta(minutes=10)
        for setting in sorted(self.settings):  # the calibration plan's darks, after the night
            clock = self.darks(clock, *setting) + timedelta(seconds=15)
        return self.frames

    @staticmethod
    def _settings_of(science):
        settings = {(p[6], p[7], p[8], p[5]) for p in science}
        settings |= {("HighDynamic", 1.0, 15, "S27"), ("HighDynamic", 0.5, 20, "S27")}
        return settings

    # --- the blocks -----------------------------------------------------------------------

    def science(self, clock, programme):
        digit, category, number, run, filters, camera, mode, dit, ndit, nexp, targets = programme
        target = self.rng.choice(targets)
        block = self._block(self.run_id(digit, category, number, run), target,
                            f"{target.replace(' ', '_')}_{'+'.join(filters)}")  # fmt: skip
        clock = self.acquisition(clock, block, filters[0], camera)
        for tpl_no, filter_name in enumerate(filters, start=2):
            count = max(10, min(20, nexp + self.rng.randint(-2, 2)))
            clock = self.template_frames(
                clock, block, ("SCIENCE", "OBJECT", "IMAGE,JITTER"), "NACO_img_obs_AutoJitter",
                tpl_no, count, filter_name, camera, mode, dit, ndit, "jitter",
            )
            self.settings[(mode, dit, ndit, camera)] = True
        return clock

    def std(self, clock, _):
        star = self.rng.choice(STANDARD_STARS)
        block = self._block(CALIBRATION_RUN, star, f"STD_{star}")
        filters = self.rng.sample(["J", "H", "Ks"], self.rng.randint(1, 2))
        clock = self.acquisition(clock, block, filters[0], "S27")
        for tpl_no, filter_name in enumerate(filters, start=2):
            clock = self.template_frames(
                clock, block, ("CALIB", "STD", "IMAGE,JITTER"), "NACO_img_cal_StandardStar",
                tpl_no, 5, filter_name, "S27", "HighDynamic", 0.5, 20, "std",
            )
        self.settings[("HighDynamic", 0.5, 20, "S27")] = True
        return clock

    def side(self, clock, mode):
        dpr, tpl_id, filter_name, camera, readout, dit, ndit, optics, run = SIDE_MODES[mode]
        target = self.rng.choice(SIDE_TARGETS)
        block = self._block(self.run_id(*run), target, f"{target.replace(' ', '_')}_{mode}")
        clock = self.acquisition(clock, block, filter_name, camera)
        count = self.rng.randint(4, 10)
        return self.template_frames(clock, block, dpr, tpl_id, 2, count, filter_name, camera,
                                    readout, dit, ndit, "other", optics)  # fmt: skip

    def lampflat(self, clock, _):
        block = self._block(CALIBRATION_RUN, "", "CAL_LampFlat")
        filter_name = self.rng.choice(["J", "H", "Ks"])
        return self.template_frames(clock, block, ("CALIB", "FLAT,LAMP", "IMAGE"),
                                    "NACO_img_cal_LampFlats", 1, 4, filter_name, "S27",
                                    "HighDynamic", 0.5, 10, "other")  # fmt: skip

    def acquisition(self, clock, block, filter_name, camera):
        return self.template_frames(clock, block, ("ACQUISITION", "OBJECT", "IMAGE"),
                                    "NACO_img_acq_MoveToPixel", 1, 1, filter_name, camera,
                                    "HighDynamic", 2.0, 5, "other")  # fmt: skip

    def flats(self, clock, filter_name, camera):
        mode, dit, ndit = FLAT_SETUP.get(camera, ("HighDynamic", 1.0, 15))
        block = self._block(CALIBRATION_RUN, "", f"CAL_TwFlat_{filter_name}")
        self.settings[(mode, dit, ndit, camera)] = True
        return self.template_frames(clock, block, ("CALIB", "FLAT,SKY", "IMAGE"),
                                    "NACO_img_cal_SkyFlats", 1, FLAT_FRAMES, filter_name, camera,
                                    mode, dit, ndit, "flat")  # fmt: skip

    def darks(self, clock, mode, dit, ndit, camera):
        block = self._block(CALIBRATION_RUN, "", "CAL_Darks")
        return self.template_frames(clock, block, ("CALIB", "DARK", "IMAGE"),
                                    "NACO_img_cal_Darks", 1, DARKS_PER_SETTING, None, camera,
                                    mode, dit, ndit, "dark", {"INS.OPTI6.ID": "Dark"})  # fmt: skip

    # --- frames ---------------------------------------------------------------------------

    def _block(self, prog_id, target, name):
        self.obs_ids[0] += 17
        return {"OBS.ID": self.obs_ids[0], "OBS.PROG.ID": prog_id, "OBS.TARG.NAME": target,
                "OBS.NAME": name[:32]}  # fmt: skip

    def template_frames(self, clock, block, dpr, tpl_id, tpl_no, count, filter_name, camera,
                        mode, dit, ndit, kind, optics=None):
        tpl_start = clock.strftime("%Y-%m-%dT%H:%M:%S")
        clock += timedelta(seconds=self.rng.uniform(3, 20))
        exptime = round(dit * ndit, 4)
        wheel = WHEELS.get(filter_name)
        setup = {
            "INS.OPTI4.ID": "empty", "INS.OPTI1.ID": "empty",
            "INS.OPTI5.ID": filter_name if wheel == 5 else "empty",
            "INS.OPTI6.ID": filter_name if wheel == 6 else "empty",
            "INS.OPTI7.ID": camera, "INS.OPTI7.NAME": camera,
            "DET.DIT": dit, "DET.NDIT": ndit, "DET.MODE.NAME": mode,
        }  # fmt: skip
        setup.update(optics or {})
        for name in ("INS.OPTI1", "INS.OPTI4", "INS.OPTI5", "INS.OPTI6"):
            setup[f"{name}.NAME"] = setup[f"{name}.ID"]
        calibration = dpr[0] == "CALIB" and kind != "std"
        for expno in range(1, count + 1):
            self.frames.append(self._frame(clock, block, dpr, tpl_id, tpl_start, tpl_no, expno,
                                           count, setup, exptime, calibration))  # fmt: skip
            clock += timedelta(seconds=exptime + OVERHEAD[kind] + self.rng.uniform(0, 3))
        return clock

    def _frame(self, moment, block, dpr, tpl_id, tpl_start, tpl_no, expno, nexp, setup,
               exptime, calibration):
        from processing.conventions import datetime_to_mjd, make_arcfile, night_of, parse_run_id

        moment = moment.replace(microsecond=(moment.microsecond // 1000) * 1000)
        arcfile = make_arcfile("NACO", moment)
        mjd = round(datetime_to_mjd(moment), 8)
        date_obs = moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}"
        target = block["OBS.TARG.NAME"]
        obj = dpr[1] if calibration else (target or dpr[1])
        keywords = dict(self.template)
        keywords.update(setup)
        keywords.update(block)
        keywords.update({
            "ARCFILE": arcfile, "ORIGFILE": f"NACO_{arcfile[5:24].replace(':', '_')}.fits",
            "MJD-OBS": mjd, "DATE-OBS": date_obs, "DATE": date_obs[:19], "EXPTIME": exptime,
            "OBJECT": obj, "DPR.CATG": dpr[0], "DPR.TYPE": dpr[1], "DPR.TECH": dpr[2],
            "TPL.ID": tpl_id, "TPL.START": tpl_start, "TPL.NEXP": nexp, "TPL.EXPNO": expno,
            "OBS.TPLNO": tpl_no,
        })  # fmt: skip
        prog_id = block["OBS.PROG.ID"]
        return {
            "arcfile": arcfile,
            "instrument": "NACO",
            "origfile": keywords["ORIGFILE"],
            "path": None,
            "header_path": "",
            "night": night_of(moment, 0.0),
            "mjd_obs": mjd,
            "date_obs": moment,
            "exptime": exptime,
            "object": obj,
            "dpr_catg": dpr[0],
            "dpr_type": dpr[1],
            "dpr_tech": dpr[2],
            "prog_id": prog_id,
            "run_id": parse_run_id(prog_id).run_id or "",
            "obs_id": block["OBS.ID"],
            "obs_name": block["OBS.NAME"],
            "tpl_id": tpl_id,
            "tpl_start": tpl_start,
            "keywords": keywords,
            "header": b"",
            "header_digest": hashlib.sha1(arcfile.encode()).hexdigest(),
            "warnings": [],
        }


def generate(frames_wanted, year, seed, template):
    """Yield RawFrame field dicts night by night from 1 January until `frames_wanted`."""
    night = date(year, 1, 1)
    obs_ids = [200000000 + seed * 1000]
    made = 0
    while made < frames_wanted:
        frames = Night(night, seed, template, obs_ids).build(FRAMES_PER_NIGHT)
        frames = frames[: frames_wanted - made]
        made += len(frames)
        yield night, frames
        night += timedelta(days=1)


def insert_frames(frames_wanted, year, seed, template):
    from django.db import transaction

    from processing.data_pool.writer import register_runs, update_run_nights
    from processing.models import Instance, Product, RawFrame

    started = time.perf_counter()
    nights, mix, run_ids, batch = 0, {}, set(), []
    for _night, frames in generate(frames_wanted, year, seed, template):
        nights += 1
        for fields in frames:
            key = "/".join((fields["dpr_catg"], fields["dpr_type"], fields["dpr_tech"]))
            mix[key] = mix.get(key, 0) + 1
            run_ids.add(fields["run_id"])
            batch.append(RawFrame(**fields))
        if len(batch) >= 5000:
            with transaction.atomic():
                RawFrame.objects.bulk_create(batch, batch_size=1000)
            batch = []
    with transaction.atomic():
        RawFrame.objects.bulk_create(batch, batch_size=1000)
        register_runs(run_ids - {""})
        update_run_nights(run_ids - {""})
        # The static catalogue the standard-star rule needs (operators install it once).
        Product.objects.create(
            instance=Instance.objects.get(name="NACO"), name="NACO_IMG_STD_CATALOG.fits",
            path="static/NACO_IMG_STD_CATALOG.fits", pro_catg="IMG_STD_CATALOG", kind="static",
            state="certified", keywords={"PRO.CATG": "IMG_STD_CATALOG"},
        )  # fmt: skip
    seconds = time.perf_counter() - started
    supported = {"CALIB/DARK/IMAGE", "CALIB/FLAT,SKY/IMAGE", "SCIENCE/OBJECT/IMAGE,JITTER",
                 "CALIB/STD/IMAGE,JITTER"}  # fmt: skip
    total = sum(mix.values())
    unsupported = sum(n for k, n in mix.items() if k not in supported)
    return {
        "frames": total,
        "nights": nights,
        "frames_per_night": round(total / nights, 1),
        "insert_seconds": round(seconds, 1),
        "dpr_mix": dict(sorted(mix.items())),
        "unsupported_fraction": round(unsupported / total, 3),
    }


# --- the measurement ------------------------------------------------------------------------


class SizeRun:
    """One size: its data (inserted once, in its own database), then rounds of both passes."""

    def __init__(self, size, args, template):
        from django.core.management import call_command
        from django.db import connection

        from processing.abs.scope import Scope
        from processing.models import Instance

        call_command("load_instances", stdout=open(os.devnull, "w"))
        self.instance = Instance.objects.get(name="NACO")
        self.data = insert_frames(size, args.year, args.seed, template)
        _analyze(connection)
        print(f"{size} frames: {self.data['nights']} nights inserted in "
              f"{self.data['insert_seconds']} s", file=sys.stderr)  # fmt: skip
        self.size = size
        self.months = [Scope.for_month(f"{args.year}-{m:02d}") for m in range(1, 13)]
        self.first_times, self.second_times, self.first_cpu = [], [], []

    def year_pass(self, profiler=None, dangling=None):
        from processing.abs.create import create_abs
        from processing.models import AbCalibration

        figures = []
        for scope in self.months:
            if profiler:
                profiler.enable()
            started, cpu_started = time.perf_counter(), time.process_time()
            result = create_abs(self.instance, scope)
            seconds = time.perf_counter() - started
            cpu_seconds = time.process_time() - cpu_started
            if profiler:
                profiler.disable()
            figures.append({
                "month": scope.value, "seconds": round(seconds, 2),
                "cpu_seconds": round(cpu_seconds, 2), "abs": len(result.plan.abs),
                "created": len(result.created), "updated": len(result.updated),
                "removed": len(result.removed), "kept_processed": len(result.unchanged_processed),
                "frames_loaded": result.loading["frames"],
                "nights_around": result.loading["nights_around"],
                "plans": result.loading["plans"],
            })  # fmt: skip
            if dangling is not None:  # virtual calibrations whose source AB was removed
                dangling.append(AbCalibration.objects.filter(
                    kind="virtual", source_ab__isnull=True).count())  # fmt: skip
            print(f"  {scope.value}: {seconds:6.2f} s, {len(result.plan.abs)} ABs, "
                  f"{result.loading['frames']} frames loaded ({result.loading['nights_around']} "
                  f"nights around)", file=sys.stderr)  # fmt: skip
        return figures

    def run_round(self, round_no, profile=False):
        """Both passes; round 0 runs on the fresh database and is the one inspected (counts,
        re-creation identical); later rounds first remove every AB."""
        from processing.models import AbCalibration, AbInput, AssociationBlock

        if round_no:
            _remove_abs()
        print(f"{self.size} frames, round {round_no + 1}, first pass:", file=sys.stderr)
        profiler = cProfile.Profile() if profile and not round_no else None
        first = self.year_pass(profiler)
        if profiler:
            _print_profile(profiler)
        self.first_times.append(round(sum(m["seconds"] for m in first), 2))
        self.first_cpu.append(round(sum(m["cpu_seconds"] for m in first), 2))
        if not round_no:
            self.first_months = first
            self.counts = {
                "abs": AssociationBlock.objects.count(),
                "calib_abs": AssociationBlock.objects.filter(category="CALIB").count(),
                "science_abs": AssociationBlock.objects.filter(category="SCIENCE").count(),
                "incomplete_abs": AssociationBlock.objects.filter(
                    completeness="INCOMPLETE").count(),
                "inputs": AbInput.objects.count(),
                "calibrations": AbCalibration.objects.count(),
                "virtual_calibrations_without_source": AbCalibration.objects.filter(
                    kind="virtual", source_ab__isnull=True).count(),
            }  # fmt: skip
            self.before = _snapshot()
        print(f"{self.size} frames, round {round_no + 1}, second pass (re-creation):",
              file=sys.stderr)  # fmt: skip
        dangling = []
        second = self.year_pass(dangling=dangling)
        self.second_times.append(round(sum(m["seconds"] for m in second), 2))
        if not round_no:
            self.second_months, self.second_dangling = second, max(dangling)
            self.after = _snapshot()

    def records_in_full_window(self):
        """Frames the twelve calls would load with the full window (as create_abs did before
        it loaded a few nights and widened): each month's own and the calibration frames
        within search_days + 1 around it."""
        from processing.models import RawFrame

        days = self.instance.config.get("association", {}).get("search_days", 60)
        margin = timedelta(days=days + 1)
        pool = RawFrame.objects.filter(instrument=self.instance.instrument, hidden=False)
        total = 0
        for scope in self.months:
            total += pool.filter(night__range=(scope.first, scope.last)).count()
            total += (pool.filter(night__range=(scope.first - margin, scope.last + margin))
                      .exclude(dpr_catg="SCIENCE")
                      .exclude(night__range=(scope.first, scope.last)).count())  # fmt: skip
        return total

    def figures(self):
        before, after, second = self.before, self.after, self.second_months
        same_names = before.keys() == after.keys()
        records = sum(m["frames_loaded"] for m in self.first_months)
        year_seconds = statistics.median(self.first_times)
        return {
            **self.data,
            "records_loaded": records,
            "records_in_full_window": self.records_in_full_window(),
            "microseconds_per_record": round(year_seconds / records * 1e6, 1),
            "per_month": self.first_months,
            "year_seconds": year_seconds,
            "year_seconds_rounds": self.first_times,
            "year_cpu_seconds": round(statistics.median(self.first_cpu), 2),
            "year_cpu_seconds_rounds": self.first_cpu,
            "slowest_month_seconds": max(m["seconds"] for m in self.first_months),
            **{f"{k}_written": v for k, v in self.counts.items()},
            "second_pass": {
                "per_month": [
                    {k: m[k] for k in ("month", "seconds", "created", "updated", "removed")}
                    for m in second
                ],
                "year_seconds": statistics.median(self.second_times),
                "year_seconds_rounds": self.second_times,
                "created": sum(m["created"] for m in second),
                "updated": sum(m["updated"] for m in second),
                "removed": sum(m["removed"] for m in second),
                "same_ab_names": same_names,
                "same_content": same_names
                and all(before[n][1:] == after[n][1:] for n in before),
                "same_ids": sum(before[n][0] == after[n][0] for n in before if n in after),
                "abs_after": len(after),
                "virtual_calibrations_without_source_max": self.second_dangling,
            },
        }


def _remove_abs():
    """Every AB, its inputs, calibrations, links and batches (the frames stay)."""
    from django.db import connection

    from processing.models import AbCalibration, AbInput, AssociationBlock, Batch

    AbCalibration.objects.all().delete()
    AbInput.objects.all().delete()
    AssociationBlock.depends_on.through.objects.all().delete()
    AssociationBlock.objects.all().delete()
    Batch.objects.all().delete()
    _analyze(connection)


def _analyze(connection):
    """PostgreSQL: planner statistics and no dead rows, as autovacuum would leave them soon
    after a bulk load (it could otherwise start in the middle of a timed pass)."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE")


def _snapshot():
    """{AB name: (id, qualifiers, inputs, calibrations)} of every AB, ids aside comparable."""
    from processing.models import AbCalibration, AbInput, AssociationBlock

    names = dict(AssociationBlock.objects.values_list("id", "ab_name"))
    inputs, calibrations = {}, {}
    for ab_id, frame_id, position in AbInput.objects.values_list("ab_id", "frame_id", "position"):
        inputs.setdefault(ab_id, []).append((position, frame_id))
    for row in AbCalibration.objects.values_list("ab_id", "position", "tag", "name", "level",
                                                 "source_ab_id", "frame_id", "product_id"):
        ab_id, position, tag, name, level, source, frame, product = row
        calibrations.setdefault(ab_id, []).append(
            (position, tag, name, level, names.get(source), frame, product))
    snapshot = {}
    for ab_id, name, completeness, level, virtual in AssociationBlock.objects.values_list(
            "id", "ab_name", "completeness", "quality_level", "virtual"):
        snapshot[name] = (ab_id, completeness, level, virtual,
                          sorted(inputs.get(ab_id, [])), sorted(calibrations.get(ab_id, [])))
    return snapshot


def naive_baseline(args, month):
    """One month's association: the engine's index against a scan of every candidate."""
    from processing.abs import create, engine
    from processing.abs.rules import ruleset_of
    from processing.abs.scope import Scope
    from processing.models import Instance
    from processing.oca.evaluate import compile_condition

    instance = Instance.objects.get(name="NACO")
    scope = Scope.for_month(month)
    ruleset = ruleset_of(instance)
    settings = create._settings(instance, None, None)
    loaded = create._Loaded(instance, scope, ruleset, settings)
    loaded.widen(loaded.full)  # every candidate of the window, classified as loaded
    frames = loaded.frames
    planned, _used = engine.organise(ruleset, frames, loaded.in_scope)
    virtuals = engine.virtual_records([ab for ab in planned if ab.category == "CALIB"])

    # The engine: every select of every planned AB through the index (as plan_abs does).
    associator = engine.Associator(settings, loaded.masters, virtuals, frames)
    started = time.perf_counter()
    for ab in planned:
        associator.associate(ab)
    index_seconds = time.perf_counter() - started

    # The baseline: for each AB and select, the compiled condition on every candidate.
    sources = {"raw": frames, "virtual": virtuals, "master": loaded.masters}
    compiled = {}
    sample = random.Random(args.seed).sample(planned, min(args.baseline_abs, len(planned)))
    evaluations = matches = 0
    started = time.perf_counter()
    for ab in sample:
        if ab.action is None:
            continue
        primary = ab.primary.values
        for select in ab.action.selects:
            test = compiled.get(id(select))
            if test is None:
                test = compiled[id(select)] = compile_condition(select.condition)
            source = "raw" if select.source == "inputFiles" else "virtual"
            for candidate in sources[source]:
                evaluations += 1
                if test(candidate.values, primary):
                    matches += 1
    sample_seconds = time.perf_counter() - started
    naive_seconds = sample_seconds / max(len(sample), 1) * len(planned)
    return {
        "month": scope.value,
        "planned_abs": len(planned),
        "candidate_frames": len(frames),
        "candidate_virtual_products": len(virtuals),
        "index_association_seconds": round(index_seconds, 3),
        "naive_sample_abs": len(sample),
        "naive_sample_seconds": round(sample_seconds, 2),
        "naive_sample_condition_evaluations": evaluations,
        "naive_sample_matches": matches,
        "naive_month_seconds_extrapolated": round(naive_seconds, 1),
        "naive_over_index": round(naive_seconds / index_seconds, 1) if index_seconds else None,
    }


# --- reporting and databases ----------------------------------------------------------------


def _print_profile(profiler):
    stream = io.StringIO()
    stats = pstats.Stats(profiler, stream=stream)
    stats.sort_stats("tottime").print_stats(30)
    stats.sort_stats("cumulative").print_stats(45)
    print(stream.getvalue(), file=sys.stderr)


def _print_report(result):
    print(f"createAB benchmark, {result['database']} {result['database_version']}, "
          f"{result['cpus']} CPUs, year {result['year']}, seed {result['seed']}")  # fmt: skip
    for size in result["sizes"]:
        second = size["second_pass"]
        dangling = second["virtual_calibrations_without_source_max"]
        print(
            f"  {size['frames']} frames ({size['nights']} nights, "
            f"{size['frames_per_night']}/night, "
            f"{size['unsupported_fraction']:.0%} unsupported modes), inserted in "
            f"{size['insert_seconds']} s\n"
            f"    create_abs, 12 months : {size['year_seconds']:7.2f} s (median of "
            f"{size['year_seconds_rounds']}; slowest month {size['slowest_month_seconds']} s; "
            f"CPU {size['year_cpu_seconds']} s of {size['year_cpu_seconds_rounds']}): "
            f"{size['abs_written']} ABs "
            f"({size['calib_abs_written']} CALIB, {size['science_abs_written']} SCIENCE, "
            f"{size['incomplete_abs_written']} incomplete), {size['inputs_written']} inputs, "
            f"{size['calibrations_written']} calibrations; {size['records_loaded']} records "
            f"loaded ({size['records_in_full_window']} in the full window), "
            f"{size['microseconds_per_record']} µs each\n"
            f"    second pass           : {second['year_seconds']:7.2f} s (median of "
            f"{second['year_seconds_rounds']}): {second['updated']} "
            f"updated, {second['created']} created, {second['removed']} removed; same ABs and "
            f"content: {second['same_content']}, ids kept: "
            f"{second['same_ids']}/{size['abs_written']}; virtual calibrations left without "
            f"their source AB between months: up to {dangling}"
        )
        baseline = size.get("baseline")
        if baseline:
            print(
                f"    association of {baseline['month']} ({baseline['planned_abs']} ABs, "
                f"{baseline['candidate_frames']} frames, {baseline['candidate_virtual_products']} "
                f"virtual products): index {baseline['index_association_seconds']} s; naive scan "
                f"{baseline['naive_month_seconds_extrapolated']} s (measured on "
                f"{baseline['naive_sample_abs']} ABs in {baseline['naive_sample_seconds']} s, "
                f"extrapolated), {baseline['naive_over_index']}× slower"
            )
    if "growth" in result:
        growth = result["growth"]
        print(f"  growth {growth['frames_ratio']}× frames → {growth['year_seconds_ratio']}× time "
              f"(target ≤ {growth['target_max']}×; per round {growth['ratios_per_round']}), "
              f"{growth['cpu_ratio']}× CPU time (per round {growth['cpu_ratios_per_round']}); "
              f"the twelve calls load {growth['records_ratio']}× the records (calibrations "
              f"around each month), time per record {growth['per_record_ratio']}×")  # fmt: skip
    targets = result["targets"]
    print(f"  targets: year ≤ {TARGET_YEAR_SECONDS:.0f} s: {targets['year_met']}; "
          f"growth ≤ {TARGET_GROWTH:.0f}×: {targets['growth_met']}")  # fmt: skip


def _database_version(connection):
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SHOW server_version")
        else:
            cursor.execute("SELECT sqlite_version()")
        return cursor.fetchone()[0].split()[0]


def _use_database(connection, url, work, size):
    """Point Django at the database of `size` (the next query connects to it); its name."""
    connection.close()
    if url:
        import dj_database_url

        name = f"{dj_database_url.parse(url)['NAME']}_{size}"
    else:
        name = str(work / f"bench-{size}.sqlite3")
    connection.settings_dict["NAME"] = name
    return name


def _fresh_database(connection, url):
    """An empty, migrated database: on PostgreSQL dropped and re-created, the SQLite file
    (and its WAL) removed."""
    from django.core.management import call_command

    connection.close()
    if url:
        with _postgres_server(url) as server:
            name = connection.settings_dict["NAME"]
            server.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            server.execute(f'CREATE DATABASE "{name}"')
    else:
        _remove_sqlite(connection)
    call_command("migrate", verbosity=0)


def _drop_database(connection, url):
    connection.close()
    if url:
        with _postgres_server(url) as server:
            name = connection.settings_dict["NAME"]
            server.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    else:
        _remove_sqlite(connection)


@contextlib.contextmanager
def _postgres_server(url):
    """A connection to the server's `postgres` database."""
    import dj_database_url
    import psycopg

    config = dj_database_url.parse(url)
    with psycopg.connect(dbname="postgres", user=config["USER"] or None,
                         password=config["PASSWORD"] or None, host=config["HOST"] or None,
                         port=config["PORT"] or None, autocommit=True) as server:  # fmt: skip
        yield server


def _remove_sqlite(connection):
    connection.close()
    name = str(connection.settings_dict["NAME"])
    for suffix in ("", "-wal", "-shm", "-journal"):
        Path(name + suffix).unlink(missing_ok=True)


if __name__ == "__main__":
    sys.exit(main())
