"""From a file to the field values of its RawFrame (no database access: runs in workers)."""

import logging
import os
from dataclasses import dataclass
from datetime import timedelta

from processing.conventions import (
    InvalidRunId,
    mjd_to_datetime,
    night_of,
    parse_arcfile,
    parse_date_obs,
    parse_run_id,
)
from processing.headers import (
    DEFAULT_KEYWORD_PREFIXES,
    FITS_SUFFIXES,
    HDR_SUFFIXES,
    HeaderError,
    read_header,
)

logger = logging.getLogger(__name__)


class FrameError(Exception):
    """A header that was read but cannot become a RawFrame (e.g. no time to assign a night)."""


@dataclass(frozen=True)
class InstanceInfo:
    name: str
    instrument: str
    instrume_values: tuple
    night_offset_hours: float


@dataclass(frozen=True)
class FrameContext:
    """What reading needs to know about the instances, as plain data for worker processes."""

    instances: tuple  # of InstanceInfo, the first of an instrument wins
    restrict_to: InstanceInfo | None
    prefixes: tuple

    @classmethod
    def from_database(cls, instance=None):
        from processing.models import Instance

        instances = list(Instance.objects.order_by("name"))
        infos = tuple(
            InstanceInfo(i.name, i.instrument, tuple(i.instrume_values), i.night_offset_hours)
            for i in instances
        )
        chosen = next((info for info in infos if instance and info.name == instance.name), None)
        prefixes = set(DEFAULT_KEYWORD_PREFIXES)
        for candidate in instances:
            if instance is None or candidate.name == instance.name:
                prefixes.update(candidate.config.get("data_pool", {}).get("keyword_prefixes", []))
        return cls(infos, chosen, tuple(sorted(prefixes)))

    def instance_for(self, instrument, instrume):
        if self.restrict_to is not None:
            wanted = self.restrict_to
            if instrument == wanted.instrument or instrume in wanted.instrume_values:
                return wanted
            raise FrameError(
                f"frame of instrument {instrument or instrume!r} does not belong to instance "
                f"{wanted.name} (instrument {wanted.instrument})"
            )
        for info in self.instances:
            if instrument == info.instrument or (instrume and instrume in info.instrume_values):
                return info
        return None


def read_frame(path, context):
    """Read one file; return (fields, None) or (None, reason)."""
    try:
        read = read_header(path, context.prefixes)
        return frame_fields(path, read, context), None
    except (HeaderError, FrameError) as exc:
        return None, str(exc)
    except Exception as exc:  # noqa: BLE001 - one bad file must not stop an import
        logger.exception("unexpected error reading %s", path)
        return None, f"unexpected error: {exc.__class__.__name__}: {exc}"


def _text(keywords, key, limit, warnings):
    value = keywords.get(key)
    if value is None or isinstance(value, bool):
        return ""
    text = str(value)
    if len(text) > limit:
        warnings.append(f"{key}: value longer than {limit} characters, shortened in the index")
        text = text[:limit]
    return text


def _number(keywords, key, warnings):
    value = keywords.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        warnings.append(f"{key}: {value!r} is not a number")
        return None
    return float(value)


def frame_fields(path, read, context):
    """RawFrame field values for one read header; raise FrameError if it cannot be one."""
    keywords = read.keywords
    warnings = list(read.warnings)

    arcfile = keywords.get("ARCFILE")
    if not isinstance(arcfile, str) or not arcfile.strip():
        arcfile = arcfile_from_file_name(os.path.basename(path))
        warnings.append(f"no ARCFILE keyword: using the file name, {arcfile}")
    arcfile = arcfile.strip()
    if len(arcfile) > 80:
        raise FrameError(f"ARCFILE {arcfile[:40]!r}… is longer than 80 characters")
    try:
        parsed_arcfile = parse_arcfile(arcfile)
    except ValueError as exc:
        parsed_arcfile = None
        warnings.append(str(exc))

    instrume = keywords.get("INSTRUME") if isinstance(keywords.get("INSTRUME"), str) else ""
    instrument = parsed_arcfile.instrument if parsed_arcfile else ""
    instance = context.instance_for(instrument, instrume)
    if not instrument:
        instrument = instance.instrument if instance else (instrume or "UNKNOWN")[:20]
    offset = instance.night_offset_hours if instance else 0.0

    moment, mjd_obs, date_obs = _observation_time(keywords, parsed_arcfile, warnings)
    prog_id = _text(keywords, "OBS.PROG.ID", 40, warnings)
    run_id = ""
    if prog_id:
        try:
            run_id = parse_run_id(prog_id).run_id or ""
        except InvalidRunId as exc:
            warnings.append(f"OBS.PROG.ID: {exc}")
        else:
            if not run_id:
                warnings.append(f"OBS.PROG.ID {prog_id!r} has no run letter")
    obs_id = keywords.get("OBS.ID")
    if isinstance(obs_id, bool) or not isinstance(obs_id, int) or not 0 <= obs_id < 2**63:
        obs_id = None

    absolute = os.path.abspath(path)
    return {
        "arcfile": arcfile,
        "instrument": instrument,
        "origfile": _text(keywords, "ORIGFILE", 200, warnings),
        "path": absolute if read.kind == "fits" else None,
        "header_path": absolute if read.kind == "hdr" else "",
        "night": night_of(moment, offset),
        "mjd_obs": mjd_obs,
        "date_obs": date_obs or moment,
        "exptime": _number(keywords, "EXPTIME", warnings),
        "object": _text(keywords, "OBJECT", 80, warnings),
        "dpr_catg": _text(keywords, "DPR.CATG", 40, warnings),
        "dpr_type": _text(keywords, "DPR.TYPE", 60, warnings),
        "dpr_tech": _text(keywords, "DPR.TECH", 60, warnings),
        "prog_id": prog_id,
        "run_id": run_id,
        "obs_id": obs_id,
        "obs_name": _text(keywords, "OBS.NAME", 80, warnings),
        "tpl_id": _text(keywords, "TPL.ID", 80, warnings),
        "tpl_start": _text(keywords, "TPL.START", 30, warnings),
        "keywords": keywords,
        "header": read.compressed(),
        "header_digest": read.digest,
        "warnings": warnings,
    }


def _observation_time(keywords, parsed_arcfile, warnings):
    """(moment the night follows, MJD-OBS, DATE-OBS): MJD-OBS, else DATE-OBS, else ARCFILE."""
    mjd_obs = _number(keywords, "MJD-OBS", warnings)
    date_obs = None
    if isinstance(keywords.get("DATE-OBS"), str):
        try:
            date_obs = parse_date_obs(keywords["DATE-OBS"])
        except ValueError as exc:
            warnings.append(str(exc))
    if mjd_obs is not None:
        moment = mjd_to_datetime(mjd_obs)
        if date_obs is not None and abs(moment - date_obs) > timedelta(seconds=1):
            warnings.append(
                f"MJD-OBS {mjd_obs} and DATE-OBS {keywords['DATE-OBS']} differ by "
                f"{abs(moment - date_obs).total_seconds():.0f} s; the night follows MJD-OBS"
            )
        return moment, mjd_obs, date_obs
    if date_obs is not None:
        return date_obs, None, date_obs
    if parsed_arcfile is not None:
        warnings.append("no MJD-OBS or DATE-OBS: the night follows the ARCFILE time")
        return parsed_arcfile.timestamp, None, None
    raise FrameError("no MJD-OBS, DATE-OBS or ARCFILE time: cannot assign a night")


def arcfile_from_file_name(name):
    lower = name.lower()
    for suffix in sorted(FITS_SUFFIXES + HDR_SUFFIXES, key=len, reverse=True):
        if lower.endswith(suffix):
            name = name[: -len(suffix)]
            break
    return f"{name}.fits"
