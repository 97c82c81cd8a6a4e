"""Realistic ~1000-card ESO raw headers for benchmarks.

The mix of keyword categories follows a NACO raw frame: a few dozen standard cards, then
HIERARCH ESO cards of the observation (OBS, TPL, DPR), the telescope and adapter (TEL, ADA),
the adaptive optics (AOS, the largest group for NACO), the instrument (INS), the detector
(DET), the sequencer (SEQ) and the control software (OCS). Values have the types and shapes
of real cards: names, modes, floats with 4–8 digits, integers, T/F flags, dates.
"""

from datetime import datetime, timedelta, timezone

import numpy as np
from astropy.io import fits

from processing.conventions import datetime_to_mjd, make_arcfile

#: category → number of cards (sums to ~960 HIERARCH cards + ~40 standard cards)
CATEGORIES = {
    "OBS": 16, "TPL": 10, "DPR": 3, "TEL": 95, "ADA": 12, "AOS": 290, "INS": 230, "DET": 160,
    "SEQ": 24, "OCS": 40, "GEN": 20, "RTD": 60,
}  # fmt: skip
WORDS = ["NAME", "ID", "TYPE", "MODE", "POS", "ENC", "TEMP", "VAL", "STATUS", "START", "END",
         "OFFSET", "GAIN", "RATE", "MEAN", "RMS", "MIN", "MAX", "LIM", "SEL"]  # fmt: skip
FILTERS = ["J", "H", "Ks", "L_prime", "NB_2.17", "NB_1.64", "IB_2.27"]
MODES = ["Double_RdRstRd", "FowlerNsamp", "Uncorr", "HighDynamic", "HighSensitivity"]


class _Cards(dict):
    """Ordered keyword → value pairs (astropy's Header is quadratic when filled card by card)."""


def header(index, rng, start):
    """The index-th header of a run: a NACO science frame observed 37 s after the previous."""
    moment = start + timedelta(seconds=37 * index + rng.uniform(0, 5))
    card = _Cards()
    card["ORIGIN"] = "ESO"
    card["DATE"] = moment.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3]
    card["TELESCOP"] = "ESO-VLT-U4"
    card["INSTRUME"] = "NAOS+CONICA"
    card["OBJECT"] = f"TARGET_{index % 17}"
    card["RA"] = round(float(rng.uniform(0, 360)), 6)
    card["DEC"] = round(float(rng.uniform(-89, 30)), 6)
    card["EQUINOX"] = 2000.0
    card["RADECSYS"] = "FK5"
    card["EXPTIME"] = round(float(rng.choice([0.3454, 1.7927, 10.0, 30.0])), 4)
    card["MJD-OBS"] = round(datetime_to_mjd(moment), 8)
    card["DATE-OBS"] = moment.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-2]
    card["UTC"] = float(moment.hour * 3600 + moment.minute * 60 + moment.second)
    card["LST"] = round(float(rng.uniform(0, 86400)), 3)
    card["PI-COI"] = "UNKNOWN"
    card["OBSERVER"] = "UNKNOWN"
    card["ARCFILE"] = make_arcfile("NACO", moment)
    card["ORIGFILE"] = f"NACO_IMG_SCI{moment:%j}_{index:04d}.fits"
    card["HIERARCH ESO DPR CATG"] = "SCIENCE"
    card["HIERARCH ESO DPR TYPE"] = "OBJECT"
    card["HIERARCH ESO DPR TECH"] = "IMAGE,JITTER"
    card["HIERARCH ESO OBS PROG ID"] = f"08{3 + index % 2}.D-0{100 + index % 50}(A)"
    card["HIERARCH ESO OBS ID"] = int(200000000 + index // 20)
    card["HIERARCH ESO TPL START"] = moment.strftime("%Y-%m-%dT%H:%M:%S")
    card["HIERARCH ESO TPL ID"] = "NACO_img_obs_AutoJitter"
    card["HIERARCH ESO DET DIT"] = card["EXPTIME"]
    card["HIERARCH ESO DET NDIT"] = int(rng.integers(1, 60))
    card["HIERARCH ESO INS OPTI6 NAME"] = str(rng.choice(FILTERS))
    card["HIERARCH ESO DET MODE NAME"] = str(rng.choice(MODES))
    for category, count in CATEGORIES.items():
        for number in range(count):
            word = WORDS[number % len(WORDS)]
            key = f"HIERARCH ESO {category} SUB{number // 7} P{number % 7} {word}"
            card[key] = _value(word, rng, moment)
    return card


def _value(word, rng, moment):
    roll = rng.random()
    if word in {"NAME", "TYPE", "MODE", "SEL", "STATUS"}:
        return str(rng.choice(["OPEN", "CLOSED", "REF", "S27", "S13", "L27", "Ks", "AUTO"]))
    if word in {"START", "END"} and roll < 0.3:
        return (moment + timedelta(seconds=float(rng.uniform(-600, 600)))).strftime(
            "%Y-%m-%dT%H:%M:%S"
        )
    if word in {"ID", "ENC", "POS"}:
        return int(rng.integers(-200000, 2000000))
    if roll < 0.08:
        return bool(rng.integers(2))
    return round(float(rng.normal(0, 10.0 ** rng.integers(-3, 4))), int(rng.integers(2, 8)))


def write_headers(directory, count, seed=1):
    """Write `count` small FITS files (16×16 int16 data) with realistic headers.

    astropy formats each card; the header is assembled here because filling an astropy
    Header card by card is quadratic, which would dominate a 10 000-file run.
    """
    rng = np.random.default_rng(seed)
    start = datetime(2009, 6, 15, 23, tzinfo=timezone.utc)
    data = np.zeros((16, 16), dtype=">i2").tobytes()
    data += b"\0" * (-len(data) % 2880)
    structure = fits.Header()
    structure["SIMPLE"] = True
    structure["BITPIX"] = 16
    structure["NAXIS"] = 2
    structure["NAXIS1"] = 16
    structure["NAXIS2"] = 16
    structure["EXTEND"] = True
    paths = []
    for index in range(count):
        head = header(index, rng, start)
        cards = [fits.Card(key, value).image for key, value in head.items()]
        text = "".join(card.image for card in structure.cards) + "".join(cards) + "END".ljust(80)
        text += " " * (-len(text) % 2880)
        path = directory / head["ARCFILE"]
        path.write_bytes(text.encode("ascii") + data)
        paths.append(path)
    return paths
