from datetime import date, datetime, timezone

import pytest

from processing.conventions import (
    InvalidRunId,
    datetime_to_mjd,
    is_arcfile,
    is_valid_run_id,
    make_arcfile,
    mjd_to_datetime,
    night_bounds_mjd,
    night_of,
    night_of_mjd,
    parse_arcfile,
    parse_date_obs,
    parse_run_id,
    period_of,
    programme_id_of,
)


def ut(*args):
    return datetime(*args, tzinfo=timezone.utc)


class TestNight:
    def test_evening_and_morning_belong_to_the_same_night(self):
        assert night_of(ut(2009, 6, 15, 23, 0)) == date(2009, 6, 15)
        assert night_of(ut(2009, 6, 16, 9, 30)) == date(2009, 6, 15)

    def test_boundary_is_noon_ut(self):
        assert night_of(ut(2009, 6, 16, 11, 59, 59)) == date(2009, 6, 15)
        assert night_of(ut(2009, 6, 16, 12, 0, 0)) == date(2009, 6, 16)

    def test_offset_moves_the_boundary(self):
        # DFO_OFFSET = 3 h: the date changes at 15:00 UT.
        assert night_of(ut(2009, 6, 16, 14, 0), offset_hours=3) == date(2009, 6, 15)
        assert night_of(ut(2009, 6, 16, 15, 0), offset_hours=3) == date(2009, 6, 16)
        assert night_of(ut(2009, 6, 16, 10, 0), offset_hours=-3) == date(2009, 6, 16)

    def test_from_mjd(self):
        # MJD 55000.0 = 2009-06-18 00:00 UT
        assert mjd_to_datetime(55000.0) == ut(2009, 6, 18)
        assert night_of_mjd(55000.0) == date(2009, 6, 17)
        assert night_of_mjd(55000.5) == date(2009, 6, 18)  # 12:00 UT exactly

    def test_mjd_round_trip(self):
        moment = ut(2009, 6, 15, 23, 1, 2, 123000)
        assert abs(mjd_to_datetime(datetime_to_mjd(moment)) - moment).total_seconds() < 1e-3

    def test_night_bounds_cover_exactly_the_night(self):
        start, end = night_bounds_mjd(date(2009, 6, 15))
        assert night_of_mjd(start) == date(2009, 6, 15)
        assert night_of_mjd(end - 1e-6) == date(2009, 6, 15)
        assert night_of_mjd(end) == date(2009, 6, 16)

    def test_date_obs_forms(self):
        assert parse_date_obs("2009-06-15T23:01:02.1234") == ut(2009, 6, 15, 23, 1, 2, 123400)
        assert parse_date_obs("2009-06-15T23:01:02") == ut(2009, 6, 15, 23, 1, 2)
        assert parse_date_obs("2009-06-15") == ut(2009, 6, 15)
        with pytest.raises(ValueError, match="DATE-OBS"):
            parse_date_obs("15/06/2009")


class TestRunId:
    @pytest.mark.parametrize(
        "text, period, ptype, category, number, run",
        [
            ("094.B-0298(A)", 94, "0", "B", "0298", "A"),
            ("60.A-9255(A)", 60, None, "A", "9255", "A"),
            ("1104.C-0123(B)", 104, "1", "C", "0123", "B"),
            ("383.D-0456(C)", 83, "3", "D", "0456", "C"),
            ("0101.A-0123(A)", 101, "0", "A", "0123", "A"),
        ],
    )
    def test_forms(self, text, period, ptype, category, number, run):
        parsed = parse_run_id(text)
        assert (parsed.period, parsed.programme_type, parsed.category, parsed.number) == (
            period, ptype, category, number,
        )
        assert parsed.run == run
        assert parsed.run_id == text
        assert parsed.programme_id == text.split("(")[0]

    def test_programme_id_without_run_letter(self):
        parsed = parse_run_id("094.B-0298")
        assert parsed.run is None and parsed.run_id is None
        assert parsed.programme_id == "094.B-0298"
        assert is_valid_run_id("094.B-0298", require_run_letter=False)
        assert not is_valid_run_id("094.B-0298")

    def test_leading_blank_of_old_periods_is_tolerated(self):
        assert parse_run_id(" 55.A-0123(A)").period == 55

    def test_programme_type_names(self):
        assert parse_run_id("1104.C-0123(B)").programme_type_name == "Large"
        assert parse_run_id("60.A-9255(A)").programme_type_name is None

    @pytest.mark.parametrize(
        "text",
        ["", "094.B-298(A)", "094.b-0298(A)", "94B-0298(A)", "094.B-0298(a)", "094.B-0298(AB)",
         "12345.A-0001(A)", "0094.A-0001(A)", "00.A-0001(A)", "CALIB", "094.B-0298(A)x",
         "094.B-0298 (A)"],
    )  # fmt: skip
    def test_invalid(self, text):
        with pytest.raises(InvalidRunId) as caught:
            parse_run_id(text)
        assert repr(text) in str(caught.value)

    def test_surrounding_blanks_are_ignored(self):
        assert parse_run_id("094.B-0298(A) ").run_id == "094.B-0298(A)"
        assert parse_run_id("194.A-0001(A)").programme_type_name == "Large"

    def test_none(self):
        with pytest.raises(InvalidRunId, match="no run ID"):
            parse_run_id(None)

    def test_programme_id_of(self):
        assert programme_id_of("094.B-0298(A)") == "094.B-0298"


class TestPeriod:
    @pytest.mark.parametrize(
        "day, period",
        [(date(2016, 4, 1), 97), (date(2016, 9, 30), 97), (date(2016, 10, 1), 98),
         (date(2017, 3, 31), 98), (date(2009, 6, 15), 83), (date(2019, 10, 1), 104)],
    )  # fmt: skip
    def test_period_of(self, day, period):
        assert period_of(day) == period


class TestArcfile:
    def test_parse(self):
        arc = parse_arcfile("NACO.2009-06-15T23:01:02.123.fits")
        assert arc.instrument == "NACO"
        assert arc.timestamp == ut(2009, 6, 15, 23, 1, 2, 123000)

    @pytest.mark.parametrize(
        "text",
        ["NACO.2009-06-15T23:01:02.fits", "naco.2009-06-15T23:01:02.123.fits",
         "NACO_2009-06-15T23:01:02.123.fits", "NACO.2009-13-15T23:01:02.123.fits",
         "NACO.2009-06-15T23:01:02.123.fits.gz", "NACO.2009-06-15T23:01:02.123"],
    )  # fmt: skip
    def test_invalid(self, text):
        assert not is_arcfile(text)
        with pytest.raises(ValueError, match="ARCFILE|not a valid"):
            parse_arcfile(text)

    def test_make_rounds_to_milliseconds(self):
        assert make_arcfile("NACO", ut(2009, 6, 15, 23, 1, 2, 123456)) == (
            "NACO.2009-06-15T23:01:02.123.fits"
        )
        # 999.6 ms rounds into the next second, never to ".1000"
        assert make_arcfile("UVES", datetime(2015, 3, 1, 23, 59, 59, 999600)) == (
            "UVES.2015-03-02T00:00:00.000.fits"
        )

    def test_round_trip(self):
        text = make_arcfile("XSHOOTER", ut(2012, 1, 2, 3, 4, 5, 6000))
        assert parse_arcfile(text).timestamp == ut(2012, 1, 2, 3, 4, 5, 6000)
