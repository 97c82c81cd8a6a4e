"""Valid Phase 3 products for tests and the validation benchmark, built with astropy.

The headers follow the ESO SDP standard's description of each category (keyword table of
dfos_phoenix.md §5.3, the 1-D spectrum layout of §7) with realistic values of the
instruments that make them: a NACO coadd (SCIENCE.IMAGE, with its ANCILLARY.WEIGHTMAP), a
UVES-like 1-D spectrum (SCIENCE.SPECTRUM), a MUSE-like cube (SCIENCE.CUBE.IFS with its
ANCILLARY.IMAGE.WHITELIGHT). Values agree with each other the way a pipeline writes them
(MJD-END from MJD-OBS and the exposures, TMID, SPEC_VAL, WAVELMIN from the data …), not the
way the validator happens to check them.

    build(category, **options) -> HDUList     in memory, to edit before writing
    write(hdul, path, checksum=True) -> Path  with CHECKSUM/DATASUM in every HDU
    valid_file(directory, category) -> Path   build + write under the category's usual name
"""

from pathlib import Path

import numpy as np
from astropy.io import fits
from astropy.time import Time

MJD_OBS = 55000.10  # 2009-06-18T02:24 UT
DIT, EXPOSURES = 60.0, 10
RA, DEC = 253.24542, 2.40094  # NGC 6240

NAMES = {
    "SCIENCE.IMAGE": "NA_SCOA_2009-06-18T02:24:00.000_0001.fits",
    "ANCILLARY.WEIGHTMAP": "NA_SWMP_2009-06-18T02:24:00.000_0001.fits",
    "SCIENCE.SPECTRUM": "UV_SRED_2009-06-18T02:24:00.000_0001.fits",
    "SCIENCE.CUBE.IFS": "MU_SCBC_2009-06-18T02:24:00.000_0001.fits",
    "ANCILLARY.IMAGE.WHITELIGHT": "MU_SWLI_2009-06-18T02:24:00.000_0001.fits",
}


def _set(header, cards):
    for keyword, value, comment in cards:
        header[keyword] = (value, comment)


def _provenance(instrument, count, dit):
    starts = [Time(MJD_OBS + number * dit / 86400, format="mjd") for number in range(count)]
    return [(f"PROV{number}", f"{instrument}.{start.isot}.fits", "originating raw file")
            for number, start in enumerate(starts, start=1)]


def _mjd_end(exposures, dit):
    return MJD_OBS + exposures * dit / 86400


def _observation(origin, telescope, instrument, arcprefix, obstech, exposures=EXPOSURES,
                 dit=DIT):
    """Primary-header cards every science product carries (SDP standard: M and Meso)."""
    return [
        ("ORIGIN", origin, "European Southern Observatory"),
        ("DATE", "2024-05-01T12:00:00", "file creation date (UTC)"),
        ("TELESCOP", telescope, "ESO telescope name"),
        ("INSTRUME", instrument, "instrument used"),
        ("OBJECT", "NGC 6240", "target designation"),
        ("RA", RA, "[deg] image centre (J2000)"),
        ("DEC", DEC, "[deg] image centre (J2000)"),
        ("EQUINOX", 2000.0, "standard FK5 (years)"),
        ("RADESYS", "ICRS", "coordinate reference frame"),
        ("DATE-OBS", Time(MJD_OBS, format="mjd").isot, "start of the first exposure"),
        ("MJD-OBS", MJD_OBS, "[d] start of observations (days)"),
        ("MJD-END", _mjd_end(exposures, dit), "[d] end of observations (days)"),
        ("EXPTIME", exposures * dit, "[s] total integration time per pixel"),
        ("TEXPTIME", exposures * dit, "[s] total integration time of all exposures"),
        ("PROG_ID", "083.D-0123(A)", "ESO programme identification"),
        ("OBID1", 200412345, "observation block ID"),
        ("NCOMBINE", exposures, "number of combined raw frames"),
        ("OBSTECH", obstech, "technique of observation"),
        ("PROCSOFT", "phoenix/0.1", "reduction software"),
        ("REFERENC", "", "bibliographic reference"),
        *_provenance(arcprefix, exposures, dit),
    ]


def _wcs_2d(nx, ny, scale_deg):
    return [
        ("CTYPE1", "RA---TAN", "gnomonic projection"),
        ("CTYPE2", "DEC--TAN", "gnomonic projection"),
        ("CRVAL1", RA, "[deg] RA at the reference pixel"),
        ("CRVAL2", DEC, "[deg] DEC at the reference pixel"),
        ("CRPIX1", (nx + 1) / 2, "reference pixel"),
        ("CRPIX2", (ny + 1) / 2, "reference pixel"),
        ("CD1_1", -scale_deg, "[deg/pixel]"),
        ("CD1_2", 0.0, "[deg/pixel]"),
        ("CD2_1", 0.0, "[deg/pixel]"),
        ("CD2_2", scale_deg, "[deg/pixel]"),
        ("CUNIT1", "deg", "unit of CRVAL1 and CD1_*"),
        ("CUNIT2", "deg", "unit of CRVAL2 and CD2_*"),
        ("CSYER1", 1.5e-5, "[deg] systematic error of the astrometry"),
        ("CSYER2", 1.5e-5, "[deg] systematic error of the astrometry"),
        ("CRDER1", 3e-6, "[deg] random error of the astrometry"),
        ("CRDER2", 3e-6, "[deg] random error of the astrometry"),
    ]


PHOTOMETRY = [
    ("BUNIT", "ADU", "physical unit of the array values"),
    ("PHOTZP", 23.51, "[mag] photometric zero point"),
    ("PHOTZPER", 0.05, "[mag] uncertainty of PHOTZP"),
    ("PHOTSYS", "VEGA", "photometric system"),
    ("ABMAGLIM", 21.8, "[mag] 5-sigma limiting AB magnitude"),
    ("ABMAGSAT", 12.4, "[mag] saturation limit for point sources (AB)"),
    ("PSF_FWHM", 0.12, "[arcsec] effective spatial resolution"),
]


def science_image(hduclass=False, size=(48, 40)):
    """A NACO Ks coadd: the image in the primary HDU, or (hduclass=True) in a DATA extension
    with its ERROR extension, as the HDUCLASS variant of the standard has it."""
    ny, nx = size
    data = np.random.default_rng(1).normal(100.0, 5.0, size).astype(np.float32)
    primary = fits.PrimaryHDU(None if hduclass else data)
    _set(primary.header, [
        ("PRODCATG", "SCIENCE.IMAGE", "data product category"),
        *_observation("ESO-PARANAL", "ESO-VLT-U4", "NAOS+CONICA", "NACO", "IMAGE,JITTER"),
        ("FILTER", "Ks", "filter name"),
        ("STREHL", 0.25, "Strehl ratio of the AO correction"),
        ("FLUXCAL", "ABSOLUTE", "type of flux calibration"),
        ("ASSON1", NAMES["ANCILLARY.WEIGHTMAP"], "associated weight map"),
    ])
    image_cards = PHOTOMETRY + _wcs_2d(nx, ny, 7.5e-6)
    if not hduclass:
        _set(primary.header, image_cards)
        return fits.HDUList([primary])
    scheme = [("HDUCLASS", "ESO", "class name (ESO format)"),
              ("HDUDOC", "SDP", "document with class description"),
              ("HDUVERS", "SDP version 8", "version of the class definition"),
              ("HDUCLAS1", "IMAGE", "image data format")]
    science = fits.ImageHDU(data, name="DATA")
    _set(science.header, image_cards + scheme + [
        ("HDUCLAS2", "DATA", "science data extension"),
        ("ERRDATA", "ERR", "pointer to the error extension")])
    error = fits.ImageHDU(np.full(size, 5.0, np.float32), name="ERR")
    _set(error.header, [("BUNIT", "ADU", "physical unit")] + _wcs_2d(nx, ny, 7.5e-6) + scheme + [
        ("HDUCLAS2", "ERROR", "error extension"),
        ("HDUCLAS3", "RMSE", "error type: root mean square"),
        ("SCIDATA", "DATA", "pointer to the data extension")])
    return fits.HDUList([primary, science, error])


def weightmap(size=(48, 40)):
    """The coadd's ANCILLARY.WEIGHTMAP (same grid, relative weights)."""
    hdu = fits.PrimaryHDU(np.ones(size, np.float32))
    _set(hdu.header, [("PRODCATG", "ANCILLARY.WEIGHTMAP", "data product category"),
                      ("ORIGIN", "ESO-PARANAL", "European Southern Observatory"),
                      ("INSTRUME", "NAOS+CONICA", "instrument used")])
    return fits.HDUList([hdu])


def science_spectrum(points=400, start_angstrom=4800.0, step_angstrom=0.25):
    """A UVES-like flux-calibrated 1-D spectrum: NAXIS = 0 primary HDU and one BINTABLE row of
    WAVE (Angstrom), FLUX and ERR arrays."""
    wave = start_angstrom + step_angstrom * np.arange(points)
    flux = 1e-15 * (1 + 0.1 * np.sin(wave / 30.0))
    low, high = wave[0] / 10, wave[-1] / 10  # nm
    exposures, dit = 3, 900.0
    mjd_end = _mjd_end(exposures, dit)
    primary = fits.PrimaryHDU()
    _set(primary.header, [
        ("PRODCATG", "SCIENCE.SPECTRUM", "data product category"),
        *_observation("ESO", "ESO-VLT-U2", "UVES", "UVES", "ECHELLE", exposures, dit),
        ("SPECSYS", "TOPOCENT", "reference frame of the spectral coordinates"),
        ("EXT_OBJ", False, "not an extended object"),
        ("CONTNORM", False, "spectrum not normalised to the continuum"),
        ("TOT_FLUX", False, "flux is not the total flux of the source"),
        ("FLUXCAL", "ABSOLUTE", "type of flux calibration"),
        ("FLUXERR", 10.0, "[%] uncertainty of the flux scale"),
        ("WAVELMIN", low, "[nm] minimum wavelength"),
        ("WAVELMAX", high, "[nm] maximum wavelength"),
        ("SPEC_BIN", step_angstrom / 10, "[nm] wavelength bin size"),
        ("SPEC_RES", 42000.0, "spectral resolving power"),
        ("SPEC_ERR", 0.0012, "[nm] statistical error of wavelengths"),
        ("SPEC_SYE", 0.0005, "[nm] systematic error of wavelengths"),
        ("SNR", 35.2, "median signal-to-noise ratio"),
        ("RA_ERR", 1.0e-4, "[deg] error of RA"),
        ("DEC_ERR", 1.0e-4, "[deg] error of DEC"),
    ])
    row = lambda values: np.asarray(values, dtype=np.float64)[None, :]  # noqa: E731
    flux_unit = "erg cm**(-2) s**(-1) angstrom**(-1)"
    table = fits.BinTableHDU.from_columns([
        fits.Column("WAVE", f"{points}D", "Angstrom", array=row(wave)),
        fits.Column("FLUX", f"{points}D", flux_unit, array=row(flux)),
        fits.Column("ERR", f"{points}D", flux_unit, array=row(flux / 30)),
    ], name="SPECTRUM")
    elapsed = (mjd_end - MJD_OBS) * 86400
    _set(table.header, [
        ("VOCLASS", "SPECTRUM v2.0", "VO data model"),
        ("VOPUB", "ESO/SAF", "VO publishing authority"),
        ("TITLE", "NGC 6240 UVES 480-490 nm", "dataset title"),
        ("OBJECT", "NGC 6240", "target designation"),
        ("RA", RA, "[deg] spectroscopic target position"),
        ("DEC", DEC, "[deg] spectroscopic target position"),
        ("APERTURE", 2.8e-4, "[deg] slit width"),
        ("TELAPSE", elapsed, "[s] total elapsed time"),
        ("TMID", (MJD_OBS + mjd_end) / 2, "[d] exposure mid-point"),
        ("SPEC_VAL", (low + high) / 2, "[nm] mean wavelength"),
        ("SPEC_BW", high - low, "[nm] bandpass width"),
        ("NELEM", points, "length of the data arrays"),
        ("TDMIN1", wave[0], "[Angstrom] start of the spectral coordinate"),
        ("TDMAX1", wave[-1], "[Angstrom] end of the spectral coordinate"),
        ("TUTYP1", "spec:Data.SpectralAxis.Value", ""),
        ("TUCD1", "em.wl", ""),
        ("TUTYP2", "spec:Data.FluxAxis.Value", ""),
        ("TUCD2", "phot.flux.density;em.wl", ""),
        ("TUTYP3", "spec:Data.FluxAxis.Accuracy.StatError", ""),
        ("TUCD3", "stat.error;phot.flux.density;em.wl", ""),
    ])
    return fits.HDUList([primary, table])


def _cube_wcs(nx, ny):
    cards = [card for card in _wcs_2d(nx, ny, 5.5e-5) if not card[0].startswith("CRDER")]
    return cards + [
        ("CTYPE3", "AWAV", "air wavelength"),
        ("CUNIT3", "Angstrom", "unit of the spectral axis"),
        ("CRVAL3", 4750.0, "[Angstrom] wavelength at CRPIX3"),
        ("CRPIX3", 1.0, "reference pixel of the spectral axis"),
        ("CD3_3", 1.25, "[Angstrom/pixel]"),
        ("CD1_3", 0.0, ""), ("CD2_3", 0.0, ""), ("CD3_1", 0.0, ""), ("CD3_2", 0.0, ""),
        ("CRDER1", 4e-6, "[deg] random error of the astrometry"),
        ("CRDER2", 4e-6, "[deg] random error of the astrometry"),
    ]


CUBE_SHAPE = (6, 12, 10)  # wavelengths, y, x


def science_cube(shape=CUBE_SHAPE):
    """A MUSE-like cube: NAXIS = 0 primary HDU, DATA and STAT extensions in the HDUCLASS
    scheme, associated with its white-light image."""
    nz, ny, nx = shape
    primary = fits.PrimaryHDU()
    _set(primary.header, [
        ("PRODCATG", "SCIENCE.CUBE.IFS", "data product category"),
        *_observation("ESO", "ESO-VLT-U4", "MUSE", "MUSE", "IFU", exposures=4),
        ("RADESYS", "FK5", "coordinate reference frame"),
        ("FLUXCAL", "ABSOLUTE", "type of flux calibration"),
        ("ASSON1", NAMES["ANCILLARY.IMAGE.WHITELIGHT"], "white-light image"),
        ("WAVELMIN", 475.0, "[nm] minimum wavelength"),
        ("WAVELMAX", 475.0 + (nz - 1) * 0.125, "[nm] maximum wavelength"),
        ("SPEC_RES", 3000.0, "spectral resolving power"),
        ("SPECSYS", "BARYCENT", "reference frame of the spectral coordinates"),
        ("PIXNOISE", 1.2e-20, "[erg/s/cm**2/Angstrom] pixel-to-pixel noise"),
        ("SKY_RES", 0.85, "[arcsec] spatial resolution (FWHM)"),
        ("SKY_RERR", 0.1, "[arcsec] error of SKY_RES"),
        ("ABMAGLIM", 22.4, "[mag] 5-sigma limiting AB magnitude"),
    ])
    scheme = [("HDUCLASS", "ESO", "class name (ESO format)"),
              ("HDUDOC", "DICD", "document with class description"),
              ("HDUVERS", "DICD version 6", "version of the class definition"),
              ("HDUCLAS1", "IMAGE", "image data format")]
    rng = np.random.default_rng(2)
    data = fits.ImageHDU(rng.normal(1.0, 0.1, shape).astype(np.float32), name="DATA")
    _set(data.header, [("BUNIT", "10**(-20)*erg/s/cm**2/Angstrom", "data unit")]
         + _cube_wcs(nx, ny) + scheme
         + [("HDUCLAS2", "DATA", "science data"), ("ERRDATA", "STAT", "error extension")])
    stat = fits.ImageHDU(np.full(shape, 0.01, np.float32), name="STAT")
    _set(stat.header, [("BUNIT", "(10**(-20)*erg/s/cm**2/Angstrom)**2", "variance unit")]
         + _cube_wcs(nx, ny) + scheme
         + [("HDUCLAS2", "ERROR", "error extension"), ("HDUCLAS3", "MSE", "variance"),
            ("SCIDATA", "DATA", "data extension")])
    return fits.HDUList([primary, data, stat])


def whitelight(size=CUBE_SHAPE[1:]):
    """The cube's ANCILLARY.IMAGE.WHITELIGHT: the cube summed over wavelength."""
    primary = fits.PrimaryHDU()
    _set(primary.header, [("PRODCATG", "ANCILLARY.IMAGE.WHITELIGHT", "data product category"),
                          ("ORIGIN", "ESO", "European Southern Observatory"),
                          ("INSTRUME", "MUSE", "instrument used")])
    image = fits.ImageHDU(np.ones(size, np.float32), name="DATA")
    _set(image.header,
         [("BUNIT", "10**(-20)*erg/s/cm**2", "data unit")] + _wcs_2d(size[1], size[0], 5.5e-5))
    return fits.HDUList([primary, image])


BUILDERS = {
    "SCIENCE.IMAGE": science_image,
    "ANCILLARY.WEIGHTMAP": weightmap,
    "SCIENCE.SPECTRUM": science_spectrum,
    "SCIENCE.CUBE.IFS": science_cube,
    "ANCILLARY.IMAGE.WHITELIGHT": whitelight,
}


def build(category, **options):
    return BUILDERS[category](**options)


def write(hdul, path, checksum=True):
    path = Path(path)
    hdul.writeto(path, overwrite=True, checksum=checksum)
    return path


def valid_file(directory, category, **options):
    return write(build(category, **options), Path(directory) / NAMES[category])
