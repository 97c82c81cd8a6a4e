"""import_headers: the data pool fills idempotently, bad files are named, nothing is lost."""

import json
from datetime import date, datetime, timezone

import pytest
from astropy.io import fits
from django.core.management import CommandError, call_command

from processing.data_pool import import_headers
from processing.headers import decompress_header
from processing.models import AuditEvent, HeaderChange, Instance, ObsRun, RawFrame
from tests.factories import write_frame, write_night

pytestmark = pytest.mark.django_db


def ut(*args):
    return datetime(*args, tzinfo=timezone.utc)


@pytest.fixture
def naco(db):
    call_command("load_instances", "NACO", stdout=open("/dev/null", "w"))
    return Instance.objects.get(name="NACO")


def run_json(*args):
    """Run the command with --json; return (summary, error or None)."""
    from io import StringIO

    out, err = StringIO(), StringIO()
    error = None
    try:
        call_command("import_headers", *map(str, args), "--json", stdout=out, stderr=err)
    except CommandError as exc:
        error = exc
    last_line = out.getvalue().strip().splitlines()[-1]
    return json.loads(last_line), error


class TestImport:
    def test_frames_keywords_and_night(self, tmp_path, naco):
        write_night(tmp_path / "raw", date(2009, 6, 15), 3)
        summary, error = run_json(tmp_path / "raw")
        assert error is None
        assert summary["imported"] == 3 and summary["failed"] == []
        frame = RawFrame.objects.order_by("mjd_obs").first()
        assert frame.arcfile == "NACO.2009-06-15T23:00:00.000.fits"
        assert frame.instrument == "NACO"
        assert frame.night == date(2009, 6, 15)
        assert (frame.dpr_catg, frame.dpr_type, frame.dpr_tech) == ("CALIB", "DARK", "IMAGE")
        assert frame.run_id == "60.A-9800(J)"
        assert frame.keywords["DET.DIT"] == 2.0
        assert "TEL.AIRM.START" not in frame.keywords  # a category NACO does not keep…
        assert "HIERARCH ESO TEL AIRM START = 1.2" in frame.header_text  # …stays in the header
        assert frame.path.endswith("NACO.2009-06-15T23:00:00.000.fits")
        assert "HIERARCH ESO DPR CATG = 'CALIB" in frame.header_text

    def test_morning_frames_belong_to_the_previous_night(self, tmp_path, naco):
        write_frame(tmp_path, ut(2009, 6, 16, 10, 30))
        write_frame(tmp_path, ut(2009, 6, 16, 12, 30))
        import_headers([tmp_path])
        assert sorted(RawFrame.objects.values_list("night", flat=True)) == [
            date(2009, 6, 15), date(2009, 6, 16),
        ]

    def test_an_instance_can_keep_more_keyword_categories(self, tmp_path, naco):
        config = dict(naco.config, data_pool={"keyword_prefixes": ["TEL"]})
        Instance.objects.filter(pk=naco.pk).update(config=config)
        write_frame(tmp_path, ut(2009, 6, 15, 23, 0))
        import_headers([tmp_path], instance=naco)
        assert RawFrame.objects.get().keywords["TEL.AIRM.START"] == 1.2

    def test_instance_offset_moves_the_night(self, tmp_path, naco):
        Instance.objects.filter(pk=naco.pk).update(night_offset_hours=3)
        write_frame(tmp_path, ut(2009, 6, 16, 14, 0))
        import_headers([tmp_path], instance=Instance.objects.get(pk=naco.pk))
        assert RawFrame.objects.get().night == date(2009, 6, 15)

    def test_runs_are_registered_with_their_nights(self, tmp_path, naco):
        write_night(tmp_path / "a", date(2009, 6, 15), 2, catg="SCIENCE", type_="OBJECT",
                    prog_id="083.D-0123(A)")
        write_night(tmp_path / "b", date(2009, 6, 17), 2, catg="SCIENCE", type_="OBJECT",
                    prog_id="083.D-0123(A)")
        import_headers([tmp_path])
        run = ObsRun.objects.get(run_id="083.D-0123(A)")
        assert (run.programme_id, run.period, run.category) == ("083.D-0123", 83, "D")
        assert (run.first_night, run.last_night) == (date(2009, 6, 15), date(2009, 6, 17))

    def test_audit_event(self, tmp_path, naco):
        write_night(tmp_path, date(2009, 6, 15), 2)
        import_headers([tmp_path], actor_name="cli:qc@muc08")
        event = AuditEvent.objects.get(action="import_headers")
        assert event.actor_name == "cli:qc@muc08"
        assert event.result == "ok"
        assert event.detail["imported"] == 2


@pytest.mark.django_db(transaction=True)
def test_worker_processes_write_the_same_rows_as_one_process(tmp_path):
    call_command("load_instances", "NACO", stdout=open("/dev/null", "w"))
    write_night(tmp_path, date(2009, 6, 15), 450)  # more than one chunk per worker
    (tmp_path / "broken.fits").write_text("not FITS")
    summary = import_headers([tmp_path], workers=2)
    assert (summary.imported, len(summary.failed)) == (450, 1)
    rows = list(RawFrame.objects.order_by("arcfile").values_list("arcfile", "night", "header_digest"))
    RawFrame.objects.all().delete()
    assert import_headers([tmp_path], workers=1).imported == 450
    assert list(RawFrame.objects.order_by("arcfile").values_list("arcfile", "night", "header_digest")) == rows
    again = import_headers([tmp_path], workers=2)
    assert (again.imported, again.updated, again.unchanged) == (0, 0, 450)


class TestIdempotency:
    def test_second_import_changes_nothing(self, tmp_path, naco):
        write_night(tmp_path, date(2009, 6, 15), 4)
        import_headers([tmp_path])
        before = list(RawFrame.objects.values_list("id", "arcfile", "updated_at"))
        summary, error = run_json(tmp_path)
        assert error is None
        assert (summary["imported"], summary["updated"], summary["unchanged"]) == (0, 0, 4)
        assert list(RawFrame.objects.values_list("id", "arcfile", "updated_at")) == before

    def test_changed_header_updates_and_is_recorded(self, tmp_path, naco):
        path = write_frame(tmp_path, ut(2009, 6, 15, 23, 0))
        import_headers([tmp_path])
        with fits.open(path, mode="update") as hdus:
            hdus[0].header["HIERARCH ESO DPR TYPE"] = "FLAT,SKY"
            hdus[0].header["HIERARCH ESO TEL AIRM START"] = 1.5
        summary = import_headers([tmp_path])
        assert (summary.imported, summary.updated) == (0, 1)
        frame = RawFrame.objects.get()
        assert frame.dpr_type == "FLAT,SKY" and frame.header_revision == 2
        change = HeaderChange.objects.get(frame=frame)
        assert change.revision == 2
        assert change.changed == {"DPR.TYPE": ["DARK", "FLAT,SKY"], "TEL.AIRM.START": [1.2, 1.5]}
        previous = decompress_header(change.previous_header)
        assert "HIERARCH ESO DPR TYPE = 'DARK" in previous
        assert RawFrame.objects.count() == 1

    def test_hdr_then_fits_is_the_same_frame(self, tmp_path, naco):
        path = write_frame(tmp_path / "raw", ut(2009, 6, 15, 23, 0))
        text = fits.getheader(path).tostring(sep="\n", endcard=True, padding=False)
        hdr = tmp_path / "hdr" / path.name.replace(".fits", ".hdr")
        hdr.parent.mkdir()
        hdr.write_text(text)
        assert import_headers([hdr]).imported == 1
        assert RawFrame.objects.get().path is None
        summary = import_headers([path])
        assert (summary.imported, summary.updated, summary.unchanged) == (0, 0, 1)
        frame = RawFrame.objects.get()
        assert frame.path == str(path) and frame.header_path == str(hdr)

    def test_same_arcfile_twice_in_one_import_is_reported(self, tmp_path, naco):
        path = write_frame(tmp_path / "a", ut(2009, 6, 15, 23, 0))
        (tmp_path / "b").mkdir()
        (tmp_path / "b" / path.name).write_bytes(path.read_bytes())
        summary = import_headers([tmp_path])
        assert RawFrame.objects.count() == 1
        assert summary.imported == 1 and summary.unchanged == 1
        assert any("also read from" in m for w in summary.warnings for m in w["messages"])


class TestMessyAndBadInput:
    def test_bad_files_are_named_and_the_rest_imports(self, tmp_path, naco):
        good = write_night(tmp_path, date(2009, 6, 15), 2)
        (tmp_path / "text.fits").write_text("not FITS at all")
        (tmp_path / "cut.fits").write_bytes(good[0].read_bytes()[:3000])
        (tmp_path / "notes.txt").write_text("ignored: not a header file")
        summary, error = run_json(tmp_path, tmp_path / "missing-dir")
        assert error is not None and "3 file(s)" in str(error)
        assert summary["imported"] == 2
        assert summary["skipped"] == 1
        reasons = {item["path"].rsplit("/", 1)[-1]: item["reason"] for item in summary["failed"]}
        assert reasons["text.fits"].startswith("not a FITS file")
        assert reasons["cut.fits"].startswith("truncated")
        assert reasons["missing-dir"] == "no such file or directory"
        assert AuditEvent.objects.get(action="import_headers").result == "partial"

    def test_missing_arcfile_falls_back_to_the_file_name(self, tmp_path, naco):
        write_frame(tmp_path, ut(2009, 6, 15, 23, 0), name="NACO.2009-06-15T23:00:00.000.fits",
                    arcfile=False)
        summary = import_headers([tmp_path])
        frame = RawFrame.objects.get()
        assert frame.arcfile == "NACO.2009-06-15T23:00:00.000.fits"
        assert frame.instrument == "NACO"
        assert "no ARCFILE keyword" in summary.warnings[0]["messages"][0]
        assert frame.warnings == summary.warnings[0]["messages"]

    def test_nan_and_blank_values_import_with_warnings(self, tmp_path, naco):
        path = write_frame(tmp_path, ut(2009, 6, 15, 23, 0))
        data = bytearray(path.read_bytes())
        card = "HIERARCH ESO DET DIT = 2.0".encode()
        start = data.find(card)
        data[start : start + 80] = b"HIERARCH ESO DET DIT = NaN".ljust(80)
        card = b"EXPTIME =                  2.0"
        start = data.find(card)
        data[start : start + 80] = b"EXPTIME =".ljust(80)
        path.write_bytes(bytes(data))
        summary = import_headers([tmp_path])
        frame = RawFrame.objects.get()
        assert frame.keywords["DET.DIT"] is None and frame.exptime is None
        messages = summary.warnings[0]["messages"]
        assert "DET.DIT: value is NaN" in messages and "EXPTIME: blank value" in messages

    def test_invalid_run_id_is_kept_as_written(self, tmp_path, naco):
        write_frame(tmp_path, ut(2009, 6, 15, 23, 0), prog_id="083.D-123(A)")
        summary = import_headers([tmp_path])
        frame = RawFrame.objects.get()
        assert frame.prog_id == "083.D-123(A)" and frame.run_id == ""
        assert any("OBS.PROG.ID" in m for m in summary.warnings[0]["messages"])
        assert not ObsRun.objects.exists()

    def test_no_time_at_all_fails_that_file(self, tmp_path, naco):
        path = write_frame(tmp_path, ut(2009, 6, 15, 23, 0), name="odd.fits", arcfile=False)
        with fits.open(path, mode="update") as hdus:
            del hdus[0].header["MJD-OBS"]
            del hdus[0].header["DATE-OBS"]
        summary = import_headers([tmp_path])
        assert summary.failed == [
            {"path": str(path), "reason": "no MJD-OBS, DATE-OBS or ARCFILE time: cannot assign a night"}
        ]

    def test_frames_of_another_instrument_are_refused_for_an_instance(self, tmp_path, naco):
        write_frame(tmp_path, ut(2009, 6, 15, 23, 0), instrument="UVES")
        write_frame(tmp_path, ut(2009, 6, 15, 23, 5))
        summary = import_headers([tmp_path], instance=naco)
        assert summary.imported == 1
        assert "does not belong to instance NACO" in summary.failed[0]["reason"]

    def test_unknown_instance(self, tmp_path, naco):
        with pytest.raises(CommandError, match="unknown instance 'UVES'.*loaded: NACO"):
            call_command("import_headers", str(tmp_path), "--instance", "UVES")

    def test_human_output_lists_failures(self, tmp_path, naco, capsys):
        (tmp_path / "text.fits").write_text("not FITS")
        with pytest.raises(CommandError):
            call_command("import_headers", str(tmp_path))
        err = capsys.readouterr().err
        assert "failed:" in err and "text.fits: not a FITS file" in err
