"""The primary header of a simulated NACO raw frame, card by card.

Why so many cards: the pipeline recipes read DPR, DET (DIT, NDIT, NCORRS, NCORRS.NAME,
MODE.NAME), INS (OPTI4/5/6 IDs for the filter, OPTI7 for the camera, PIXSCALE, CWLEN), TPL,
SEQ (CUMOFFSETX/Y), TEL (AIRM), AOS and the standard keywords; Phoenix's own rules read OBS,
TPL and DPR; and a realistic data pool import sees a few hundred cards per frame in the
categories a real ESO raw header has (TEL, ADA, AOS, INS, DET, OCS, DPR, OBS, TPL, SEQ).
Values are derived from the plan (times, pointing, setup, offsets) so that they agree with
each other and with the pixels; ambient conditions vary per frame around a nightly mean.
"""

import math
from datetime import timedelta

from processing.conventions import datetime_to_mjd
from processing.simulation import instrument as naco
from processing.simulation import sky
from processing.simulation.fitsfile import Fixed, card, fits_date
from processing.simulation.header_instrument import (
    ORIGFILE_PREFIX,
    det_cards,
    ins_cards,
    ocs_cards,
)
from processing.simulation.header_telescope import (
    ada_cards,
    ambient_conditions,
    aos_cards,
    tel_cards,
)

TEMPLATE_VERSION = "@(#) $Revision: 1.58 $"


def pointing(exposure):
    """(RA, Dec) of the frame in degrees and the telescope offset in arcsec (A, D) it includes.

    The field moves by +CUMOFFSETX/Y pixels on the detector (north up, east left), so the
    telescope moved east by X and south by Y pixels."""
    block = exposure.block
    pixscale = naco.CAMERAS[exposure.setup.camera].pixscale
    offset_a = exposure.offset[0] * pixscale
    offset_d = -exposure.offset[1] * pixscale
    if block.ra is None:  # calibrations: the telescope near the zenith
        ra = sky.local_sidereal_time(exposure.start) / 240.0
        return ra, block.dec, 0.0, 0.0
    ra = block.ra + offset_a / 3600.0 / math.cos(math.radians(block.dec))
    return ra % 360.0, block.dec + offset_d / 3600.0, offset_a, offset_d


def header_cards(exposure, seed, sequence_number, previous_offset, with_arcfile=True):
    """Card images (80 characters each, no END, no CHECKSUM) of one exposure."""
    entries = []
    add = entries.append
    setup = exposure.setup
    camera = naco.CAMERAS[setup.camera]
    start, end = exposure.start, exposure.end
    written = end + timedelta(seconds=2)
    ra, dec, offset_a, offset_d = pointing(exposure)
    alt, az = sky.alt_az(start, ra, dec)
    alt_end, _ = sky.alt_az(end, ra, dec)
    ambient = ambient_conditions(seed, exposure)
    block, template = exposure.block, exposure.template
    target = block.target.name if block.target else exposure.dpr[1]
    calibration = exposure.dpr[0] == "CALIB" and exposure.kind != "std"

    add(("SIMPLE", True, "Standard FITS format (NOST-100-2.0)"))
    add(("BITPIX", -32, "# of bits storing pix values"))
    add(("NAXIS", 2, "# of axes in frame"))
    add(("NAXIS1", naco.WINDOW, "# pixels/axis"))
    add(("NAXIS2", naco.WINDOW, "# pixels/axis"))
    add(("EXTEND", True, "FITS Extension may be present"))
    add(("ORIGIN", "ESO", "European Southern Observatory"))
    add(("DATE", fits_date(written, millis=False), "Date the file was written"))
    add(("TELESCOP", naco.TELESCOP, "ESO Telescope Name"))
    add(("INSTRUME", naco.INSTRUME, "Instrument used"))
    add(("OBJECT", exposure.dpr[1] if calibration else target, "Original target"))
    add(("RA", Fixed(ra, 6), f"{sky.sexagesimal_ra(ra)} RA (J2000) pointing"))
    add(("DEC", Fixed(dec, 6), f"{sky.sexagesimal_dec(dec)} DEC (J2000) pointing"))
    add(("EQUINOX", 2000.0, "Standard FK5 (years)"))
    add(("RADECSYS", "FK5", "Coordinate reference frame"))
    add(("EXPTIME", Fixed(exposure.exptime, 4), "Integration time"))
    add(("MJD-OBS", Fixed(datetime_to_mjd(start), 8), "Obs start"))
    add(("DATE-OBS", fits_date(start), "Observing date"))
    seconds = start.hour * 3600 + start.minute * 60 + start.second + start.microsecond / 1e6
    add(("UTC", Fixed(seconds, 3), f"{start:%H:%M:%S}.{start.microsecond // 1000:03d} UTC"))
    add(("LST", Fixed(sky.local_sidereal_time(start), 3), "Local sidereal time"))
    add(("AIRMASS", Fixed((sky.airmass(alt) + sky.airmass(alt_end)) / 2, 4), "Averaged air mass"))
    add(("PI-COI", block.pi, "PI-COI name."))
    add(("OBSERVER", block.observer, "Name of observer."))
    half = naco.WINDOW / 2 + 0.5
    add(("CTYPE1", "RA---TAN", "pixel coordinate system"))
    add(("CTYPE2", "DEC--TAN", "pixel coordinate system"))
    add(("CRVAL1", Fixed(ra, 6), "RA at ref pixel"))
    add(("CRVAL2", Fixed(dec, 6), "DEC at ref pixel"))
    add(("CRPIX1", half, "Ref pixel in X"))
    add(("CRPIX2", half, "Ref pixel in Y"))
    add(("CD1_1", Fixed(-camera.pixscale / 3600.0, 10), "Translation matrix element"))
    add(("CD1_2", 0.0, "Translation matrix element"))
    add(("CD2_1", 0.0, "Translation matrix element"))
    add(("CD2_2", Fixed(camera.pixscale / 3600.0, 10), "Translation matrix element"))
    if with_arcfile:
        add(("ARCFILE", exposure.arcfile, "Archive File Name"))
    day = start.timetuple().tm_yday
    origfile = f"{ORIGFILE_PREFIX[exposure.kind]}{day:03d}_{sequence_number:04d}.fits"
    add(("ORIGFILE", origfile, "Original File Name"))

    _obs_cards(add, exposure, target)
    _tpl_cards(add, exposure)
    tel_cards(add, exposure, ra, dec, alt, az, alt_end, ambient)
    ada_cards(add, exposure, ra, dec)
    aos_cards(add, exposure, ambient)
    ins_cards(add, exposure, ambient)
    det_cards(add, exposure, sequence_number, written)
    ocs_cards(add, exposure)
    _seq_cards(add, exposure, previous_offset, offset_a, offset_d)
    add(("DPR CATG", exposure.dpr[0], "Observation category"))
    add(("DPR TYPE", exposure.dpr[1], "Observation type"))
    add(("DPR TECH", exposure.dpr[2], "Observation technique"))
    return [card(*entry) for entry in entries]


def _obs_cards(add, exposure, target):
    block, template = exposure.block, exposure.template
    add(("OBS DID", "ESO-VLT-DIC.OBS-1.11", "OBS Dictionary"))
    add(("OBS EXECTIME", 0, "Expected execution time"))
    add(("OBS GRP", "0", "linked blocks"))
    add(("OBS ID", block.obs_id, "Observation block ID"))
    add(("OBS NAME", block.name, "OB name"))
    add(("OBS OBSERVER", block.observer, "Observer Name"))
    add(("OBS PI-COI ID", block.pi_id, "ESO internal PI-COI ID"))
    add(("OBS PI-COI NAME", block.pi, "PI-COI name"))
    add(("OBS PROG ID", block.run_id, "ESO program identification"))
    add(("OBS START", fits_date(block.start, millis=False), "OB start time"))
    add(("OBS TARG NAME", target if block.target else "", "OB target name"))
    add(("OBS TPLNO", template.number, "Template number within OB"))


def _tpl_cards(add, exposure):
    template = exposure.template
    add(("TPL DID", "ESO-VLT-DIC.TPL-1.9", "Data dictionary for TPL"))
    add(("TPL EXPNO", exposure.expno, "Exposure number within template"))
    add(("TPL ID", template.tpl_id, "Template signature ID"))
    add(("TPL NAME", template.name, "Template name"))
    add(("TPL NEXP", template.nexp, "Number of exposures within templat"))
    add(("TPL PRESEQ", f"{template.tpl_id}.seq", "Sequencer script"))
    add(("TPL START", fits_date(template.start, millis=False), "TPL start time"))
    add(("TPL VERSION", TEMPLATE_VERSION, "Version of the template"))


def _seq_cards(add, exposure, previous_offset, offset_a, offset_d):
    """Jitter offsets: SEQ.CUMOFFSETX/Y in pixels (what naco_img_jitter reads), A/D in arcsec."""
    x, y = exposure.offset
    px, py = previous_offset
    pixscale = naco.CAMERAS[exposure.setup.camera].pixscale
    add(("SEQ CUMOFFSETA", Fixed(offset_a, 3), "Cumulative offset in alpha (arcsec)"))
    add(("SEQ CUMOFFSETD", Fixed(offset_d, 3), "Cumulative offset in delta (arcsec)"))
    add(("SEQ CUMOFFSETX", Fixed(x, 2), "Cumulative offset in X (pixels)"))
    add(("SEQ CUMOFFSETY", Fixed(y, 2), "Cumulative offset in Y (pixels)"))
    add(("SEQ RELOFFSETA", Fixed((x - px) * pixscale, 3), "Relative offset in alpha (arcsec)"))
    add(("SEQ RELOFFSETD", Fixed(-(y - py) * pixscale, 3), "Relative offset in delta (arcsec)"))
    add(("SEQ RELOFFSETX", Fixed(x - px, 2), "Relative offset in X (pixels)"))
    add(("SEQ RELOFFSETY", Fixed(y - py, 2), "Relative offset in Y (pixels)"))
    if exposure.template.jitter_width:
        add(("SEQ JITTER WIDTH", exposure.template.jitter_width, "Jitter box size (arcsec)"))
        add(("SEQ NEXPO", exposure.template.nexp, "Number of exposures"))
