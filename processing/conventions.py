"""DFO conventions as small pure functions: nights, run IDs, programme IDs, ARCFILE names.

Sources: ../shared/domain/dfos_phoenix.md §6.2 (run ID `TP.C-NNNN(R)`, DFO date with the
boundary at 12:00 UT plus $DFO_OFFSET, ARCFILE = instrument acronym + start timestamp).
"""

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone

MJD_EPOCH = datetime(1858, 11, 17, tzinfo=timezone.utc)
#: The DFO date changes at 12:00 UT (plus the instance's offset in hours): late enough that
#: the morning twilight calibrations at Paranal and La Silla still belong to the night before.
NIGHT_BOUNDARY_HOURS = 12



def mjd_to_datetime(mjd):
    """UT datetime of a Modified Julian Date."""
    return MJD_EPOCH + timedelta(days=float(mjd))


def datetime_to_mjd(moment):
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return (moment - MJD_EPOCH) / timedelta(days=1)


_DATE_OBS = re.compile(r"^\d{4}-\d{2}-\d{2}(?:T\d{2}:\d{2}:\d{2}(?:\.\d+)?)?$")


def parse_date_obs(value):
    """Parse a FITS DATE-OBS (ISO 8601, UT, with or without fraction) into an aware datetime."""
    text = str(value).strip().rstrip("Z")
    if _DATE_OBS.match(text):
        try:
            return datetime.fromisoformat(text).replace(tzinfo=timezone.utc)
        except ValueError:
            pass
    raise ValueError(f"DATE-OBS {value!r} is not an ISO date/time (YYYY-MM-DDThh:mm:ss[.sss])")


def night_of(moment, offset_hours=0.0):
    """The DFO date (night) of an observation at UT `moment`.

    Everything observed from 12:00 UT (+ offset) on day D until 12:00 UT (+ offset) on D+1
    belongs to night D.
    """
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    shifted = moment.astimezone(timezone.utc) - timedelta(
        hours=NIGHT_BOUNDARY_HOURS + float(offset_hours)
    )
    return shifted.date()


def night_of_mjd(mjd, offset_hours=0.0):
    return night_of(mjd_to_datetime(mjd), offset_hours)


def night_bounds_mjd(night, offset_hours=0.0):
    """[start, end) of a night in MJD, for range queries on MJD-OBS."""
    start = datetime(night.year, night.month, night.day, tzinfo=timezone.utc) + timedelta(
        hours=NIGHT_BOUNDARY_HOURS + float(offset_hours)
    )
    begin = datetime_to_mjd(start)
    return begin, begin + 1.0


# --- run and programme IDs --------------------------------------------------------------

_RUN_ID = re.compile(
    r"^(?P<digits>\d{2,4})\.(?P<category>[A-Z])-(?P<number>\d{4})(?:\((?P<run>[A-Z])\))?$"
)

PROGRAMME_TYPES = {
    "0": "Normal",
    "1": "Large",
    "2": "DDT",
    "3": "Short",
    "4": "Calibration",
    "5": "Monitoring",
}


class InvalidRunId(ValueError):
    pass


@dataclass(frozen=True)
class RunId:
    """An ESO programme or run identifier, `TP.C-NNNN(R)`.

    Two digits before the dot are an old period without a type digit (`60.A-9255(A)`); three
    digits are type + period below 100 (`094.B-0298(A)`); four digits are type + period from
    100 on (`1104.C-0123(B)`).
    """

    period: int
    category: str
    number: str
    programme_type: str | None
    run: str | None
    text: str

    @property
    def programme_id(self):
        return self.text.split("(", 1)[0]

    @property
    def run_id(self):
        return self.text if self.run else None

    @property
    def programme_type_name(self):
        return PROGRAMME_TYPES.get(self.programme_type) if self.programme_type else None

    def __str__(self):
        return self.text


def parse_run_id(value):
    """Parse a run ID (with run letter) or programme ID (without); raise InvalidRunId."""
    if value is None:
        raise InvalidRunId("no run ID given")
    text = str(value).strip()  # periods 46-57 were written with a leading blank
    match = _RUN_ID.match(text)
    if not match:
        raise InvalidRunId(
            f"{value!r} is not an ESO run ID of the form TP.C-NNNN(R), "
            "e.g. 094.B-0298(A), 60.A-9255(A) or 1104.C-0123(B)"
        )
    digits = match["digits"]
    if len(digits) == 2:
        programme_type, period = None, int(digits)
    else:
        programme_type, period = digits[0], int(digits[1:])
        if len(digits) == 3 and period >= 100:
            raise InvalidRunId(f"{value!r}: a 3-digit prefix cannot hold period {period}")
        if len(digits) == 4 and period < 100:
            raise InvalidRunId(
                f"{value!r}: periods below 100 are written with 3 digits (e.g. "
                f"{programme_type}{period:02d}.{match['category']}-{match['number']})"
            )
    if period == 0:
        raise InvalidRunId(f"{value!r}: period 0 does not exist")
    return RunId(
        period=period,
        category=match["category"],
        number=match["number"],
        programme_type=programme_type,
        run=match["run"],
        text=text,
    )


def is_valid_run_id(value, require_run_letter=True):
    try:
        parsed = parse_run_id(value)
    except InvalidRunId:
        return False
    return parsed.run is not None or not require_run_letter


def programme_id_of(run_id):
    """`094.B-0298(A)` → `094.B-0298`."""
    return parse_run_id(run_id).programme_id


def period_of(day):
    """ESO observing period of a date: P97 = 2016-04-01 … 2016-09-30, six months each."""
    if isinstance(day, datetime):
        day = day.date()
    half = 0 if 4 <= day.month <= 9 else 1
    year = day.year if day.month >= 4 else day.year - 1
    return 97 + 2 * (year - 2016) + half


# --- ARCFILE -----------------------------------------------------------------------------

_ARCFILE = re.compile(
    r"^(?P<instrument>[A-Z][A-Z0-9_]*)\."
    r"(?P<timestamp>\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3})\.fits$"
)


@dataclass(frozen=True)
class ArcFile:
    instrument: str
    timestamp: datetime
    text: str


def parse_arcfile(value):
    """Parse `INSTR.YYYY-MM-DDThh:mm:ss.sss.fits`; raise ValueError naming what is wrong."""
    text = str(value).strip()
    match = _ARCFILE.match(text)
    if not match:
        raise ValueError(
            f"{value!r} is not an ARCFILE name of the form INSTR.YYYY-MM-DDThh:mm:ss.sss.fits"
        )
    try:
        moment = datetime.fromisoformat(match["timestamp"])
    except ValueError:
        raise ValueError(f"{value!r}: {match['timestamp']} is not a valid date/time") from None
    return ArcFile(match["instrument"], moment.replace(tzinfo=timezone.utc), text)


def is_arcfile(value):
    try:
        parse_arcfile(value)
    except ValueError:
        return False
    return True


def make_arcfile(instrument, moment):
    """ARCFILE for a frame of `instrument` started at UT `moment` (millisecond precision)."""
    if moment.tzinfo is not None:
        moment = moment.astimezone(timezone.utc).replace(tzinfo=None)
    millis = round(moment.microsecond / 1000)
    moment = moment.replace(microsecond=0) + timedelta(milliseconds=millis)
    return f"{instrument}.{moment:%Y-%m-%dT%H:%M:%S}.{moment.microsecond // 1000:03d}.fits"
