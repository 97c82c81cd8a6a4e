"""The NACO raw-frame simulator and its management command.

Real files only: the simulator writes into tmp directories; every frame is opened with
astropy (checksums verified, warnings as errors) and with Phoenix's own header reader.
"""

import hashlib
import io
import json
import re
import time
import warnings
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import numpy as np
import pytest
from astropy.io import fits
from django.core.management import CommandError, call_command

from processing.conventions import make_arcfile, night_of_mjd, parse_date_obs
from processing.headers import HeaderError, read_header
from processing.simulation import MANIFEST, simulate_nights

START = date(2009, 6, 15)
NIGHTS = 3

#: The intended classification of NACO raw frames by their DPR keys (CATG, TYPE, TECH).
#: Anything else is UNSUPPORTED.
CLASSIFICATION = {
    ("CALIB", "DARK", "IMAGE"): "DARK",
    ("CALIB", "FLAT,SKY", "IMAGE"): "FLAT_SKY",
    ("SCIENCE", "OBJECT", "IMAGE,JITTER"): "SCIENCE_IMG",
    ("CALIB", "STD", "IMAGE,JITTER"): "STD_IMG",
}
BROKEN_KINDS = ("truncated", "not_fits", "nan_card", "no_arcfile", "long_card_hdr")


def digests(root):
    return {
        path.relative_to(root).as_posix(): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(root.rglob("*"))
        if path.is_file()
    }


@pytest.fixture(scope="module")
def simulated(tmp_path_factory):
    out = tmp_path_factory.mktemp("seed1")
    began = time.perf_counter()
    manifest = simulate_nights(START, NIGHTS, out, seed=1)
    return out, manifest, time.perf_counter() - began


@pytest.fixture(scope="module")
def entries(simulated):
    out, _, _ = simulated
    return json.loads((out / MANIFEST).read_text())["files"]


@pytest.fixture(scope="module")
def manifest_json(simulated):
    out, _, _ = simulated
    return json.loads((out / MANIFEST).read_text())


def readable(entries):
    """Entries of files that are supposed to be valid FITS."""
    return [e for e in entries if not e["broken"]]


def median3(image):
    """3×3 median filter (hot and dead pixels out, stars kept)."""
    padded = np.pad(image, 1, mode="edge")
    shifted = [padded[1 + dy : padded.shape[0] - 1 + dy, 1 + dx : padded.shape[1] - 1 + dx]
               for dy in (-1, 0, 1) for dx in (-1, 0, 1)]
    return np.median(shifted, axis=0)


def header_value(header, oca):
    return header[oca] if oca in header else header["HIERARCH ESO " + oca.replace(".", " ")]


# --- determinism and speed ---------------------------------------------------------------


def test_three_nights_are_fast(simulated):
    _, manifest, seconds = simulated
    assert len(manifest.nights) == NIGHTS
    assert seconds < 30, f"simulating {NIGHTS} nights took {seconds:.1f} s"


def test_same_seed_gives_byte_identical_files(simulated, tmp_path):
    out, _, _ = simulated
    simulate_nights(START, NIGHTS, tmp_path, seed=1)
    first, second = digests(out), digests(tmp_path)
    assert first.keys() == second.keys()
    different = [name for name in first if first[name] != second[name]]
    assert different == []


def test_different_seed_gives_different_data(simulated, tmp_path):
    out, manifest, _ = simulated
    other = simulate_nights(START, 1, tmp_path, seed=2)
    ours = {e["arcfile"]: e for e in manifest.files if e["night"] == START.isoformat()}
    theirs = {e["arcfile"]: e for e in other.files}
    assert ours.keys() != theirs.keys()  # the plan (times, offsets) depends on the seed
    seed1 = {hashlib.sha256((out / e["path"]).read_bytes()).hexdigest() for e in ours.values()}
    seed2 = {hashlib.sha256((tmp_path / e["path"]).read_bytes()).hexdigest()
             for e in theirs.values()}
    assert seed1.isdisjoint(seed2)
    dark1 = next(e for e in ours.values() if e["raw_type"] == "DARK" and not e["broken"])
    dark2 = next(e for e in theirs.values()
                 if e["raw_type"] == "DARK" and e["setup"] == dark1["setup"])
    assert not np.array_equal(fits.getdata(out / dark1["path"]),
                              fits.getdata(tmp_path / dark2["path"]))


# --- files and manifest ------------------------------------------------------------------


def test_manifest_lists_every_file_written(simulated, entries):
    out, _, _ = simulated
    on_disk = {p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()}
    assert on_disk - {MANIFEST} == {e["path"] for e in entries}
    arcfiles = [e["arcfile"] for e in entries]
    assert len(arcfiles) == len(set(arcfiles)), "two frames share an ARCFILE"
    for entry in entries:
        assert Path(entry["path"]).parent.name == entry["night"]
        if entry["path"].endswith(".fits"):
            assert Path(entry["path"]).name == entry["arcfile"]


def test_every_night_has_every_kind_of_frame(entries):
    for index in range(NIGHTS):
        night = (START + timedelta(days=index)).isoformat()
        kinds = {e["raw_type"] for e in entries if e["night"] == night and not e["broken"]}
        assert kinds == {"DARK", "FLAT_SKY", "SCIENCE_IMG", "STD_IMG", "UNSUPPORTED"}
        modes = {e["mode"] for e in entries if e["night"] == night and e["mode"]}
        assert {"ACQUISITION", "LAMP_FLAT"} <= modes and len(modes) >= 4


def test_every_frame_opens_cleanly_and_the_header_reader_agrees_with_astropy(simulated, entries):
    out, _, _ = simulated
    for entry in readable(entries):
        path = out / entry["path"]
        read = read_header(path)
        assert read.warnings == [], (entry["path"], read.warnings)
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            with fits.open(path, checksum=True) as hdul:
                hdul.verify("exception")
                header = hdul[0].header
                assert hdul[0].data.shape == (256, 256)
                assert header["BITPIX"] == -32
        assert len(read.cards) > 200
        for name, value in read.keywords.items():
            assert header_value(header, name) == value, (entry["path"], name)
        categories = {card.split()[2] for card in read.cards if card.startswith("HIERARCH ESO")}
        assert {"TEL", "ADA", "AOS", "OCS", "INS", "DET", "DPR", "OBS", "TPL", "SEQ"} <= categories


def test_headers_carry_what_the_recipes_and_rules_read(simulated, entries):
    out, _, _ = simulated
    required = (
        "DPR.CATG", "DPR.TYPE", "DPR.TECH", "DET.DIT", "DET.NDIT", "DET.NCORRS",
        "DET.NCORRS.NAME", "DET.MODE.NAME", "INS.OPTI4.ID", "INS.OPTI5.ID", "INS.OPTI6.ID",
        "INS.OPTI7.NAME", "INS.PIXSCALE", "INS.CWLEN", "TPL.ID", "TPL.START", "TPL.EXPNO",
        "TPL.NEXP", "OBS.PROG.ID", "OBS.ID", "OBS.NAME", "SEQ.CUMOFFSETX", "SEQ.CUMOFFSETY",
        "ARCFILE", "ORIGFILE", "MJD-OBS", "DATE-OBS", "EXPTIME", "INSTRUME", "TELESCOP",
        "RA", "DEC", "OBJECT", "PI-COI", "OBSERVER",
    )
    for entry in readable(entries):
        read = read_header(out / entry["path"])
        header = fits.getheader(out / entry["path"])
        missing = [key for key in required if key not in read.keywords]
        assert missing == [], (entry["path"], missing)
        assert read.keywords["INSTRUME"] == "NAOS+CONICA"
        assert read.keywords["TELESCOP"] == "ESO-VLT-U4"
        assert read.keywords["ARCFILE"] == entry["arcfile"]
        assert read.keywords["EXPTIME"] == pytest.approx(
            read.keywords["DET.DIT"] * read.keywords["DET.NDIT"])
        assert read.keywords["OBS.PROG.ID"] == entry["run_id"]
        for key in ("TEL AIRM START", "TEL AIRM END"):
            assert 1.0 <= header["HIERARCH ESO " + key] < 3.0
        setup = entry["setup"]
        assert read.keywords["DET.DIT"] == setup["dit"]
        assert read.keywords["DET.NCORRS.NAME"] == setup["readout"]
        assert read.keywords["INS.OPTI7.NAME"] == setup["camera"]
        if setup["filter"]:
            filters = {read.keywords[f"INS.OPTI{n}.ID"] for n in (4, 5, 6)}
            assert setup["filter"] in filters


def test_run_ids_are_valid_for_the_period(entries):
    from processing.conventions import parse_run_id, period_of

    for entry in entries:
        run = parse_run_id(entry["run_id"])
        assert run.run is not None
        if not entry["run_id"].startswith("60."):
            assert run.period == period_of(date.fromisoformat(entry["night"]))


def test_each_frame_is_in_the_directory_of_its_night(simulated, entries):
    out, _, _ = simulated
    for entry in readable(entries):
        read = read_header(out / entry["path"])
        night = night_of_mjd(read.keywords["MJD-OBS"]).isoformat()
        assert night == entry["night"] == Path(entry["path"]).parent.name
        started = parse_date_obs(read.keywords["DATE-OBS"])
        assert make_arcfile("NACO", started) == entry["arcfile"]


def test_times_follow_a_night_at_paranal(entries):
    by_night = {}
    for entry in entries:
        by_night.setdefault(entry["night"], []).append(entry)
    for night, frames in by_night.items():
        day = date.fromisoformat(night)
        evening = datetime(day.year, day.month, day.day, 12, tzinfo=timezone.utc)
        frames.sort(key=lambda e: e["arcfile"])
        for entry in frames:
            started = parse_date_obs(entry["arcfile"][5:-5])
            hours = (started - evening).total_seconds() / 3600  # hours after 12:00 UT
            if entry["raw_type"] == "DARK":
                assert 22.5 < hours < 24, entry["arcfile"]  # the morning after, before noon
            elif entry["raw_type"] == "FLAT_SKY":
                assert 10.5 < hours < 11.5 or 22.3 < hours < 23, entry["arcfile"]
            elif entry["raw_type"] in ("SCIENCE_IMG", "STD_IMG"):
                assert 11.2 < hours < 22.3, entry["arcfile"]
        for before, after in zip(frames, frames[1:], strict=False):
            gap = (parse_date_obs(after["arcfile"][5:-5])
                   - parse_date_obs(before["arcfile"][5:-5])).total_seconds()
            assert gap >= before["setup"]["dit"] * before["setup"]["ndit"], (before, after)


# --- classification and truth ------------------------------------------------------------


def test_intended_classification_agrees_with_the_dpr_keys(simulated, entries):
    out, _, _ = simulated
    for entry in entries:
        if entry["broken"] and entry["broken"].startswith(("truncated", "not FITS")):
            continue
        read = read_header(out / entry["path"])
        dpr = (read.keywords["DPR.CATG"], read.keywords["DPR.TYPE"], read.keywords["DPR.TECH"])
        assert dpr == (entry["dpr"]["catg"], entry["dpr"]["type"], entry["dpr"]["tech"])
        expected = CLASSIFICATION.get(dpr, "UNSUPPORTED")
        assert entry["raw_type"] == expected, (entry["path"], dpr)
        assert (entry["mode"] is None) == (expected != "UNSUPPORTED")


def test_jitter_offsets_in_the_headers_match_the_truth(simulated, entries, manifest_json):
    out, _, _ = simulated
    sequences = manifest_json["truth"]["sequences"]
    checked = 0
    for entry in readable(entries):
        if entry["raw_type"] not in ("SCIENCE_IMG", "STD_IMG"):
            continue
        read = read_header(out / entry["path"])
        truth = sequences[entry["sequence"]]
        index = truth["arcfiles"].index(entry["arcfile"])
        x, y = truth["offsets_px"][index]
        assert (read.keywords["SEQ.CUMOFFSETX"], read.keywords["SEQ.CUMOFFSETY"]) == (
            pytest.approx(x, abs=0.006), pytest.approx(y, abs=0.006))
        assert [x, y] == entry["offset_px"]
        previous = truth["offsets_px"][index - 1] if index else [x, y]
        assert read.keywords["SEQ.RELOFFSETX"] == pytest.approx(x - previous[0], abs=0.011)
        assert read.keywords["SEQ.RELOFFSETY"] == pytest.approx(y - previous[1], abs=0.011)
        assert read.keywords["TPL.EXPNO"] == index + 1
        assert read.keywords["TPL.NEXP"] == len(truth["arcfiles"])
        checked += 1
    assert checked > 50


def test_stars_sit_where_the_truth_and_the_offsets_put_them(simulated, entries, manifest_json):
    """The pixels agree with the headers: the brightest star of each jitter frame is at its
    field position plus SEQ.CUMOFFSETX/Y."""
    out, _, _ = simulated
    truth = manifest_json["truth"]
    for entry in readable(entries):
        if entry["raw_type"] != "SCIENCE_IMG":
            continue
        field = truth["fields"][truth["sequences"][entry["sequence"]]["field"]]
        x, y, _ = field["stars"][0]
        header = fits.getheader(out / entry["path"])
        expected = (x + header["HIERARCH ESO SEQ CUMOFFSETX"],
                    y + header["HIERARCH ESO SEQ CUMOFFSETY"])
        data = median3(fits.getdata(out / entry["path"]).astype(float))  # no hot pixels
        background = np.median(data)
        column, row = round(expected[0]) - 1, round(expected[1]) - 1
        box = data[row - 4 : row + 5, column - 4 : column + 5] - background
        weights = np.clip(box, 0, None)
        rows, columns = np.mgrid[-4:5, -4:5]
        found = (column + 1 + (weights * columns).sum() / weights.sum(),
                 row + 1 + (weights * rows).sum() / weights.sum())
        assert found == (pytest.approx(expected[0], abs=1.0), pytest.approx(expected[1], abs=1.0))
        noise = 1.4826 * np.median(np.abs(data - background))
        assert box.max() > 10 * noise


def test_dark_frames_have_the_level_the_truth_states(simulated, entries, manifest_json):
    out, _, _ = simulated
    darks = manifest_json["truth"]["darks"]
    for entry in readable(entries):
        if entry["raw_type"] != "DARK":
            continue
        setup = entry["setup"]
        truth = darks[f"{setup['detmode']}/DIT={setup['dit']:g}/NDIT={setup['ndit']}"]
        data = fits.getdata(out / entry["path"])
        assert np.median(data) == pytest.approx(truth["median_adu"], abs=0.5)
        assert truth["ron_adu_per_frame"] > 0


def test_twilight_flats_change_level_along_the_sequence(simulated, entries):
    out, _, _ = simulated
    by_sequence = {}
    for entry in readable(entries):
        if entry["raw_type"] == "FLAT_SKY":
            level = float(np.median(fits.getdata(out / entry["path"])))
            by_sequence.setdefault(entry["sequence"], []).append(level)
    assert len(by_sequence) >= NIGHTS * 2
    for levels in by_sequence.values():
        assert len(levels) >= 5
        assert max(levels) / min(levels) > 4  # naco_img_twflat wants a wide range
        steps = np.sign(np.diff(levels))
        assert abs(steps.sum()) == len(steps)  # monotonic: evening falls, morning rises


# --- broken files --------------------------------------------------------------------------


def test_broken_files_are_broken_as_the_manifest_says(simulated, entries):
    out, _, _ = simulated
    broken = {e["broken_kind"]: e for e in entries if e["broken"]}
    assert sorted(broken) == sorted(BROKEN_KINDS)
    assert {e["night"] for e in broken.values()} == {START.isoformat()}
    assert all(e["broken_kind"] is None for e in entries if not e["broken"])

    assert broken["truncated"]["broken"].startswith("truncated")
    with pytest.raises(HeaderError, match="truncated"):
        read_header(out / broken["truncated"]["path"])
    assert broken["not_fits"]["broken"].startswith("not FITS")
    with pytest.raises(HeaderError, match="not a FITS file"):
        read_header(out / broken["not_fits"]["path"])

    assert "NaN" in broken["nan_card"]["broken"]
    nan = read_header(out / broken["nan_card"]["path"])
    assert any("NaN" in warning for warning in nan.warnings)
    header_bytes = (out / broken["nan_card"]["path"]).read_bytes()[: 2880 * 12]
    assert re.search(rb"HIERARCH ESO DET CHIP TEMP += +NaN /", header_bytes)

    assert "ARCFILE" in broken["no_arcfile"]["broken"]
    lost = read_header(out / broken["no_arcfile"]["path"])
    assert "ARCFILE" not in lost.keywords and lost.warnings == []
    assert "ARCFILE" not in fits.getheader(out / broken["no_arcfile"]["path"])

    dump = broken["long_card_hdr"]
    assert ".hdr" in dump["broken"] and "80" in dump["broken"]
    assert dump["path"].endswith(".hdr") and Path(dump["path"]).parent.name == dump["night"]
    read = read_header(out / dump["path"])
    assert any("80" in warning and "characters long" in warning for warning in read.warnings)
    lines = (out / dump["path"]).read_text().splitlines()
    assert max(len(line) for line in lines) > 80
    assert all(len(line) == 80 for line in lines if not line.startswith(("HIERARCH ESO OBS NAME",
                                                                          "END")))


def test_no_broken_files_on_request(tmp_path):
    manifest = simulate_nights(START, 1, tmp_path, seed=3, broken=False)
    assert manifest.broken_files == []
    assert not list(tmp_path.rglob("*.hdr"))


def test_bad_arguments_are_refused(tmp_path):
    with pytest.raises(ValueError, match="nights"):
        simulate_nights(START, 0, tmp_path)
    with pytest.raises(TypeError, match="date"):
        simulate_nights("2009-06-15", 1, tmp_path)


# --- management command --------------------------------------------------------------------


@pytest.fixture
def naco_instance(db):
    call_command("load_instances", stdout=io.StringIO())


@pytest.mark.django_db
def test_command_simulates_and_prints_a_json_summary(naco_instance, tmp_path, capsys):
    out = tmp_path / "raw"
    call_command("simulate_nights", "--instance", "NACO", "--start", "2009-06-15",
                 "--nights", "1", "--out", str(out), "--seed", "5", "--json")
    captured = capsys.readouterr()
    summary = json.loads(captured.out.strip().splitlines()[-1])
    manifest = json.loads((out / MANIFEST).read_text())
    assert summary["files"] == len(manifest["files"]) > 50
    assert summary["nights"] == 1 and summary["seed"] == 5
    assert summary["broken"] == len(BROKEN_KINDS)
    assert "files over 1 night(s)" in captured.err and "5 broken" in captured.err
    assert (out / "2009-06-15").is_dir()


@pytest.mark.django_db
def test_command_prints_one_line_without_json(naco_instance, tmp_path, capsys):
    call_command("simulate_nights", "--instance", "NACO", "--start", "2009-06-15",
                 "--nights", "1", "--out", str(tmp_path), "--no-broken")
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 1 and "(0 broken)" in lines[0]


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--instance", "FORS2"], r"--instance: unknown instance 'FORS2'"),
        (["--start", "2009-06-31"], r"--start: '2009-06-31' is not a date"),
        (["--start", "yesterday"], r"--start: 'yesterday' is not a date"),
        (["--nights", "0"], r"--nights: must be between 1 and 366, not 0"),
        (["--nights", "367"], r"--nights: must be between 1 and 366, not 367"),
        (["--nights", "two"], r"--nights: 'two' is not a whole number"),
    ],
)
def test_command_refuses_bad_arguments(naco_instance, tmp_path, arguments, message):
    options = {"--instance": "NACO", "--start": "2009-06-15", "--nights": "1",
               "--out": str(tmp_path)}
    options.update(dict(zip(arguments[::2], arguments[1::2], strict=True)))
    with pytest.raises(CommandError, match=message):
        call_command("simulate_nights", *[part for pair in options.items() for part in pair])
    assert not (tmp_path / MANIFEST).exists()


@pytest.mark.django_db
def test_command_refuses_an_out_that_is_a_file(naco_instance, tmp_path):
    target = tmp_path / "not_a_directory.txt"
    target.write_text("x")
    with pytest.raises(CommandError, match=r"--out: .*not_a_directory.txt is a file"):
        call_command("simulate_nights", "--instance", "NACO", "--start", "2009-06-15",
                     "--nights", "1", "--out", str(target))
    with pytest.raises(CommandError, match=r"--out: .*is a file, so .* cannot be created"):
        call_command("simulate_nights", "--instance", "NACO", "--start", "2009-06-15",
                     "--nights", "1", "--out", str(target / "sub"))


@pytest.mark.django_db
def test_command_simulates_only_naco(naco_instance, tmp_path):
    from processing.models import Instance

    Instance.objects.filter(name="NACO").update(instrument="FORS2")
    with pytest.raises(CommandError, match="only NACO can be simulated"):
        call_command("simulate_nights", "--instance", "NACO", "--start", "2009-06-15",
                     "--nights", "1", "--out", str(tmp_path))
