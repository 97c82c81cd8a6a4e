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
from processing.simulation.fitsfile import Fixed, card
from processing.simulation.seeds import rng_for

ORIGFILE_PREFIX = {
    "dark": "NACO_IMG_CAL", "flat": "NACO_IMG_CAL", "lampflat": "NACO_IMG_CAL",
    "std": "NACO_IMG_STD", "jitter": "NACO_IMG_SCI", "acquisition": "NACO_IMG_ACQ",
    "spectrum": "NACO_SPEC_SCI", "polarimetry": "NACO_POL_SCI", "coronagraphy": "NACO_CORO_SCI",
}
TEMPLATE_VERSION = "@(#) $Revision: 1.58 $"
OPTI_TYPES = {1: "SLIT", 2: "MASK", 3: "MASK", 4: "FILTER", 5: "FILTER", 6: "FILTER", 7: "CAMERA"}
OPTI_DEFAULTS = {1: "empty", 2: "Clear", 3: "Full", 4: "empty", 5: "empty", 6: "empty"}
#: CONICA cryostat temperature sensors (K).
INS_SENSORS = (("Detector", 27.0), ("Cold bench", 70.1), ("Camera wheel", 68.4),
               ("Filter wheel 1", 69.2), ("Filter wheel 2", 69.5), ("Radiation shield", 88.7))


def iso(moment, millis=True):
    text = moment.strftime("%Y-%m-%dT%H:%M:%S")
    return f"{text}.{moment.microsecond // 1000:03d}" if millis else text


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
    ambient = _ambient(seed, exposure)
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
    add(("DATE", iso(written, millis=False), "Date the file was written"))
    add(("TELESCOP", naco.TELESCOP, "ESO Telescope Name"))
    add(("INSTRUME", naco.INSTRUME, "Instrument used"))
    add(("OBJECT", exposure.dpr[1] if calibration else target, "Original target"))
    add(("RA", Fixed(ra, 6), f"{sky.sexagesimal_ra(ra)} RA (J2000) pointing"))
    add(("DEC", Fixed(dec, 6), f"{sky.sexagesimal_dec(dec)} DEC (J2000) pointing"))
    add(("EQUINOX", 2000.0, "Standard FK5 (years)"))
    add(("RADECSYS", "FK5", "Coordinate reference frame"))
    add(("EXPTIME", Fixed(exposure.exptime, 4), "Integration time"))
    add(("MJD-OBS", Fixed(datetime_to_mjd(start), 8), "Obs start"))
    add(("DATE-OBS", iso(start), "Observing date"))
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
    _tel_cards(add, exposure, ra, dec, alt, az, alt_end, ambient)
    _ada_cards(add, exposure, ra, dec)
    _aos_cards(add, exposure, ambient)
    _ins_cards(add, exposure, ambient)
    _det_cards(add, exposure, sequence_number, written)
    _ocs_cards(add, exposure)
    _seq_cards(add, exposure, previous_offset, offset_a, offset_d)
    add(("DPR CATG", exposure.dpr[0], "Observation category"))
    add(("DPR TYPE", exposure.dpr[1], "Observation type"))
    add(("DPR TECH", exposure.dpr[2], "Observation technique"))
    return [card(*entry) for entry in entries]


def _ambient(seed, exposure):
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
    add(("OBS START", iso(block.start, millis=False), "OB start time"))
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
    add(("TPL START", iso(template.start, millis=False), "TPL start time"))
    add(("TPL VERSION", TEMPLATE_VERSION, "Version of the template"))


def _tel_cards(add, exposure, ra, dec, alt, az, alt_end, ambient):
    start, end = exposure.start, exposure.end
    pixel_ra = exposure.block.ra if exposure.block.ra is not None else ra
    parang_start = sky.parallactic_angle(start, ra, dec)
    parang_end = sky.parallactic_angle(end, ra, dec)
    add(("TEL DID", "ESO-VLT-DIC.TCS-01.00", "Data dictionary for TEL"))
    add(("TEL ID", "v 1.112", "TCS version number"))
    add(("TEL DATE", "2009-02-16T14:55:00.000", "TCS installation date"))
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


def _ada_cards(add, exposure, ra, dec):
    start, end = exposure.start, exposure.end
    rot_start = sky.parallactic_angle(start, ra, dec) - sky.alt_az(start, ra, dec)[0]
    rot_end = sky.parallactic_angle(end, ra, dec) - sky.alt_az(end, ra, dec)[0]
    add(("ADA ABSROT START", Fixed(rot_start, 4), "Abs rot angle at exp start (deg)"))
    add(("ADA ABSROT END", Fixed(rot_end, 4), "Abs rot angle at exp end (deg)"))
    add(("ADA POSANG", 0.0, "Position angle at start"))
    guiding = "OFF" if exposure.block.target is None else "ON"
    add(("ADA GUID STATUS", guiding, "Status of autoguider"))


def _aos_cards(add, exposure, ambient):
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


def _opti(setup):
    """IDs of the seven CONICA wheels for a setup (filters by wheel, the camera, overrides)."""
    ids = dict(OPTI_DEFAULTS)
    if setup.filter:
        ids[4], ids[5], ids[6] = naco.wheel_ids(setup.filter)
    ids[7] = setup.camera
    for name, value in setup.optics:
        ids[int(name[4:])] = value
    return ids


def _ins_cards(add, exposure, ambient):
    setup = exposure.setup
    ids = _opti(setup)
    add(("INS DID", "ESO-VLT-DIC.CONICA_ICS-1.38", "Data dictionary for INS"))
    add(("INS ID", "CONICA/2.19", "Instrument ID"))
    add(("INS SWSIM", "NORMAL", "Software simulation"))
    cwlen = naco.FILTERS[setup.filter].cwlen if setup.filter else 0.0
    add(("INS CWLEN", cwlen, "Central wavelength (micron)"))
    add(("INS PIXSCALE", naco.CAMERAS[setup.camera].pixscale, "Pixel scale (arcsec)"))
    add(("INS MODE", _ins_mode(exposure), "Instrument mode used"))
    for number in range(1, 8):
        add((f"INS OPTI{number} ID", ids[number], "OPTIi unique ID"))
        add((f"INS OPTI{number} NAME", ids[number], "OPTIi name"))
        add((f"INS OPTI{number} NO", _wheel_position(number, ids[number]), "OPTIi slot number"))
        add((f"INS OPTI{number} TYPE", OPTI_TYPES[number], "OPTIi element type"))
    lamp_on = exposure.kind == "lampflat" and exposure.lamp
    add(("INS LAMP1 NAME", "Argon", "Name of lamp"))
    add(("INS LAMP1 ST", False, "Lamp status"))
    add(("INS LAMP2 NAME", "Halogen", "Name of lamp"))
    add(("INS LAMP2 ST", lamp_on, "Lamp status"))
    add(("INS LAMP2 SET", 5 if lamp_on else 0, "Lamp intensity setting"))
    for number, (name, kelvin) in enumerate(INS_SENSORS, start=1):
        add((f"INS TEMP{number} NAME", name, "Temperature sensor name"))
        add((f"INS TEMP{number} VAL", Fixed(kelvin + ambient["ins_temp"] * number, 3),
             "Temperature (K)"))
    add(("INS PRES1 VAL", 1.2e-06, "Cryostat pressure (mbar)"))
    add(("INS FOCU POS", 3185, "Focus position (enc)"))


def _ins_mode(exposure):
    return {"spectrum": "Spectroscopy", "polarimetry": "Polarimetry",
            "coronagraphy": "Coronagraphy"}.get(exposure.kind, "Imaging")


def _wheel_position(number, element):
    if number == 7:
        return naco.CAMERAS[element].number
    if element in naco.FILTERS:
        return naco.FILTERS[element].number
    return 1 if element in ("empty", "Clear", "Full") else 7 + len(element) % 9


def _det_cards(add, exposure, sequence_number, written):
    setup = exposure.setup
    mode = setup.mode
    add(("DET DID", "ESO-VLT-DIC.IRACE-1.43", "Dictionary Name and Revision"))
    add(("DET ID", "CONICA", "Detector system Id"))
    add(("DET NAME", "CONICA-Aladdin3", "Name of detector system"))
    add(("DET DATE", "2004-10-06T12:00:00", "Installation date"))
    add(("DET CHIPS", 1, "# of chips in detector array"))
    add(("DET CHIP ID", "ESO-Aladdin3-0097", "Detector chip identification"))
    add(("DET CHIP NAME", "Aladdin3", "Detector chip name"))
    add(("DET CHIP TYPE", "IR", "The Type of Det Chip"))
    add(("DET CHIP NX", naco.CHIP_SIZE, "Pixels in X"))
    add(("DET CHIP NY", naco.CHIP_SIZE, "Pixels in Y"))
    add(("DET CHIP PXSPACE", 2.7e-05, "Pixel-Pixel Spacing"))
    add(("DET CHIP LIVE", True, "Detector alive"))
    add(("DET CHIP TEMP", Fixed(27.0 + 0.01 * (sequence_number % 7), 2), "Chip temperature (K)"))
    add(("DET DIT", Fixed(setup.dit, 7), "Integration Time"))
    add(("DET DITDELAY", 0.0, "Pause Between DITs"))
    add(("DET NDIT", setup.ndit, "# of Sub-Integrations"))
    add(("DET NDITSKIP", 0, "DITs skipped at 1st.INT"))
    add(("DET NCORRS", mode.ncorrs, "Read-Out Mode"))
    add(("DET NCORRS NAME", mode.ncorrs_name, "Read-Out Mode Name"))
    add(("DET NDSAMPLES", 4 if mode.ncorrs_name == "FowlerNsamp" else 1, "# of Samples"))
    add(("DET MODE NAME", mode.mode_name, "DCS Detector Mode"))
    add(("DET RSPEED", 1, "Read-Speed Factor"))
    add(("DET RSPEEDADD", 0, "Read-Speed Add"))
    add(("DET SATLEVEL", int(mode.full_well), "Saturation level (ADU)"))
    add(("DET EXP NO", 30000 + sequence_number, "Exposure number"))
    add(("DET EXP NAME", f"NACO_{sequence_number:04d}", "Exposure Name"))
    add(("DET EXP UTC", iso(written, millis=False), "File Creation Time"))
    add(("DET FRAM NO", 1, "Frame number"))
    add(("DET FRAM TYPE", "INT", "Frame type"))
    add(("DET FRAM UTC", iso(written), "Time Recv Frame"))
    add(("DET WIN NX", naco.WINDOW, "# of Pixels in X"))
    add(("DET WIN NY", naco.WINDOW, "# of Pixels in Y"))
    add(("DET WIN STARTX", naco.WINDOW_START, "Lower left X ref"))
    add(("DET WIN STARTY", naco.WINDOW_START, "Lower left Y ref"))
    add(("DET WIN TYPE", 0, "Window type (0=phys, 1=virt)"))
    add(("DET WIN BINX", 1, "Binning factor along X"))
    add(("DET WIN BINY", 1, "Binning factor along Y"))
    add(("DET IRACE ADC1 DELAY", 2, "ADC Delay Adjustment"))
    add(("DET IRACE ADC1 ENABLE", 1, "Enable ADC"))
    add(("DET IRACE ADC1 FILTER1", 0, "ADC Filter1 Adjustment"))
    add(("DET IRACE ADC1 HEADER", 1, "Header of ADC"))
    add(("DET IRACE ADC1 NAME", "ADC1", "Name for ADC Board"))
    add(("DET IRACE SEQCONT", False, "Sequencer Continuous Mode"))
    for board, values in enumerate(((-3.5, -3.2, -1.5, -2.1, 0.0, -4.0),
                                     (-3.45, -3.25, -1.55, -2.05, 0.1, -3.9)), start=1):
        for number, value in enumerate(values, start=1):
            add((f"DET VOLT{board} DC{number}", Fixed(value, 4), f"Set value DC Voltage {number}"))
            add((f"DET VOLT{board} DCTA{number}", Fixed(value + 0.0012, 4),
                 f"Measured value DC Voltage {number}"))
    add(("DET CON OPMODE", "NORMAL", "Operational Mode"))


def _ocs_cards(add, exposure):
    add(("OCS DID", "ESO-VLT-DIC.CONICA_OCS-1.6", "Data dictionary for OCS"))
    add(("OCS DET1 IMGNAME", ORIGFILE_PREFIX[exposure.kind], "Data File Name"))
    add(("OCS AOS ST", exposure.block.target is not None, "NAOS used by the exposure"))
    add(("OCS OFFSET COORDS", "DETECTOR" if exposure.kind != "std" else "SKY", "Offset system"))


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
