"""Every Phase 3 rule, broken alone: a valid file of the right category, one thing changed the
way a faulty converter or a damaged file would have it, and exactly that rule fires.

The cases are written out here, apart from the rule table: removing a rule from the table
makes its case fail, and a rule without a case fails test_every_rule_has_a_breaking_case.
"""

import io
import time
from dataclasses import dataclass, field
from typing import Callable

import numpy as np
import pytest
from astropy.io import fits

from processing.phase3 import BY_ID, validate_batch, validate_file
from tests import phase3_builder as builder
from tests.phase3_builder import DEC, MJD_OBS, NAMES, RA

IMAGE, SPECTRUM, CUBE = "SCIENCE.IMAGE", "SCIENCE.SPECTRUM", "SCIENCE.CUBE.IFS"
WHITELIGHT = "ANCILLARY.IMAGE.WHITELIGHT"


@dataclass
class Case:
    rule: str
    category: str
    edit: Callable | None = None  # on the valid HDUList, before writing
    name: str | None = None  # file name instead of the category's usual one
    options: dict = field(default_factory=dict)  # builder options
    raw: Callable | None = None  # on the written file's bytes
    checksum: bool = True  # write CHECKSUM/DATASUM
    whitelight: Callable | None = None  # validate as a batch with this white-light edit

    def __str__(self):
        return self.rule


# --- edits ------------------------------------------------------------------------------------

def put(index, keyword, value):
    def edit(hdul):
        hdul[index].header[keyword] = value
    return edit


def drop(index, keyword):
    def edit(hdul):
        del hdul[index].header[keyword]
    return edit


def both(*edits):
    def edit(hdul):
        for each in edits:
            each(hdul)
    return edit


def shift(index, keyword, amount):
    def edit(hdul):
        hdul[index].header[keyword] += amount
    return edit


def with_data(index, shape):
    def edit(hdul):
        hdul[index].data = np.zeros(shape, np.float32)
    return edit


def without_data(*indices):
    def edit(hdul):
        for index in indices:
            hdul[index].data = None
    return edit


def add_extension(copy_of, name, **cards):
    """A copy of extension `copy_of` under another EXTNAME, with some cards changed (a value of
    None deletes the card)."""
    def edit(hdul):
        extra = hdul[copy_of].copy()
        extra.header["EXTNAME"] = name
        for keyword, value in cards.items():
            if value is None:
                del extra.header[keyword]
            else:
                extra.header[keyword] = value
        hdul.append(extra)
    return edit


def provenance_extensions(count):
    def edit(hdul):
        for _ in range(count):
            hdul.append(fits.BinTableHDU.from_columns(
                [fits.Column("PROV", "40A", array=["NACO.2009-06-18T02:24:00.000.fits"])],
                name="PHASE3PROVENANCE"))
    return edit


def spectrum_columns(change):
    """Rebuild the spectrum's table with `change(columns)` applied to its fits.Column list."""
    def edit(hdul):
        old = hdul[1]
        columns = [fits.Column(c.name, c.format, c.unit, array=old.data[c.name])
                   for c in old.columns]
        hdul[1] = fits.BinTableHDU.from_columns(change(columns, old.data), header=old.header)
    return edit


def variable_length(columns, data):
    return [fits.Column(c.name, "PD()", c.unit, array=[data[0][i]]) for i, c in enumerate(columns)]


def float_error(columns, data):
    return columns[:2] + [fits.Column("ERR", "400E", columns[2].unit, array=data["ERR"])]


def with_skyback(columns, data):
    return columns + [fits.Column("SKYBACK", "400D", columns[1].unit, array=data["FLUX"])]


def two_rows(columns, data):
    return [fits.Column(c.name, c.format, c.unit, array=np.repeat(data[c.name], 2, axis=0))
            for c in columns]


def column(number, name=None, unit=None, no_unit=False):
    def edit(hdul):
        columns = hdul[1].columns
        old = columns.names[number - 1]
        if name:
            columns.change_name(old, name)
        if unit or no_unit:
            columns[number - 1].unit = None if no_unit else unit
    return edit


def in_data(column_number, change):
    def edit(hdul):
        change(hdul[1].data[0][column_number - 1])
    return edit


def swap_two(values):
    values[100], values[101] = values[101], values[100]


def one_infinite(values):
    values[5] = np.inf


def spectrum_wave_limits(keyword, amount):
    """WAVELMIN or WAVELMAX moved, with SPEC_VAL and SPEC_BW kept consistent with it."""
    def edit(hdul):
        primary, table = hdul[0].header, hdul[1].header
        primary[keyword] += amount
        low, high = primary["WAVELMIN"], primary["WAVELMAX"]
        table["SPEC_VAL"], table["SPEC_BW"] = (low + high) / 2, high - low
    return edit


def telapse_short_of_texptime(hdul):
    """TELAPSE within 0.1 s of MJD-END - MJD-OBS and TEXPTIME within 0.01 s of it, yet
    TELAPSE more than 0.1 s short of TEXPTIME."""
    primary = hdul[0].header
    span = (primary["MJD-END"] - primary["MJD-OBS"]) * 86400
    primary["TEXPTIME"] = span + 0.009
    hdul[1].header["TELAPSE"] = span - 0.095


def wrong_datasum(hdul):
    """DATASUM off by one, CHECKSUM made to agree with the header as it stands: only the
    data sum is wrong."""
    hdu = hdul[0]
    hdu.add_checksum()
    hdu.header["DATASUM"] = str(int(hdu.header["DATASUM"]) + 1)
    hdu.add_checksum(override_datasum=True)


def raw_replace(old, new):
    """Change bytes of the written file without touching its checksums."""
    def edit(path):
        content = path.read_bytes()
        assert content.count(old) == 1, old
        path.write_bytes(content.replace(old, new))
    return edit


def raw_rename_card(keyword, hdu_index):
    """Turn a card astropy always writes (TTYPEn) into a COMMENT card in the file,
    and re-seal that HDU's CHECKSUM over the header bytes as they now are (astropy would put
    the card back if it wrote the header itself)."""
    old = f"{keyword:<8}=".encode()

    def edit(path):
        content = path.read_bytes()
        with fits.open(io.BytesIO(content)) as hdul:
            info = hdul.fileinfo(hdu_index)
            datasum = int(hdul[hdu_index].header["DATASUM"])
        start, data = info["hdrLoc"], info["datLoc"]
        header = content[start:data].replace(old, b"COMMENT  ", 1)
        at = header.index(b"CHECKSUM= '") + len(b"CHECKSUM= '")
        header = header[:at] + b"0" * 16 + header[at + 16:]
        sealer = fits.PrimaryHDU()  # astropy's checksum arithmetic, on the bytes as they are
        total = sealer._compute_checksum(np.frombuffer(header, dtype="ubyte"), datasum)
        header = header[:at] + sealer._char_encode(~total).encode() + header[at + 16:]
        path.write_bytes(content[:start] + header + content[data:])
    return edit


def garbage(path):
    path.write_bytes(b"this is not a FITS file\n" * 200)


def whitelight_size(hdul):
    hdul[1].data = np.ones((12, 11), np.float32)


HDUCLASS = {"hduclass": True}
NOW_MJD = time.time() / 86400 + 40587

# --- mandatory and recommended keywords: (id prefix, category, HDU, keywords, options) -----

MISSING = [
    ("ALL", IMAGE, 0, ["PRODCATG"], {}),
    ("SCI", IMAGE, 0, ["ORIGIN", "OBSTECH", "DATE", "MJD-OBS", "MJD-END", "PROCSOFT",
                       "REFERENC", "TELESCOP", "INSTRUME", "PROG_ID"], {}),
    ("SCI", SPECTRUM, 1, ["EXTNAME"], {}),
    ("IMAGE", IMAGE, 0, ["FILTER", "OBJECT", "FLUXCAL", "RA", "DEC", "EXPTIME", "TEXPTIME",
                         "RADESYS", "NCOMBINE", "OBID1", "PROV1", "BUNIT", "PHOTZP", "PHOTSYS",
                         "ABMAGLIM", "ABMAGSAT", "PSF_FWHM", "CTYPE1", "CTYPE2", "CRVAL1",
                         "CRVAL2", "CRPIX1", "CRPIX2", "CD1_1", "CD1_2", "CD2_1", "CD2_2",
                         "CUNIT1", "CUNIT2"], {}),
    ("IMAGE", IMAGE, 1, ["HDUCLASS", "HDUDOC", "HDUVERS", "HDUCLAS1"], HDUCLASS),
    ("SPECTRUM", SPECTRUM, 0, ["SPECSYS", "OBJECT", "FLUXCAL", "RA", "DEC", "WAVELMIN",
                               "WAVELMAX", "SPEC_BIN", "FLUXERR", "EXPTIME", "TEXPTIME", "SNR",
                               "SPEC_RES", "TOT_FLUX", "CONTNORM", "RADESYS", "NCOMBINE",
                               "OBID1", "PROV1", "EXT_OBJ"], {}),
    ("SPECTRUM-EXT", SPECTRUM, 1, ["VOCLASS", "VOPUB", "OBJECT", "TITLE", "RA", "DEC",
                                   "APERTURE", "TELAPSE", "TMID", "SPEC_VAL", "SPEC_BW", "NELEM",
                                   "TDMIN1", "TDMAX1", "TUTYP1", "TUCD1", "TUTYP2", "TUCD2",
                                   "TUTYP3", "TUCD3"], {}),
    ("CUBE", CUBE, 0, ["OBJECT", "FLUXCAL", "DATE-OBS", "PROV1", "ASSON1", "RA", "DEC",
                       "EXPTIME", "TEXPTIME", "NCOMBINE", "WAVELMIN", "WAVELMAX", "SPEC_RES",
                       "SPECSYS", "RADESYS", "OBID1", "PIXNOISE", "SKY_RES", "ABMAGLIM"], {}),
    ("CUBE-EXT", CUBE, 1, ["CTYPE1", "CTYPE2", "CRVAL1", "CRVAL2", "CRPIX1", "CRPIX2", "CD1_1",
                           "CD1_2", "CD2_1", "CD2_2", "CUNIT1", "CUNIT2", "CSYER1", "CSYER2",
                           "CTYPE3", "CRVAL3", "CRPIX3", "CUNIT3", "CD3_3", "HDUCLASS",
                           "HDUDOC", "HDUVERS", "HDUCLAS1", "BUNIT"], {}),
]
RECOMMENDED = [
    ("IMAGE", IMAGE, 0, ["PHOTZPER", "CSYER1", "CSYER2", "CRDER1", "CRDER2"]),
    ("SPECTRUM", SPECTRUM, 0, ["SPEC_ERR", "SPEC_SYE", "RA_ERR", "DEC_ERR"]),
    ("CUBE-EXT", CUBE, 1, ["CRDER1", "CRDER2"]),
]

CASES = [
    Case(f"{prefix}-{keyword}-MANDATORY", category, drop(index, keyword), options=options)
    for prefix, category, index, keywords, options in MISSING for keyword in keywords
] + [
    Case(f"{prefix}-{keyword}-RECOMMENDED", category, drop(index, keyword))
    for prefix, category, index, keywords in RECOMMENDED for keyword in keywords
] + [
    # keywords a FITS writer always emits, removed from the file itself
    *[Case(f"SPECTRUM-EXT-TTYPE{n}-MANDATORY", SPECTRUM, raw=raw_rename_card(f"TTYPE{n}", 1))
      for n in (1, 2, 3)],
    *[Case(f"SPECTRUM-EXT-TUNIT{n}-MANDATORY", SPECTRUM, column(n, no_unit=True))
      for n in (1, 2, 3)],
    Case("CUBE-EXT-HDUCLAS2-MANDATORY", CUBE, add_extension(2, "STAT2", HDUCLAS2=None)),

    # every file
    Case("ALL-READABLE", IMAGE, raw=garbage),
    Case("ALL-FILENAME-LENGTH", IMAGE, name="NA_SCOA_" + "x" * 56 + ".fits"),
    Case("ALL-FZ-COMPRESSION", IMAGE, name="NA_SCOA_2009-06-18T02:24:00.000_0001.fits.fz"),
    Case("ALL-CHECKSUM", IMAGE, raw=raw_replace(b"'NGC 6240'", b"'NGC 6241'")),
    Case("ALL-DATASUM", IMAGE, wrong_datasum, checksum=False),
    Case("ALL-PRODCATG-SUPPORTED", IMAGE, put(0, "PRODCATG", "SCIENCE.SRCTBL")),

    # every SCIENCE.* file
    Case("SCI-VALUE-TYPE", IMAGE, put(0, "MJD-END", "55000.107")),
    Case("SCI-LONGSTR-FORBIDDEN", IMAGE, put(0, "LONGSTR", "OGIP 1.0")),
    Case("SCI-CONTINUE-FORBIDDEN", IMAGE, put(0, "OBJECT", "NGC 6240, " + "the merger " * 8)),
    Case("SCI-DATE-FORMAT", IMAGE, put(0, "DATE", "01/05/2024")),
    Case("SCI-RADESYS-ALLOWED", IMAGE, put(0, "RADESYS", "GAPPT")),
    Case("SCI-EQUINOX", IMAGE, put(0, "EQUINOX", 1950.0)),
    Case("SCI-REFERENC-FORMAT", IMAGE, put(0, "REFERENC", "Smith et al. 2020")),
    Case("SCI-MJD-ORDER", IMAGE, put(0, "MJD-END", MJD_OBS - 0.01)),
    Case("SCI-MJD-OBS-RANGE", IMAGE, put(0, "MJD-OBS", 40000.0)),
    Case("SCI-MJD-END-FUTURE", IMAGE, put(0, "MJD-END", NOW_MJD + 30)),
    Case("SCI-CDELT-FORBIDDEN", IMAGE, put(0, "CDELT1", -7.5e-6)),
    Case("SCI-TELESCOP-MULTI", IMAGE, put(0, "TELESC1", "ESO-VLT-U4")),
    Case("SCI-INSTRUME-MULTI", IMAGE, put(0, "INSTRUME", "MULTI")),
    Case("SCI-PROG_ID-MULTI", IMAGE, put(0, "PROGID1", "083.D-0123(A)")),
    Case("SCI-INDEXED-UNIQUE", IMAGE, put(0, "OBID2", 200412345)),
    Case("SCI-DATA-PRESENT", IMAGE, without_data(1, 2), options=HDUCLASS),
    Case("SCI-EXPTIME-RANGE", IMAGE, put(0, "EXPTIME", 0.0)),
    Case("SCI-EXPTIME-TEXPTIME", IMAGE, put(0, "EXPTIME", 700.0)),
    Case("SCI-TEXPTIME-INTERVAL", IMAGE, put(0, "TEXPTIME", 700.0)),
    Case("SCI-TL_OFFAN-RANGE", IMAGE, put(0, "TL_OFFAN", -1000.0)),
    Case("SCI-NOESODAT", IMAGE, put(0, "ORIGIN", "OHP")),
    Case("SCI-FLUXCAL-ALLOWED", IMAGE, put(0, "FLUXCAL", "RELATIVE")),
    Case("SCI-RA-RANGE", IMAGE, put(0, "RA", 400.0)),
    Case("SCI-DEC-RANGE", IMAGE, put(0, "DEC", -95.0)),
    Case("SCI-FPRA-RANGE", IMAGE, put(0, "FPRA1", 361.0)),
    Case("SCI-FPDE-RANGE", IMAGE, put(0, "FPDE1", 91.0)),
    Case("SCI-SKY_RES-RANGE", CUBE, put(0, "SKY_RES", 120.0)),
    Case("SCI-SKY_RERR-RANGE", CUBE, put(0, "SKY_RERR", -0.1)),
    Case("SCI-ABMAGLIM-RANGE", IMAGE, put(0, "ABMAGLIM", 120.0)),
    Case("SCI-WAVELMIN-RANGE", CUBE, put(0, "WAVELMIN", 0.0)),
    Case("SCI-WAVELMIN-WAVELMAX", CUBE, put(0, "WAVELMIN", 1000.0)),
    Case("SCI-SPEC_RES-RANGE", CUBE, put(0, "SPEC_RES", -1.0)),
    Case("SCI-PIXNOISE-RANGE", CUBE, put(0, "PIXNOISE", -1.0e-20)),
    Case("SCI-PROV0-FORBIDDEN", IMAGE, put(0, "PROV0", "NACO.2009-06-18T02:23:00.000.fits")),
    Case("SCI-OBID0-FORBIDDEN", IMAGE, put(0, "OBID0", 200412344)),
    Case("SCI-EXTNAME-UNIQUE", IMAGE, both(provenance_extensions(2), put(0, "PROVXTN", True))),
    Case("SCI-ORIGFILE-PRIMARY-ONLY", SPECTRUM, put(1, "ORIGFILE", NAMES[SPECTRUM])),
    Case("SCI-PRODCATG-PRIMARY-ONLY", SPECTRUM, put(1, "PRODCATG", SPECTRUM)),
    Case("SCI-NCOMBINE-RANGE", IMAGE, put(0, "NCOMBINE", 0)),
    Case("SCI-PROVXTN", IMAGE, provenance_extensions(1)),
    Case("SCI-STREHL-RANGE", IMAGE, put(0, "STREHL", 1.5)),
    Case("SCI-ASSOC-ALLOWED", IMAGE, put(0, "ASSOC1", "ANCILLARY.WEIGHTMAP")),

    # SCIENCE.IMAGE
    Case("IMAGE-NAXIS", IMAGE, with_data(0, (1, 48, 40))),
    Case("IMAGE-CUNIT-DEG", IMAGE, put(0, "CUNIT1", "DEG")),
    Case("IMAGE-PSF_FWHM-RANGE", IMAGE, put(0, "PSF_FWHM", 0.0)),
    Case("IMAGE-ABMAGLIM-ABMAGSAT", IMAGE, put(0, "ABMAGSAT", 23.0)),
    Case("IMAGE-FOOTPRINT", IMAGE, shift(0, "RA", 0.01)),
    Case("IMAGE-RA_ERR-DEC_ERR-FORBIDDEN", IMAGE, put(0, "RA_ERR", 1e-4)),
    Case("IMAGE-HDUCLAS2-ALLOWED", IMAGE, add_extension(2, "BKG", HDUCLAS2="BACKGROUND"),
         options=HDUCLASS),
    Case("IMAGE-HDUCLASS-DATA", IMAGE, put(1, "HDUCLAS2", "CONF"), options=HDUCLASS),
    Case("IMAGE-HDUCLAS3-ALLOWED", IMAGE, put(2, "HDUCLAS3", "SIGMA"), options=HDUCLASS),
    Case("IMAGE-HDUCLASS-LINKS", IMAGE, put(2, "SCIDATA", "SCI"), options=HDUCLASS),

    # SCIENCE.SPECTRUM, primary HDU
    Case("SPECTRUM-NAXIS", SPECTRUM, with_data(0, (2, 2))),
    Case("SPECTRUM-SPEC_RES-RANGE", SPECTRUM, put(0, "SPEC_RES", 0.0)),
    Case("SPECTRUM-BUNIT-FORBIDDEN", SPECTRUM, put(1, "BUNIT", "erg/s/cm2/Angstrom")),
    Case("SPECTRUM-CD-FORBIDDEN", SPECTRUM, put(0, "CD1_1", 0.025)),
    Case("SPECTRUM-FLUXERR", SPECTRUM, put(0, "FLUXERR", 150.0)),
    Case("SPECTRUM-TOT_FLUX", SPECTRUM, both(put(0, "TOT_FLUX", True),
                                             put(0, "FLUXCAL", "UNCALIBRATED"),
                                             put(0, "FLUXERR", -1.0))),

    # SCIENCE.SPECTRUM, the table
    Case("SPECTRUM-EXTENSION", SPECTRUM,
         lambda hdul: hdul.__setitem__(1, fits.ImageHDU(np.zeros(3), name="SPECTRUM"))),
    Case("SPECTRUM-NAXIS2", SPECTRUM, spectrum_columns(two_rows)),
    Case("SPECTRUM-PCOUNT", SPECTRUM, spectrum_columns(variable_length)),
    Case("SPECTRUM-APERTURE-RANGE", SPECTRUM, put(1, "APERTURE", 0.5)),
    Case("SPECTRUM-VOPUB-ALLOWED", SPECTRUM, put(1, "VOPUB", "ESO")),
    Case("SPECTRUM-TTYPE1-ALLOWED", SPECTRUM, column(1, name="LAMBDA")),
    Case("SPECTRUM-TUCD1-ALLOWED", SPECTRUM, put(1, "TUCD1", "em.freq")),
    Case("SPECTRUM-TUNIT1-ALLOWED", SPECTRUM, column(1, unit="m")),
    Case("SPECTRUM-TTYPE2-FORMAT", SPECTRUM, column(2, name="F")),
    Case("SPECTRUM-TTYPE3-FORMAT", SPECTRUM, column(3, name="SIGMA")),
    Case("SPECTRUM-TUTYP1-FORMAT", SPECTRUM, put(1, "TUTYP1", "Data.SpectralAxis.Value")),
    Case("SPECTRUM-TUTYP2-FORMAT", SPECTRUM, put(1, "TUTYP2", "spec:Data.FluxAxis")),
    Case("SPECTRUM-TUTYP3-FORMAT", SPECTRUM, put(1, "TUTYP3", "spec:Data.FluxAxis.Value")),
    Case("SPECTRUM-TFORM-SAME", SPECTRUM, spectrum_columns(float_error)),
    Case("SPECTRUM-SKYBACK-FORBIDDEN", SPECTRUM, spectrum_columns(with_skyback)),
    Case("SPECTRUM-TUNIT-FLUX-ERR", SPECTRUM, column(3, unit="adu")),

    # SCIENCE.SPECTRUM, extension against primary, and the data
    Case("SPECTRUM-RA-MATCH", SPECTRUM, put(1, "RA", RA + 1e-3)),
    Case("SPECTRUM-DEC-MATCH", SPECTRUM, put(1, "DEC", DEC - 1e-3)),
    Case("SPECTRUM-OBJECT-MATCH", SPECTRUM, put(1, "OBJECT", "NGC 6241")),
    Case("SPECTRUM-TELAPSE-TEXPTIME", SPECTRUM, telapse_short_of_texptime),
    Case("SPECTRUM-TELAPSE-INTERVAL", SPECTRUM, shift(1, "TELAPSE", 10.0)),
    Case("SPECTRUM-TMID", SPECTRUM, shift(1, "TMID", 0.01)),
    Case("SPECTRUM-SPEC_VAL", SPECTRUM, shift(1, "SPEC_VAL", 1.0)),
    Case("SPECTRUM-SPEC_BW", SPECTRUM, shift(1, "SPEC_BW", 1.0)),
    Case("SPECTRUM-WAVE-INCREASING", SPECTRUM, in_data(1, swap_two)),
    Case("SPECTRUM-SPEC_BIN-DATA", SPECTRUM, put(0, "SPEC_BIN", 0.5)),
    Case("SPECTRUM-WAVELMIN-DATA", SPECTRUM, spectrum_wave_limits("WAVELMIN", -1.0)),
    Case("SPECTRUM-WAVELMAX-DATA", SPECTRUM, spectrum_wave_limits("WAVELMAX", 1.0)),
    Case("SPECTRUM-TDMIN1-DATA", SPECTRUM, shift(1, "TDMIN1", -1.0)),
    Case("SPECTRUM-TDMAX1-DATA", SPECTRUM, shift(1, "TDMAX1", 1.0)),
    Case("SPECTRUM-NO-INF", SPECTRUM, in_data(2, one_infinite)),

    # SCIENCE.CUBE.IFS
    Case("CUBE-NAXIS", CUBE, with_data(0, (2, 2))),
    Case("CUBE-FILTER-FORBIDDEN", CUBE, put(0, "FILTER", "WFM-NOAO-N")),
    Case("CUBE-SPEC_BIN-FORBIDDEN", CUBE, put(0, "SPEC_BIN", 0.125)),
    Case("CUBE-RA_ERR-DEC_ERR-FORBIDDEN", CUBE, put(0, "DEC_ERR", 1e-4)),
    Case("CUBE-EXT-NAXIS", CUBE, with_data(2, (12, 10))),
    Case("CUBE-CUNIT-DEG", CUBE, put(1, "CUNIT2", "DEG")),
    Case("CUBE-HDUCLASS-ESO", CUBE, put(2, "HDUCLASS", "MUSE")),
    Case("CUBE-HDUCLAS2-ALLOWED", CUBE, add_extension(2, "CONF", HDUCLAS2="CONF")),
    Case("CUBE-HDUCLASS-DATA", CUBE, both(put(1, "HDUCLAS2", "ERROR"), put(1, "HDUCLAS3", "MSE"))),
    Case("CUBE-HDUCLAS3-ALLOWED", CUBE, put(2, "HDUCLAS3", "SIGMA")),
    Case("CUBE-HDUCLASS-LINKS", CUBE, put(1, "ERRDATA", "ERR")),
    Case("CUBE-FOOTPRINT", CUBE, shift(0, "DEC", 0.01)),
    Case("BATCH-CUBE-WHITELIGHT", CUBE, whitelight=whitelight_size),
]


def fired(case, directory):
    """The ids of the rules that fire on the case's file(s), with the findings."""
    hdul = builder.build(case.category, **case.options)
    if case.edit:
        case.edit(hdul)
    path = builder.write(hdul, directory / (case.name or NAMES[case.category]), case.checksum)
    if case.raw:
        case.raw(path)
    if case.whitelight:
        white = builder.build(WHITELIGHT)
        case.whitelight(white)
        reports = validate_batch([path, builder.write(white, directory / NAMES[WHITELIGHT])])
    else:
        reports = [validate_file(path)]
    findings = [finding for report in reports for finding in report.findings]
    return {finding.rule for finding in findings}, findings


@pytest.mark.parametrize("case", CASES, ids=str)
def test_breaking_one_rule_fires_exactly_that_rule(case, tmp_path):
    rules, findings = fired(case, tmp_path)
    assert rules == {case.rule}, [f"{f.rule}: {f.message}" for f in findings]
    for finding in findings:
        assert finding.severity == BY_ID[case.rule].severity
        assert finding.message
        if finding.keyword:
            assert finding.keyword in finding.message


def test_every_rule_has_a_breaking_case():
    cases = [case.rule for case in CASES]
    assert sorted(set(BY_ID) - set(cases)) == []
    assert sorted(set(cases) - set(BY_ID)) == []
    assert len(cases) == len(set(cases)), "one case per rule"


def test_rule_ids_are_unique():
    from processing.phase3 import RULES
    assert len(BY_ID) == len(RULES)
