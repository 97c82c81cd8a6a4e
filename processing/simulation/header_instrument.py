"""Header cards of CONICA and its detector: INS, DET, OCS.

These carry what the recipes group and check on: the filter as INS.OPTI4/5/6.ID, the camera
as INS.OPTI7.NAME, INS.PIXSCALE and INS.CWLEN, DET.DIT/NDIT, DET.NCORRS(.NAME),
DET.MODE.NAME, and INS.LAMP2.SET for lamp flats.
"""

from processing.simulation import instrument as naco
from processing.simulation.fitsfile import Fixed, fits_date

#: File names at the instrument workstation (ORIGFILE, OCS.DET1.IMGNAME) per kind of frame.
ORIGFILE_PREFIX = {
    "dark": "NACO_IMG_CAL", "flat": "NACO_IMG_CAL", "lampflat": "NACO_IMG_CAL",
    "std": "NACO_IMG_STD", "jitter": "NACO_IMG_SCI", "acquisition": "NACO_IMG_ACQ",
    "spectrum": "NACO_SPEC_SCI", "polarimetry": "NACO_POL_SCI", "coronagraphy": "NACO_CORO_SCI",
}
OPTI_TYPES = {1: "SLIT", 2: "MASK", 3: "MASK", 4: "FILTER", 5: "FILTER", 6: "FILTER", 7: "CAMERA"}
OPTI_DEFAULTS = {1: "empty", 2: "Clear", 3: "Full", 4: "empty", 5: "empty", 6: "empty"}
#: CONICA cryostat temperature sensors (K).
INS_SENSORS = (("Detector", 27.0), ("Cold bench", 70.1), ("Camera wheel", 68.4),
               ("Filter wheel 1", 69.2), ("Filter wheel 2", 69.5), ("Radiation shield", 88.7))


def _opti(setup):
    """IDs of the seven CONICA wheels for a setup (filters by wheel, the camera, overrides)."""
    ids = dict(OPTI_DEFAULTS)
    if setup.filter:
        ids[4], ids[5], ids[6] = naco.wheel_ids(setup.filter)
    ids[7] = setup.camera
    for name, value in setup.optics:
        ids[int(name[4:])] = value
    return ids


def ins_cards(add, exposure, ambient):
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


def det_cards(add, exposure, sequence_number, written):
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
    add(("DET EXP UTC", fits_date(written, millis=False), "File Creation Time"))
    add(("DET FRAM NO", 1, "Frame number"))
    add(("DET FRAM TYPE", "INT", "Frame type"))
    add(("DET FRAM UTC", fits_date(written), "Time Recv Frame"))
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


def ocs_cards(add, exposure):
    add(("OCS DID", "ESO-VLT-DIC.CONICA_OCS-1.6", "Data dictionary for OCS"))
    add(("OCS DET1 IMGNAME", ORIGFILE_PREFIX[exposure.kind], "Data File Name"))
    add(("OCS AOS ST", exposure.block.target is not None, "NAOS used by the exposure"))
    add(("OCS OFFSET COORDS", "DETECTOR" if exposure.kind != "std" else "SKY", "Offset system"))
