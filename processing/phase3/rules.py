"""The Phase 3 rule table: ESO's Phase 3 validator checks (dfos_phoenix.md §5.4, from ESO's
phase3_checks_summary.txt of 2025-03-27) and the SDP standard's keyword × category table
(§5.3: M → mandatory, R → recommended = warning, NotAlw → forbidden), for every file,
SCIENCE.* files, SCIENCE.IMAGE, SCIENCE.SPECTRUM and SCIENCE.CUBE.IFS. Ancillary files get
the rules for every file; their category must be one ESO recognises.

One entry per rule (a `mandatory` line gives one rule per keyword, id
`<PREFIX>-<KEYWORD>-MANDATORY`). Each rule has a test that breaks just that rule
(tests/test_phase3_rules.py); `manage.py validate_idp --rules` lists them (docs/PHASE3.md).
"""

from processing.phase3 import consistency, footprint, hduclass, spectrum, structure
from processing.phase3.categories import ALL, CUBE, IMAGE, NON_FITS_ANCILLARY, SCIENCE, SPECTRUM
from processing.phase3.kinds import (
    check, forbidden, in_range, mandatory, one_of, pattern, recommended, special,
)
from processing.phase3.product import (
    DATA_EXTENSIONS, ESO_ORIGIN, EVERY_HDU, EXTENSIONS, HDUCLASS_SCHEME, IMAGE_DATA, NEEDS_EXT_OBJ,
    NOT_APEX, NOT_APEX_GTC, NOT_APEX_KMOS, NOT_NGTS, PRIMARY, SPECTRUM_TABLE, WAVE_AXIS,
)

#: Keywords the standard defines as numbers (types of the SDP standard's keyword list).
NUMBERS = (
    r"RA|DEC|EQUINOX|EXPTIME|TEXPTIME|MJD-OBS|MJD-END|NCOMBINE|OBID\d+|PHOTZP|PHOTZPER|"
    r"ABMAGLIM|ABMAGSAT|PSF_FWHM|ELLIPTIC|WAVELMIN|WAVELMAX|SPEC_BIN|SPEC_RES|SPEC_ERR|"
    r"SPEC_SYE|SNR|FLUXERR|RA_ERR|DEC_ERR|PIXNOISE|SKY_RES|SKY_RERR|STREHL|TL_OFFAN|APERTURE|"
    r"TELAPSE|TMID|SPEC_VAL|SPEC_BW|NELEM|TDMIN1|TDMAX1|CRVAL\d|CRPIX\d|CD\d_\d|CSYER\d|"
    r"CRDER\d|FPRA\d+|FPDE\d+"
)
LOGICALS = frozenset({"TOT_FLUX", "CONTNORM", "EXT_OBJ", "PROVXTN", "NOESODAT"})

DATE = r"\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])(T([01]\d|2[0-3]):[0-5]\d:[0-5]\d(\.\d+)?)?"
BIBCODE = r"\d{4}[A-Za-z0-9&.]{14}[A-Z.]"
DOI = r"10\.\d{4,9}/\S+"
UTYPE = r"(Spectrum\.|spec:|eso:)Data\.{}"

WCS_2D = ("CTYPE1", "CTYPE2", "CRVAL1", "CRVAL2", "CRPIX1", "CRPIX2",
          "CD1_1", "CD1_2", "CD2_1", "CD2_2", "CUNIT1", "CUNIT2")
SPECTRUM_COLUMNS = tuple(f"{keyword}{number}" for number in (1, 2, 3)
                         for keyword in ("TTYPE", "TUTYP", "TUNIT", "TUCD"))
IMAGE_CLASSES = ("DATA", "ERROR", "QUALITY", "CONF", "BKG_DATA", "BKG_ERROR", "BKG_CONF")
CUBE_CLASSES = ("DATA", "ERROR", "QUALITY")

RULES = (
    # --- every file -------------------------------------------------------------------------
    special("ALL-READABLE", ALL, "open", "the file opens as FITS and is complete"),
    check("ALL-FILENAME-LENGTH", ALL, structure.filename_length,
          "a file name of at most 68 characters"),
    check("ALL-FZ-COMPRESSION", ALL, structure.fz_compression,
          "a name ending with '.fz' exactly when the file is compressed"),
    check("ALL-CHECKSUM", ALL, structure.checksum("CHECKSUM"),
          "CHECKSUM present and correct in every HDU"),
    check("ALL-DATASUM", ALL, structure.checksum("DATASUM"),
          "DATASUM present and correct in every HDU"),
    *mandatory("ALL", ALL, PRIMARY, "PRODCATG"),
    check("ALL-PRODCATG-SUPPORTED", ALL, structure.supported_category,
          "PRODCATG is SCIENCE.IMAGE, SCIENCE.SPECTRUM, SCIENCE.CUBE.IFS or an ESO "
          "ANCILLARY.* category"),

    # --- every SCIENCE.* file ---------------------------------------------------------------
    check("SCI-VALUE-TYPE", SCIENCE, structure.value_types(NUMBERS, LOGICALS),
          "numeric keywords hold numbers, logical keywords T or F"),
    forbidden("SCI-LONGSTR-FORBIDDEN", SCIENCE, EVERY_HDU, "LONGSTR"),
    check("SCI-CONTINUE-FORBIDDEN", SCIENCE, structure.long_strings,
          "no string value written over CONTINUE cards"),
    *mandatory("SCI", SCIENCE, PRIMARY, "ORIGIN", "OBSTECH", "DATE", "MJD-OBS", "MJD-END",
               "PROCSOFT", "REFERENC", "TELESCOP", "INSTRUME"),
    *mandatory("SCI", SCIENCE, PRIMARY, "PROG_ID", when=NOT_NGTS),
    pattern("SCI-DATE-FORMAT", SCIENCE, PRIMARY, "DATE", DATE, "yyyy-MM-dd[Thh:mm:ss[.sss]]"),
    one_of("SCI-RADESYS-ALLOWED", SCIENCE, PRIMARY, ("RADESYS", "RADECSYS"), ("ICRS", "FK5")),
    check("SCI-EQUINOX", SCIENCE, consistency.equinox,
          "EQUINOX = 2000.0 with RADESYS = 'FK5'; with 'ICRS' EQUINOX absent or 2000.0"),
    pattern("SCI-REFERENC-FORMAT", SCIENCE, PRIMARY, "REFERENC", f"|{BIBCODE}|{DOI}",
            "a 19-character bibcode, a DOI (10.xxxx/…) or an empty string"),
    check("SCI-MJD-ORDER", SCIENCE, consistency.mjd_order, "MJD-END >= MJD-OBS"),
    in_range("SCI-MJD-OBS-RANGE", SCIENCE, PRIMARY, "MJD-OBS", 40587),
    check("SCI-MJD-END-FUTURE", SCIENCE, consistency.mjd_end_not_future,
          "MJD-END not in the future"),
    forbidden("SCI-CDELT-FORBIDDEN", SCIENCE, EVERY_HDU, "CDELT1", "CDELT2", "CDELT3"),
    check("SCI-TELESCOP-MULTI", SCIENCE, consistency.multi("TELESCOP", "TELESC"),
          "TELESCOP = 'MULTI' exactly when TELESC1, TELESC2 … are given"),
    check("SCI-INSTRUME-MULTI", SCIENCE, consistency.multi("INSTRUME", "INSTR"),
          "INSTRUME = 'MULTI' exactly when INSTR1, INSTR2 … are given"),
    check("SCI-PROG_ID-MULTI", SCIENCE, consistency.multi("PROG_ID", "PROGID"),
          "PROG_ID = 'MULTI' exactly when PROGID1, PROGID2 … are given"),
    check("SCI-INDEXED-UNIQUE", SCIENCE, consistency.indexed_unique(("PROGID", "OBID", "FILTER")),
          "no value repeated among PROGIDi, among OBIDi, among FILTERi"),
    check("SCI-DATA-PRESENT", SCIENCE, structure.data_present, "at least one HDU with NAXIS != 0"),
    in_range("SCI-EXPTIME-RANGE", SCIENCE, PRIMARY, "EXPTIME", 1e-15, 1e15, low_open=True,
             high_open=True),
    check("SCI-EXPTIME-TEXPTIME", SCIENCE, consistency.exptime_within_texptime,
          "EXPTIME < TEXPTIME + 0.01 s"),
    check("SCI-TEXPTIME-INTERVAL", SCIENCE, consistency.texptime_within_interval,
          "TEXPTIME <= (MJD-END - MJD-OBS) x 86400 s + 0.01 s"),
    in_range("SCI-TL_OFFAN-RANGE", SCIENCE, PRIMARY, "TL_OFFAN", -999),
    check("SCI-NOESODAT", SCIENCE, consistency.noesodat,
          "NOESODAT = T when ORIGIN is not ESO*, APEX or ALMA"),
    one_of("SCI-FLUXCAL-ALLOWED", SCIENCE, PRIMARY, "FLUXCAL", ("ABSOLUTE", "UNCALIBRATED")),
    in_range("SCI-RA-RANGE", SCIENCE, EVERY_HDU, "RA", 0, 360),
    in_range("SCI-DEC-RANGE", SCIENCE, EVERY_HDU, "DEC", -90, 90),
    in_range("SCI-FPRA-RANGE", SCIENCE, PRIMARY, "FPRA*", 0, 360),
    in_range("SCI-FPDE-RANGE", SCIENCE, PRIMARY, "FPDE*", -90, 90),
    in_range("SCI-SKY_RES-RANGE", SCIENCE, EVERY_HDU, "SKY_RES", 0, 99),
    in_range("SCI-SKY_RERR-RANGE", SCIENCE, EVERY_HDU, "SKY_RERR", 0, 99),
    in_range("SCI-ABMAGLIM-RANGE", SCIENCE, EVERY_HDU, "ABMAGLIM", 0, 99),
    in_range("SCI-WAVELMIN-RANGE", SCIENCE, PRIMARY, "WAVELMIN", 0, low_open=True),
    check("SCI-WAVELMIN-WAVELMAX", SCIENCE, consistency.wavelength_order, "WAVELMIN <= WAVELMAX"),
    in_range("SCI-SPEC_RES-RANGE", SCIENCE, PRIMARY, "SPEC_RES", 0),
    in_range("SCI-PIXNOISE-RANGE", SCIENCE, PRIMARY, "PIXNOISE", 0),
    forbidden("SCI-PROV0-FORBIDDEN", SCIENCE, EVERY_HDU, "PROV0*"),
    forbidden("SCI-OBID0-FORBIDDEN", SCIENCE, EVERY_HDU, "OBID0*"),
    *mandatory("SCI", SCIENCE, EXTENSIONS, "EXTNAME"),
    check("SCI-EXTNAME-UNIQUE", SCIENCE,
          structure.unique_extnames(("PHASE3PROVENANCE", "PHASE3CATALOG")),
          "at most one PHASE3PROVENANCE and one PHASE3CATALOG extension"),
    forbidden("SCI-ORIGFILE-PRIMARY-ONLY", SCIENCE, EXTENSIONS, "ORIGFILE"),
    forbidden("SCI-PRODCATG-PRIMARY-ONLY", SCIENCE, EXTENSIONS, "PRODCATG"),
    in_range("SCI-NCOMBINE-RANGE", SCIENCE, PRIMARY, "NCOMBINE", 0, low_open=True),
    check("SCI-PROVXTN", SCIENCE, structure.provenance_extension,
          "PROVXTN = T when a PHASE3PROVENANCE extension is present"),
    in_range("SCI-STREHL-RANGE", SCIENCE, EVERY_HDU, "STREHL", 0, 1, low_open=True),
    one_of("SCI-ASSOC-ALLOWED", SCIENCE, PRIMARY, "ASSOC*", NON_FITS_ANCILLARY),

    # --- SCIENCE.IMAGE ----------------------------------------------------------------------
    *mandatory("IMAGE", IMAGE, PRIMARY, "FILTER", "OBJECT", "FLUXCAL", "RA", "DEC", "EXPTIME",
               "TEXPTIME"),
    *mandatory("IMAGE", IMAGE, PRIMARY, "RADESYS", alternatives=("RADECSYS",)),
    *mandatory("IMAGE", IMAGE, PRIMARY, "NCOMBINE", "OBID1", when=ESO_ORIGIN),
    *mandatory("IMAGE", IMAGE, PRIMARY, "PROV1", when=ESO_ORIGIN, alternatives=("PROVXTN",)),
    check("IMAGE-NAXIS", IMAGE, consistency.image_naxis,
          "NAXIS = 2 in the primary HDU (0 with the HDUCLASS scheme)"),
    *mandatory("IMAGE", IMAGE, IMAGE_DATA, "BUNIT", "PHOTZP", "PHOTSYS", "ABMAGLIM", "ABMAGSAT",
               "PSF_FWHM", *WCS_2D),
    *recommended("IMAGE", IMAGE, IMAGE_DATA, "PHOTZPER", "CSYER1", "CSYER2", "CRDER1", "CRDER2"),
    one_of("IMAGE-CUNIT-DEG", IMAGE, IMAGE_DATA, ("CUNIT1", "CUNIT2"), ("deg",)),
    in_range("IMAGE-PSF_FWHM-RANGE", IMAGE, IMAGE_DATA, "PSF_FWHM", 0, low_open=True),
    check("IMAGE-ABMAGLIM-ABMAGSAT", IMAGE, consistency.magnitude_limits, "ABMAGLIM > ABMAGSAT"),
    check("IMAGE-FOOTPRINT", IMAGE, footprint.in_footprint(IMAGE_DATA),
          "RA/DEC inside the image's footprint (its WCS)"),
    forbidden("IMAGE-RA_ERR-DEC_ERR-FORBIDDEN", IMAGE, EVERY_HDU, "RA_ERR", "DEC_ERR"),
    *mandatory("IMAGE", IMAGE, IMAGE_DATA, "HDUCLASS", "HDUDOC", "HDUVERS", "HDUCLAS1",
               when=HDUCLASS_SCHEME),
    check("IMAGE-HDUCLAS2-ALLOWED", IMAGE, hduclass.classes_allowed(IMAGE_CLASSES),
          "HDUCLAS2 one of " + ", ".join(IMAGE_CLASSES)),
    check("IMAGE-HDUCLASS-DATA", IMAGE, hduclass.data_extension,
          "an extension with HDUCLAS2 = 'DATA'", when=HDUCLASS_SCHEME),
    check("IMAGE-HDUCLAS3-ALLOWED", IMAGE, hduclass.third_class,
          "HDUCLAS3 of ERROR (MSE, RMSE, INVMSE, INVRMSE) and QUALITY extensions "
          "(MASKZERO, MASKONE, FLAG32BIT, FLAG16BIT)"),
    check("IMAGE-HDUCLASS-LINKS", IMAGE, hduclass.links,
          "SCIDATA, ERRDATA, QUALDATA name the DATA, ERROR and QUALITY extensions"),

    # --- SCIENCE.SPECTRUM: primary HDU --------------------------------------------------------
    *mandatory("SPECTRUM", SPECTRUM, PRIMARY, "SPECSYS", "OBJECT", "FLUXCAL", "RA", "DEC",
               "WAVELMIN", "WAVELMAX", "SPEC_BIN", "FLUXERR", "EXPTIME", "TEXPTIME", "SNR",
               "SPEC_RES", "TOT_FLUX", "CONTNORM"),
    *mandatory("SPECTRUM", SPECTRUM, PRIMARY, "RADESYS", alternatives=("RADECSYS",)),
    *mandatory("SPECTRUM", SPECTRUM, PRIMARY, "NCOMBINE", "OBID1", when=NOT_APEX_GTC),
    *mandatory("SPECTRUM", SPECTRUM, PRIMARY, "PROV1", when=ESO_ORIGIN, alternatives=("PROVXTN",)),
    *mandatory("SPECTRUM", SPECTRUM, PRIMARY, "EXT_OBJ", when=NEEDS_EXT_OBJ),
    *recommended("SPECTRUM", SPECTRUM, PRIMARY, "SPEC_ERR", "SPEC_SYE", "RA_ERR", "DEC_ERR"),
    one_of("SPECTRUM-NAXIS", SPECTRUM, PRIMARY, "NAXIS", (0,)),
    in_range("SPECTRUM-SPEC_RES-RANGE", SPECTRUM, PRIMARY, "SPEC_RES", 0, low_open=True),
    forbidden("SPECTRUM-BUNIT-FORBIDDEN", SPECTRUM, EVERY_HDU, "BUNIT"),
    forbidden("SPECTRUM-CD-FORBIDDEN", SPECTRUM, PRIMARY, "CD1_1", "CD1_2", "CD2_1", "CD2_2"),
    check("SPECTRUM-FLUXERR", SPECTRUM, consistency.flux_error,
          "FLUXERR -2 or 0..100 with FLUXCAL = 'ABSOLUTE', -1 with 'UNCALIBRATED'"),
    check("SPECTRUM-TOT_FLUX", SPECTRUM, consistency.total_flux,
          "TOT_FLUX = T only with FLUXCAL = 'ABSOLUTE'"),

    # --- SCIENCE.SPECTRUM: the BINTABLE extension ---------------------------------------------
    check("SPECTRUM-EXTENSION", SPECTRUM, spectrum.table_present, "HDU 1 is a BINTABLE extension"),
    *mandatory("SPECTRUM-EXT", SPECTRUM, SPECTRUM_TABLE, "VOCLASS", "VOPUB", "OBJECT", "TITLE",
               "RA", "DEC", "APERTURE", "TELAPSE", "TMID", "SPEC_VAL", "SPEC_BW", "NELEM",
               "TDMIN1", "TDMAX1", *SPECTRUM_COLUMNS),
    one_of("SPECTRUM-NAXIS2", SPECTRUM, SPECTRUM_TABLE, "NAXIS2", (1,)),
    one_of("SPECTRUM-PCOUNT", SPECTRUM, SPECTRUM_TABLE, "PCOUNT", (0,)),
    in_range("SPECTRUM-APERTURE-RANGE", SPECTRUM, SPECTRUM_TABLE, "APERTURE", high=0.1,
             high_open=True),
    one_of("SPECTRUM-VOPUB-ALLOWED", SPECTRUM, SPECTRUM_TABLE, "VOPUB", ("ESO/SAF",)),
    one_of("SPECTRUM-TTYPE1-ALLOWED", SPECTRUM, SPECTRUM_TABLE, "TTYPE1", ("WAVE", "FREQ", "ENER")),
    one_of("SPECTRUM-TUCD1-ALLOWED", SPECTRUM, SPECTRUM_TABLE, "TUCD1",
           ("em.wl", "em.wl;obs.atmos"), when=WAVE_AXIS),
    one_of("SPECTRUM-TUNIT1-ALLOWED", SPECTRUM, SPECTRUM_TABLE, "TUNIT1",
           ("Angstrom", "angstrom", "nm", "um"), when=WAVE_AXIS),
    pattern("SPECTRUM-TTYPE2-FORMAT", SPECTRUM, SPECTRUM_TABLE, "TTYPE2", r"FLUX.*",
            "a name starting with FLUX"),
    pattern("SPECTRUM-TTYPE3-FORMAT", SPECTRUM, SPECTRUM_TABLE, "TTYPE3", r"ERR.*",
            "a name starting with ERR"),
    pattern("SPECTRUM-TUTYP1-FORMAT", SPECTRUM, SPECTRUM_TABLE, "TUTYP1",
            UTYPE.format(r"SpectralAxis\.Value"), "(Spectrum.|spec:|eso:)Data.SpectralAxis.Value"),
    pattern("SPECTRUM-TUTYP2-FORMAT", SPECTRUM, SPECTRUM_TABLE, "TUTYP2",
            UTYPE.format(r"FluxAxis\.Value"), "(Spectrum.|spec:|eso:)Data.FluxAxis.Value"),
    pattern("SPECTRUM-TUTYP3-FORMAT", SPECTRUM, SPECTRUM_TABLE, "TUTYP3",
            UTYPE.format(r"FluxAxis\.Accuracy\.StatError"),
            "(Spectrum.|spec:|eso:)Data.FluxAxis.Accuracy.StatError"),
    check("SPECTRUM-TFORM-SAME", SPECTRUM, spectrum.same_formats,
          "the same TFORMi for every column"),
    check("SPECTRUM-SKYBACK-FORBIDDEN", SPECTRUM, spectrum.no_skyback,
          "no column named SKYBACK (BGFLUX instead)"),
    check("SPECTRUM-TUNIT-FLUX-ERR", SPECTRUM, spectrum.flux_units_agree, "TUNIT2 = TUNIT3"),

    # --- SCIENCE.SPECTRUM: extension against primary, and the data ----------------------------
    check("SPECTRUM-RA-MATCH", SPECTRUM, spectrum.ra_matches, "1:RA = 0:RA (within 1e-7)"),
    check("SPECTRUM-DEC-MATCH", SPECTRUM, spectrum.dec_matches, "1:DEC = 0:DEC (within 1e-7)"),
    check("SPECTRUM-OBJECT-MATCH", SPECTRUM, spectrum.object_matches, "1:OBJECT = 0:OBJECT"),
    check("SPECTRUM-TELAPSE-TEXPTIME", SPECTRUM, spectrum.telapse_covers_texptime,
          "TELAPSE >= TEXPTIME (within 0.1 s)"),
    check("SPECTRUM-TELAPSE-INTERVAL", SPECTRUM, spectrum.telapse_is_interval,
          "TELAPSE = (MJD-END - MJD-OBS) x 86400 s (within 0.1 s)"),
    check("SPECTRUM-TMID", SPECTRUM, spectrum.tmid_is_middle,
          "TMID = (MJD-OBS + MJD-END) / 2 (within 1e-4 d)"),
    check("SPECTRUM-SPEC_VAL", SPECTRUM, spectrum.spec_val_is_centre,
          "SPEC_VAL = (WAVELMIN + WAVELMAX) / 2 (within 1e-3 nm)"),
    check("SPECTRUM-SPEC_BW", SPECTRUM, spectrum.spec_bw_is_width,
          "SPEC_BW = WAVELMAX - WAVELMIN (within 1e-3 nm)"),
    check("SPECTRUM-WAVE-INCREASING", SPECTRUM, spectrum.wave_increasing,
          "the WAVE array strictly increasing"),
    check("SPECTRUM-SPEC_BIN-DATA", SPECTRUM, spectrum.spec_bin_matches,
          "SPEC_BIN between 0.5 and 1.5 times the median wavelength bin"),
    check("SPECTRUM-WAVELMIN-DATA", SPECTRUM, spectrum.wavelmin_in_data,
          "WAVELMIN not below the first wavelength by more than half the largest bin"),
    check("SPECTRUM-WAVELMAX-DATA", SPECTRUM, spectrum.wavelmax_in_data,
          "WAVELMAX not beyond the last wavelength by more than half the largest bin"),
    check("SPECTRUM-TDMIN1-DATA", SPECTRUM, spectrum.tdmin_is_first,
          "TDMIN1 = the first wavelength (within half the largest bin)"),
    check("SPECTRUM-TDMAX1-DATA", SPECTRUM, spectrum.tdmax_is_last,
          "TDMAX1 = the last wavelength (within half the largest bin)"),
    check("SPECTRUM-NO-INF", SPECTRUM, spectrum.no_infinities, "no infinite values in the columns"),

    # --- SCIENCE.CUBE.IFS ---------------------------------------------------------------------
    *mandatory("CUBE", CUBE, PRIMARY, "OBJECT", "FLUXCAL", "DATE-OBS", "PROV1", "ASSON1", "RA",
               "DEC", "EXPTIME", "TEXPTIME", "NCOMBINE", "WAVELMIN", "WAVELMAX", "SPEC_RES",
               "SPECSYS"),
    *mandatory("CUBE", CUBE, PRIMARY, "RADESYS", alternatives=("RADECSYS",)),
    *mandatory("CUBE", CUBE, PRIMARY, "OBID1", "PIXNOISE", when=NOT_APEX),
    *mandatory("CUBE", CUBE, PRIMARY, "SKY_RES", "ABMAGLIM", when=NOT_APEX_KMOS),
    one_of("CUBE-NAXIS", CUBE, PRIMARY, "NAXIS", (0,)),
    forbidden("CUBE-FILTER-FORBIDDEN", CUBE, PRIMARY, "FILTER"),
    forbidden("CUBE-SPEC_BIN-FORBIDDEN", CUBE, PRIMARY, "SPEC_BIN"),
    forbidden("CUBE-RA_ERR-DEC_ERR-FORBIDDEN", CUBE, EVERY_HDU, "RA_ERR", "DEC_ERR"),
    *mandatory("CUBE-EXT", CUBE, EXTENSIONS, *WCS_2D, "CSYER1", "CSYER2", "CTYPE3", "CRVAL3",
               "CRPIX3", "CUNIT3", "CD3_3", "HDUCLASS", "HDUDOC", "HDUVERS", "HDUCLAS1",
               "HDUCLAS2", "BUNIT"),
    *recommended("CUBE-EXT", CUBE, EXTENSIONS, "CRDER1", "CRDER2"),
    one_of("CUBE-EXT-NAXIS", CUBE, EXTENSIONS, "NAXIS", (3,)),
    one_of("CUBE-CUNIT-DEG", CUBE, EXTENSIONS, ("CUNIT1", "CUNIT2"), ("deg",)),
    one_of("CUBE-HDUCLASS-ESO", CUBE, EXTENSIONS, "HDUCLASS", ("ESO",)),
    check("CUBE-HDUCLAS2-ALLOWED", CUBE, hduclass.classes_allowed(CUBE_CLASSES),
          "HDUCLAS2 one of " + ", ".join(CUBE_CLASSES)),
    check("CUBE-HDUCLASS-DATA", CUBE, hduclass.data_extension,
          "an extension with HDUCLAS2 = 'DATA'"),
    check("CUBE-HDUCLAS3-ALLOWED", CUBE, hduclass.third_class,
          "HDUCLAS3 of ERROR (MSE, RMSE, INVMSE, INVRMSE) and QUALITY extensions "
          "(MASKZERO, MASKONE, FLAG32BIT, FLAG16BIT)"),
    check("CUBE-HDUCLASS-LINKS", CUBE, hduclass.links,
          "SCIDATA, ERRDATA, QUALDATA name the DATA, ERROR and QUALITY extensions"),
    check("CUBE-FOOTPRINT", CUBE, footprint.in_footprint(DATA_EXTENSIONS),
          "RA/DEC inside the footprint of the DATA extension's spatial plane"),
    special("BATCH-CUBE-WHITELIGHT", CUBE, "batch",
            "exactly one ANCILLARY.IMAGE.WHITELIGHT among the cube's ASSONi files of the "
            "batch, with the cube's spatial size (NAXIS1, NAXIS2)"),
)

BY_ID = {rule.id: rule for rule in RULES}
