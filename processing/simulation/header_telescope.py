"""Header cards of the telescope and the adaptive optics: TEL, ADA, AOS.

Phoenix does not classify on these, but real raw headers carry them and the data pool
stores them (the NACO instance keeps AOS and TEL); the pipeline reads TEL.AIRM and the AOS
real-time-computer averages. Values follow the pointing and time of the frame; ambient
conditions vary per frame around a nightly mean drawn from the seed.
"""

import math

from processing.simulation import instrument as naco
from processing.simulation import sky
from processing.simulation.fitsfile import Fixed
from processing.simulation.seeds import rng_for


def ambient_conditions(seed, exposure):
    """Seeing, wind, humidity …: a nightly mean (from the seed) plus per-frame scatter."""
    nightly = rng_for(seed, "ambient", exposure.night.isoformat())
    frame = rng_for(seed, "ambient", exposure.arcfile)
    seeing = float(nightly.uniform(0.55, 1.1) * frame.uniform(0.9, 1.12))
    return {
        "seeing": seeing,
        "tau0": float(nightly.uniform(0.0015, 0.006) * frame.uniform(0.9, 1.1)),
        "temp": float(nightly.uniform(7.0, 14.0) + frame.normal(0, 0.2)),
        "rhum": float(nightly.uniform(5.0, 30.0) + frame.normal(0, 0.5)),
        "pres": float(nightly.uniform(742.0, 746.0) + frame.normal(0, 0.05)),
        "winddir": float(nightly.uniform(0, 360) + frame.normal(0, 8)) % 360.0,
        "windsp": float(abs(nightly.uniform(2.0, 12.0) + frame.normal(0, 0.6))),
        "strehl": float(frame.uniform(0.15, 0.45)),
        "r0": float(0.98 * 0.5e-6 / (seeing / 206264.8) * frame.uniform(0.95, 1.05)),
        "flux": float(frame.uniform(2000, 9000)),
        "focus": float(frame.normal(0, 0.02)),
        "ins_temp": float(frame.normal(0.0, 0.05)),
    }


def tel_cards(add, exposure, ra, dec, alt, az, alt_end, ambient):
    start, end = exposure.start, exposure.end
    pixel_ra = exposure.block.ra if exposure.block.ra is not None else ra
    parang_start = sky.parallactic_angle(start, ra, dec)
    parang_end = sky.parallactic_angle(end, ra, dec)
    add(("TEL DID", "ESO-VLT-DIC.TCS-01.00", "Data dictionary for TEL"))
    add(("TEL ID", "v 1.112", "TCS version number"))
    add(("TEL DATE", "2001-11-20T12:00:00.000", "TCS installation date"))
    add(("TEL ALT", Fixed(alt, 3), "Alt angle at start (deg)"))
    add(("TEL AZ", Fixed(az, 3), "Az angle at start (deg) S=0,W=90"))
    add(("TEL GEOELEV", naco.SITE_ELEVATION, "Elevation above sea level (m)"))
    add(("TEL GEOLAT", naco.SITE_LATITUDE, "Tel geo latitude (+=North) (deg)"))
    add(("TEL GEOLON", naco.SITE_LONGITUDE, "Tel geo longitude (+=East) (deg)"))
    add(("TEL OPER", "I, Condor", "Telescope Operator"))
    add(("TEL FOCU ID", "NB", "Telescope focus station ID"))
    add(("TEL FOCU LEN", 120.0, "Focal length (m)"))
    add(("TEL FOCU SCALE", 1.718, "Focal scale (arcsec/mm)"))
    add(("TEL FOCU VALUE", Fixed(-19.685 + ambient["focus"], 3), "M2 setting (mm)"))
    add(("TEL PARANG START", Fixed(parang_start, 3), "Parallactic angle at start (deg)"))
    add(("TEL PARANG END", Fixed(parang_end, 3), "Parallactic angle at end (deg)"))
    add(("TEL AIRM START", Fixed(sky.airmass(alt), 3), "Airmass at start"))
    add(("TEL AIRM END", Fixed(sky.airmass(alt_end), 3), "Airmass at end"))
    seeing, pressure = ambient["seeing"], ambient["pres"]
    add(("TEL AMBI FWHM START", Fixed(seeing, 2), "Observatory Seeing queried from AS"))
    add(("TEL AMBI FWHM END", Fixed(seeing * 1.02, 2), "Observatory Seeing queried from AS"))
    add(("TEL AMBI PRES START", Fixed(pressure, 2), "Observatory ambient air pressure q"))
    add(("TEL AMBI PRES END", Fixed(pressure + 0.03, 2), "Observatory ambient air pressure q"))
    add(("TEL AMBI RHUM", Fixed(ambient["rhum"], 1), "Observatory ambient relative humi"))
    add(("TEL AMBI TEMP", Fixed(ambient["temp"], 2), "Observatory ambient temperature qu"))
    add(("TEL AMBI WINDDIR", Fixed(ambient["winddir"], 1), "Observatory ambient wind directio"))
    add(("TEL AMBI WINDSP", Fixed(ambient["windsp"], 2), "Observatory ambient wind speed que"))
    add(("TEL AMBI TAU0", Fixed(ambient["tau0"], 6), "Average coherence time"))
    add(("TEL IA FWHM", Fixed(seeing * 0.95, 2), "Delivered seeing corrected by airmass"))
    add(("TEL IA FWHMLIN", Fixed(seeing * 0.9, 2), "Delivered seeing on IA detector"))
    add(("TEL MOON RA", Fixed(_moon(exposure)[0], 6), "~RA (J2000) (deg)"))
    add(("TEL MOON DEC", Fixed(_moon(exposure)[1], 6), "~DEC (J2000) (deg)"))
    add(("TEL TH M1 TEMP", Fixed(ambient["temp"] - 0.6, 2), "M1 superficial temperature"))
    add(("TEL TRAK STATUS", "NORMAL", "Tracking status"))
    add(("TEL DOME STATUS", "FULLY-OPEN", "Dome status"))
    add(("TEL CHOP ST", False, "True when chopping is active"))
    add(("TEL TARG ALPHA", Fixed(sky.eso_alpha(pixel_ra), 3), "Alpha coordinate for the target"))
    delta = sky.eso_delta(exposure.block.dec)
    add(("TEL TARG DELTA", Fixed(delta, 2), "Delta coordinate for the target"))
    add(("TEL TARG COORDTYPE", "M", "Coordinate type (M=mean A=apparent)"))
    add(("TEL TARG EPOCH", 2000.0, "Epoch"))
    add(("TEL TARG EPOCHSYSTEM", "J", "Epoch system (default J=Julian)"))
    add(("TEL TARG EQUINOX", 2000.0, "Equinox"))
    add(("TEL TARG PMA", 0.0, "Proper Motion Alpha"))
    add(("TEL TARG PMD", 0.0, "Proper motion Delta"))
    add(("TEL TARG RADVEL", 0.0, "Radial velocity of target"))
    add(("TEL TARG PARALLAX", 0.0, "Parallax"))
    add(("TEL TARG OFFSETALPHA", 0.0, "Offset in alpha (arcsec)"))
    add(("TEL TARG OFFSETDELTA", 0.0, "Offset in delta (arcsec)"))


def _moon(exposure):
    """Approximate lunar position: enough to vary plausibly from night to night."""
    days = (exposure.start - sky.J2000).total_seconds() / 86400.0
    longitude = math.radians((218.316 + 13.176396 * days) % 360.0)
    ra = math.degrees(math.atan2(math.sin(longitude) * math.cos(math.radians(23.44)),
                                 math.cos(longitude))) % 360.0
    dec = math.degrees(math.asin(math.sin(longitude) * math.sin(math.radians(23.44))))
    return ra, dec


def ada_cards(add, exposure, ra, dec):
    start, end = exposure.start, exposure.end
    rot_start = sky.parallactic_angle(start, ra, dec) - sky.alt_az(start, ra, dec)[0]
    rot_end = sky.parallactic_angle(end, ra, dec) - sky.alt_az(end, ra, dec)[0]
    add(("ADA ABSROT START", Fixed(rot_start, 4), "Abs rot angle at exp start (deg)"))
    add(("ADA ABSROT END", Fixed(rot_end, 4), "Abs rot angle at exp end (deg)"))
    add(("ADA POSANG", 0.0, "Position angle at start"))
    guiding = "OFF" if exposure.block.target is None else "ON"
    add(("ADA GUID STATUS", guiding, "Status of autoguider"))


def aos_cards(add, exposure, ambient):
    """NAOS: the wavefront sensor and the loop; the loop is open for calibrations."""
    closed = exposure.block.target is not None and exposure.kind != "lampflat"
    add(("AOS DID", "ESO-VLT-DIC.NAOS-1.62", "Data dictionary for AOS"))
    add(("AOS ID", "NAOS/4.114", "NAOS software version"))
    add(("AOS INS DICH POSNAM", "N90C10" if closed else "N20C80", "Dichroic position name"))
    add(("AOS INS FOCU ABSPOS", Fixed(7.45 + ambient["focus"], 4), "Focus absolute position (mm)"))
    add(("AOS INS ADC1 ST", True, "ADC status"))
    add(("AOS OCS WFS MODE", "VIS", "Wavefront sensor mode"))
    add(("AOS OCS WFS TYPE", "VIS_14x14", "Wavefront sensor type"))
    add(("AOS OCS LOOP ST", closed, "Loop status (T=closed)"))
    add(("AOS OCS GS MAG", Fixed(10.5, 2) if closed else 0.0, "Guide star magnitude"))
    add(("AOS OCS GS ALPHA", 0.0, "Guide star offset alpha (arcsec)"))
    add(("AOS OCS GS DELTA", 0.0, "Guide star offset delta (arcsec)"))
    add(("AOS RTC LOOP STATE", "CLOSED" if closed else "OPEN", "Real-time computer loop state"))
    add(("AOS RTC GAIN", 0.32 if closed else 0.0, "Loop gain"))
    add(("AOS RTC FREQ", 444.0 if closed else 0.0, "Loop frequency (Hz)"))
    add(("AOS RTC NMODES", 120 if closed else 0, "Number of corrected modes"))
    for name, value, comment in (
        ("ECMEAN", ambient["strehl"] * 100 if closed else 0.0, "Mean Strehl estimate (%)"),
        ("FLUXMEAN", ambient["flux"] if closed else 0.0, "Mean WFS flux (ADU)"),
        ("L0MEAN", 22.0 if closed else 0.0, "Mean outer scale (m)"),
        ("R0MEAN", ambient["r0"] if closed else 0.0, "Mean Fried parameter at 0.5um (m)"),
        ("T0MEAN", ambient["tau0"] if closed else 0.0, "Mean coherence time (s)"),
        ("NOISEMEAN", 0.021 if closed else 0.0, "Mean WFS noise (rad2)"),
    ):
        add((f"AOS RTC DET DST {name}", Fixed(value, 5), comment))
