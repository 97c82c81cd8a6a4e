"""Phase 3 validation: valid products of every category pass, bad files become findings (never
tracebacks), the report is what ingestion stores, and `validate_idp` says it on the command
line with a real exit status. Rule by rule: tests/test_phase3_rules.py."""

import gzip
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from astropy.io import fits
from django.core.management import CommandError, call_command

from processing.phase3 import BY_ID, Report, validate_batch, validate_file, validate_hdul
from tests import phase3_builder as builder
from tests.phase3_builder import NAMES

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize("category", sorted(builder.BUILDERS))
def test_a_valid_file_of_each_category_has_no_finding(category, tmp_path):
    report = validate_file(builder.valid_file(tmp_path, category))
    assert report.findings == []
    assert report.ok and report.prodcatg == category


def test_the_hduclass_variant_of_an_image_is_valid(tmp_path):
    path = builder.write(builder.build("SCIENCE.IMAGE", hduclass=True), tmp_path / "image.fits")
    assert validate_file(path).findings == []


def test_a_cube_with_its_whitelight_is_a_valid_batch(tmp_path):
    cube = builder.valid_file(tmp_path, "SCIENCE.CUBE.IFS")
    white = builder.valid_file(tmp_path, "ANCILLARY.IMAGE.WHITELIGHT")
    reports = validate_batch([cube, white])
    assert [report.findings for report in reports] == [[], []]


def test_a_cube_without_its_whitelight_in_the_batch_is_rejected(tmp_path):
    cube = builder.valid_file(tmp_path, "SCIENCE.CUBE.IFS")
    weights = builder.valid_file(tmp_path, "ANCILLARY.WEIGHTMAP")
    report, _ = validate_batch([cube, weights])
    assert [finding.rule for finding in report.findings] == ["BATCH-CUBE-WHITELIGHT"]
    assert NAMES["ANCILLARY.IMAGE.WHITELIGHT"] in report.findings[0].message
    assert validate_file(cube).ok  # on its own, the file is fine


def test_report_as_dict_is_json_with_counts(tmp_path):
    hdul = builder.build("SCIENCE.IMAGE")
    hdul[0].header["RA"] = 400.0
    del hdul[0].header["PHOTZPER"]
    report = validate_file(builder.write(hdul, tmp_path / NAMES["SCIENCE.IMAGE"]))
    data = json.loads(json.dumps(report.as_dict()))
    assert data["file"] == str(tmp_path / NAMES["SCIENCE.IMAGE"])
    assert data["prodcatg"] == "SCIENCE.IMAGE"
    assert (data["errors"], data["warnings"]) == (1, 1)
    assert not report.ok and len(report.errors) == 1 and len(report.warnings) == 1
    error = next(item for item in data["findings"] if item["severity"] == "error")
    assert error == {"rule": "SCI-RA-RANGE", "severity": "error", "keyword": "RA", "hdu": 0,
                     "extname": "", "message": "RA = 400.0: expected 0 <= RA <= 360"}
    warning = next(item for item in data["findings"] if item["severity"] == "warning")
    assert warning["rule"] == "IMAGE-PHOTZPER-RECOMMENDED" and "PHOTZPER" in warning["message"]


def test_a_finding_in_an_extension_names_it(tmp_path):
    hdul = builder.build("SCIENCE.SPECTRUM")
    hdul[1].header["VOPUB"] = "ESO"
    (finding,) = validate_file(builder.write(hdul, tmp_path / "spectrum.fits")).findings
    assert (finding.rule, finding.hdu, finding.extname) == ("SPECTRUM-VOPUB-ALLOWED", 1, "SPECTRUM")
    assert finding.message == "VOPUB = 'ESO': expected 'ESO/SAF'"


def test_validate_hdul_in_memory_needs_checksums_first():
    hdul = builder.build("SCIENCE.IMAGE")
    report = validate_hdul(hdul, NAMES["SCIENCE.IMAGE"])
    assert {finding.rule for finding in report.findings} == {"ALL-CHECKSUM", "ALL-DATASUM"}
    assert "CHECKSUM is missing" in report.errors[0].message
    for hdu in hdul:
        hdu.add_checksum()
    assert validate_hdul(hdul, NAMES["SCIENCE.IMAGE"]).findings == []


def test_validate_hdul_on_an_open_file(tmp_path):
    path = builder.valid_file(tmp_path, "SCIENCE.SPECTRUM")
    with fits.open(path) as hdul:
        assert validate_hdul(hdul, path).ok
        assert validate_hdul(hdul, "x" * 70 + ".fits").errors[0].rule == "ALL-FILENAME-LENGTH"


def _unreadable(path):
    report = validate_file(path)
    assert isinstance(report, Report) and report.prodcatg is None
    (finding,) = report.findings
    assert (finding.rule, finding.severity) == ("ALL-READABLE", "error")
    assert str(path) in finding.message
    return finding.message


def test_a_file_that_is_not_fits(tmp_path):
    path = tmp_path / "notes.fits"
    path.write_text("certified by hand\n" * 100)
    assert "SIMPLE" in _unreadable(path)


def test_an_empty_file(tmp_path):
    path = tmp_path / "empty.fits"
    path.write_bytes(b"")
    assert "empty or corrupt" in _unreadable(path).lower()


def test_a_missing_file_and_a_directory(tmp_path):
    assert "No such file" in _unreadable(tmp_path / "gone.fits")
    assert "directory" in _unreadable(tmp_path).lower()


def test_a_file_truncated_in_its_data(tmp_path):
    path = builder.valid_file(tmp_path, "SCIENCE.IMAGE")
    path.write_bytes(path.read_bytes()[:-3000])
    assert "truncated" in _unreadable(path)


def test_a_file_truncated_in_an_extension_header(tmp_path):
    path = builder.valid_file(tmp_path, "SCIENCE.SPECTRUM")
    content = path.read_bytes()
    with fits.open(path) as hdul:
        second = hdul.fileinfo(1)["hdrLoc"]
    path.write_bytes(content[:second + 1000])
    assert "HDU #1" in _unreadable(path)


def test_a_corrupted_header_card(tmp_path):
    path = builder.valid_file(tmp_path, "SCIENCE.IMAGE")
    content = path.read_bytes()
    path.write_bytes(content[:80] + b"\xff" * 80 + content[160:])
    report = validate_file(path)
    assert not report.ok  # unreadable, or at least a checksum that no longer matches
    assert report.findings[0].rule in ("ALL-READABLE", "ALL-CHECKSUM")


def test_a_check_that_cannot_run_is_an_error_of_its_rule(tmp_path):
    hdul = builder.build("SCIENCE.IMAGE")
    hdul[0].header["CTYPE1"] = "RA---XYZ"  # no such projection: wcslib refuses the WCS
    (finding,) = validate_file(builder.write(hdul, tmp_path / "image.fits")).findings
    assert (finding.rule, finding.severity) == ("IMAGE-FOOTPRINT", "error")
    assert finding.message.startswith("could not be checked: ") and "XYZ" in finding.message
    assert "\n" not in finding.message


def test_without_prodcatg_only_the_rules_for_every_file_apply(tmp_path):
    hdul = builder.build("SCIENCE.IMAGE")
    del hdul[0].header["PRODCATG"]
    hdul[0].header["RA"] = 400.0  # a science rule, not checked without a category
    report = validate_file(builder.write(hdul, tmp_path / "unknown.fits"))
    assert [finding.rule for finding in report.findings] == ["ALL-PRODCATG-MANDATORY"]
    assert "PRODCATG is missing" in report.findings[0].message


@pytest.mark.parametrize("category, wording", [
    ("SCIENCE.FOO", "not a category of ESO's Phase 3"),
    ("SCIENCE.MEFIMAGE", "recognised by ESO's Phase 3 but not checked"),
])
def test_an_unsupported_category_names_itself_and_the_supported_ones(category, wording, tmp_path):
    hdul = builder.build("SCIENCE.IMAGE")
    hdul[0].header["PRODCATG"] = category
    report = validate_file(builder.write(hdul, tmp_path / "image.fits"))
    supported = [finding for finding in report.findings if finding.rule == "ALL-PRODCATG-SUPPORTED"]
    assert len(supported) == 1
    message = supported[0].message
    assert category in message and wording in message
    assert "SCIENCE.IMAGE, SCIENCE.SPECTRUM, SCIENCE.CUBE.IFS" in message and "ANCILLARY" in message


def test_tile_compressed_files_must_be_named_fz(tmp_path):
    weights = builder.build("ANCILLARY.WEIGHTMAP")
    compressed = fits.HDUList([fits.PrimaryHDU(header=weights[0].header.copy()),
                               fits.CompImageHDU(weights[0].data)])
    compressed[0].header["NAXIS"] = 0
    good = builder.write(compressed, tmp_path / "NA_SWMP_0001.fits.fz")
    assert validate_file(good).findings == []
    bad = tmp_path / "NA_SWMP_0001.fits"
    bad.write_bytes(good.read_bytes())
    (finding,) = validate_file(bad).findings
    assert finding.rule == "ALL-FZ-COMPRESSION" and "tile-compressed" in finding.message


def test_a_gzip_compressed_file_is_not_fz(tmp_path):
    plain = builder.valid_file(tmp_path, "SCIENCE.IMAGE")
    packed = tmp_path / (plain.name + ".gz")
    packed.write_bytes(gzip.compress(plain.read_bytes()))
    (finding,) = validate_file(packed).findings
    assert finding.rule == "ALL-FZ-COMPRESSION" and "gzip-compressed" in finding.message


def test_a_checksum_that_astropy_would_rewrite_is_judged_on_the_bytes(tmp_path):
    """astropy adds EXTEND to a primary header without it; the file's own CHECKSUM (summed
    over the header without EXTEND) is still correct and must pass."""
    hdul = builder.build("SCIENCE.SPECTRUM")
    path = builder.write(hdul, tmp_path / "spectrum.fits")
    content = path.read_bytes()
    assert content.count(b"EXTEND  =") == 1
    path.write_bytes(content.replace(b"EXTEND  =", b"COMMENT  "))
    assert {finding.rule for finding in validate_file(path).findings} == {"ALL-CHECKSUM"}
    from tests.test_phase3_rules import raw_rename_card
    path.write_bytes(content)
    raw_rename_card("EXTEND", 0)(path)
    assert validate_file(path).findings == []


# --- the command ------------------------------------------------------------------------------

def run(*args):
    out, err = _Capture(), _Capture()
    try:
        call_command("validate_idp", *args, stdout=out, stderr=err)
    except CommandError as exc:
        return out.text, str(exc)
    return out.text, None


class _Capture:
    def __init__(self):
        self.text = ""

    def write(self, text):
        self.text += text

    def flush(self):
        pass


def test_command_passes_valid_files(tmp_path):
    paths = [str(builder.valid_file(tmp_path, category)) for category in builder.BUILDERS]
    out, error = run(*paths)
    assert error is None
    lines = out.splitlines()
    assert len(lines) == len(paths)
    for path, line in zip(paths, lines):
        assert line.startswith(f"{path}: ") and line.endswith("0 error(s), 0 warning(s): OK")


def test_command_lists_findings_and_fails(tmp_path):
    good = builder.valid_file(tmp_path, "SCIENCE.IMAGE")
    hdul = builder.build("SCIENCE.SPECTRUM")
    hdul[1].header["TMID"] += 0.01
    del hdul[0].header["SPEC_ERR"]
    bad = builder.write(hdul, tmp_path / NAMES["SCIENCE.SPECTRUM"])
    out, error = run(str(good), str(bad), str(tmp_path / "gone.fits"))
    assert error.startswith("2 of 3 file(s) have errors") and str(bad) in error
    assert f"{bad}: error SPECTRUM-TMID HDU 1 (SPECTRUM) TMID: TMID = " in out
    assert (f"{bad}: warning SPECTRUM-SPEC_ERR-RECOMMENDED HDU 0 SPEC_ERR: SPEC_ERR is missing"
            in out)
    assert f"{bad}: SCIENCE.SPECTRUM: 1 error(s), 1 warning(s): REJECTED" in out
    assert f"{tmp_path / 'gone.fits'}: error ALL-READABLE file -: " in out
    assert f"{good}: SCIENCE.IMAGE: 0 error(s), 0 warning(s): OK" in out


def test_command_json(tmp_path):
    good = builder.valid_file(tmp_path, "SCIENCE.CUBE.IFS")
    out, error = run("--json", str(good), str(tmp_path / "gone.fits"))
    data = json.loads(out)
    assert [item["file"] for item in data] == [str(good), str(tmp_path / "gone.fits")]
    assert data[0]["errors"] == 1  # a cube alone: its white-light image is not in the batch
    assert data[0]["findings"][0]["rule"] == "BATCH-CUBE-WHITELIGHT"
    assert data[1]["findings"][0]["rule"] == "ALL-READABLE"
    assert error.startswith("2 of 2 file(s) have errors")


def test_command_lists_the_rules():
    out, error = run("--rules")
    assert error is None
    listed = [line.split("|")[1].strip() for line in out.splitlines()[2:]]
    assert listed == list(BY_ID)


def test_command_needs_files():
    _, error = run()
    assert "give one or more FITS files" in error


def test_docs_list_every_rule():
    text = (ROOT / "docs" / "PHASE3.md").read_text()
    missing = [rule for rule in BY_ID if f"| {rule} |" not in text]
    assert missing == []


@pytest.mark.parametrize("broken, status", [(False, 0), (True, 1)])
def test_command_exit_status_in_a_shell(broken, status, tmp_path):
    hdul = builder.build("SCIENCE.IMAGE")
    if broken:
        hdul[0].header["ABMAGSAT"] = 30.0
    path = builder.write(hdul, tmp_path / NAMES["SCIENCE.IMAGE"])
    env = {**os.environ, "PHOENIX_DEBUG": "1"}  # the command reads files only, no database
    done = subprocess.run([sys.executable, "manage.py", "validate_idp", str(path)], cwd=ROOT,
                          env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == status, done.stderr
    assert ("IMAGE-ABMAGLIM-ABMAGSAT" in done.stdout) == broken
    assert ("have errors" in done.stderr) == broken
    assert "Traceback" not in done.stderr
