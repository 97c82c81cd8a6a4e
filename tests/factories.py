"""Small builders for test data: raw FITS frames with the keywords a test needs."""

from datetime import datetime, timedelta, timezone

import numpy as np
from astropy.io import fits

from processing.conventions import datetime_to_mjd, make_arcfile


def frame_header(moment, *, instrument="NACO", catg="CALIB", type_="DARK", tech="IMAGE",
                 prog_id="60.A-9800(J)", dit=2.0, arcfile=True, **extra):
    """A NACO-like primary header for an observation starting at UT `moment`."""
    header = fits.Header()
    if arcfile:
        header["ARCFILE"] = make_arcfile(instrument, moment)
    header["INSTRUME"] = "NAOS+CONICA" if instrument == "NACO" else instrument
    header["TELESCOP"] = "ESO-VLT-U4"
    header["MJD-OBS"] = round(datetime_to_mjd(moment), 8)
    header["DATE-OBS"] = moment.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-2]
    header["EXPTIME"] = dit
    header["OBJECT"] = type_
    header["HIERARCH ESO DPR CATG"] = catg
    header["HIERARCH ESO DPR TYPE"] = type_
    header["HIERARCH ESO DPR TECH"] = tech
    header["HIERARCH ESO OBS PROG ID"] = prog_id
    header["HIERARCH ESO OBS ID"] = 200000000 + moment.minute
    header["HIERARCH ESO TPL ID"] = "NACO_img_cal_Darks"
    header["HIERARCH ESO TPL START"] = moment.strftime("%Y-%m-%dT%H:%M:%S")
    header["HIERARCH ESO DET DIT"] = dit
    header["HIERARCH ESO DET NDIT"] = 10
    header["HIERARCH ESO TEL AIRM START"] = 1.2
    for key, value in extra.items():
        header[key] = value
    return header


def write_frame(directory, moment, name=None, data_shape=(8, 8), **kwargs):
    header = frame_header(moment, **kwargs)
    name = name or header.get("ARCFILE") or f"frame_{moment:%H%M%S}.fits"
    path = directory / name
    path.parent.mkdir(parents=True, exist_ok=True)
    fits.writeto(path, np.zeros(data_shape, dtype=np.int16), header, overwrite=True)
    return path


def write_night(directory, night_start, count, **kwargs):
    """`count` frames a minute apart from 23:00 UT of the given date."""
    start = datetime(night_start.year, night_start.month, night_start.day, 23,
                     tzinfo=timezone.utc)
    return [write_frame(directory, start + timedelta(minutes=i), **kwargs) for i in range(count)]
