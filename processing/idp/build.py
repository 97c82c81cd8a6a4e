"""Build an IDP in memory from a science product: its bytes, its ancillaries' bytes, and the
record of what was derived from where (IdpConversion.detail). Nothing is written here.

The SDP keywords and their sources (docs/IDP.md has the full table):
PRODCATG from PRO.CATG (instrument profile) · ORIGIN from the profile · TELESCOP, INSTRUME,
OBJECT, RADESYS/EQUINOX from the pipeline header · FILTER from the filter wheels · RA/DEC the
image centre by the WCS · EXPTIME, TEXPTIME, MJD-OBS, MJD-END, PROG_ID/PROGIDi, OBIDi,
NCOMBINE, PROVi, OBSTECH from the raw frames of the provenance · PROCSOFT from PRO.REC1.PIPE.ID
· PHOTZP/PHOTSYS/FLUXCAL from the night's standard stars or nominal (zeropoint.py) ·
PSF_FWHM, ABMAGLIM, ABMAGSAT measured on the image (depth.py) · ASSONi/ASSOCi/ASSOMi for the
weight map (the pipeline's frames-per-pixel map; a FITS file, named by ASSONi only) and the
QC preview PNG (non-FITS: ASSOCi and ASSOMi too).
"""

import datetime as dt
import hashlib
import io
import math
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from astropy.io import fits
from astropy.utils.exceptions import AstropyWarning

from processing.choices import ProductKind
from processing.conventions import mjd_to_datetime
from processing.headers import HeaderError, read_fits
from processing.idp.depth import measure_depth
from processing.idp.errors import ConversionError
from processing.idp.header import build_header
from processing.idp.instruments import profile_for
from processing.idp.provenance import raw_inputs
from processing.idp.wcs import celestial_wcs
from processing.idp.zeropoint import zero_point

WEIGHTMAP = "ANCILLARY.WEIGHTMAP"
PREVIEW = "ANCILLARY.PREVIEW"
#: The QC job's PNG of the AB, shown as the IDP's preview.
PREVIEW_PRO_CATG = "QC_PLOT_PNG"
PHOTSYS = "VEGA"


@dataclass
class FileOut:
    """One file to write: its name, bytes and category (PRODCATG or ASSOCi)."""

    name: str
    data: bytes
    category: str
    kind: str  # ProductKind
    keywords: dict = field(default_factory=dict)

    @property
    def md5(self):
        return hashlib.md5(self.data).hexdigest()

    @property
    def is_fits(self):
        return self.name.endswith(".fits")


@dataclass
class Built:
    idp: FileOut
    ancillaries: list
    detail: dict
    summary: str  # one line for the CLI and the CONVERTED log


@dataclass
class Derived:
    """The values of the SDP keywords that are not copied, and what they rest on."""

    prodcatg: str
    pro_catg: str
    profile: object
    inputs: object  # RawInputs
    filter_name: str
    target: str
    obstech: str
    procsoft: str
    radesys: str
    wcs: object  # Wcs
    depth: object  # Depth
    zp: object  # ZeroPoint
    dit: float
    satlevel: float
    sky: float | None  # QC.BACKGD, ADU per DIT
    frames_per_pixel: int  # the most frames a pixel combines (all without a contribution map)

    @property
    def photzp(self):
        """Of the image, in ADU per DIT: the rate's zero point plus 2.5·log10(DIT)."""
        return self.zp.value + 2.5 * math.log10(self.dit)

    @property
    def vega_to_ab(self):
        return self.profile.vega_to_ab.get(self.filter_name, 0.0)

    @property
    def abmaglim(self):
        return self.photzp - 2.5 * math.log10(self.depth.limit_flux()) + self.vega_to_ab

    @property
    def abmagsat(self):
        flux = self.depth.saturation_flux(self.satlevel, self.sky or 0.0)
        return self.photzp - 2.5 * math.log10(flux) + self.vega_to_ab

    @property
    def psf_fwhm(self):
        return self.depth.fwhm_px * self.wcs.pixscale

    @property
    def exptime(self):
        """Integration time of the deepest pixels: the mean exposure × frames combined there."""
        return self.inputs.texptime / len(self.inputs.frames) * self.frames_per_pixel


def build_idp(product):
    """Built for a science product; ConversionError names what is missing or wrong."""
    header, data, weights = _read(Path(product.path))
    derived = _derive(product, header, data, weights)
    stem = Path(product.name).stem
    ancillaries = []
    if weights is not None:
        ancillaries.append(_weight_map(f"{stem}_wgt.fits", weights, header, derived))
    preview = _preview(product, f"{stem}.png")
    if preview is not None:
        ancillaries.append(preview)
    cards = _sdp_cards(header, derived, ancillaries)
    image = data.astype(np.float32)
    idp_header, shortened = build_header(fits.PrimaryHDU(data=image).header, cards,
                                         derived.wcs.cards, header)  # fmt: skip
    idp = FileOut(product.name, _fits_bytes(fits.PrimaryHDU(data=image, header=idp_header)),
                  derived.prodcatg, ProductKind.IDP,
                  {"PRODCATG": derived.prodcatg, "PRO.CATG": derived.pro_catg,
                   "FILTER": derived.filter_name, "OBJECT": derived.target,
                   "PHOTZP": round(derived.photzp, 4)})  # fmt: skip
    return Built(idp, ancillaries, _detail(derived, ancillaries, shortened), _summary(derived))


def _derive(product, header, data, weights):
    get = _getter(header)
    profile = profile_for(header.get("INSTRUME"))
    pro_catg = get("PRO.CATG") or product.pro_catg
    prodcatg = profile.prodcatg.get(pro_catg)
    if prodcatg is None:
        _fail(f"PRO.CATG {pro_catg} has no SDP category in the {profile.name} profile "
              f"(known: {', '.join(sorted(profile.prodcatg))})")
    for key in ("TELESCOP", "INSTRUME"):
        if not header.get(key):
            _fail(f"no {key} in the header")
    inputs = raw_inputs(product)
    filter_name = profile.filter_of(get) or _fail("no filter in the beam (INS.OPTIi.ID)")
    wcs = celestial_wcs(header, data.shape, get("INS.PIXSCALE"))
    sky = get("QC.BACKGD")
    sky = float(sky) if isinstance(sky, (int, float)) and not isinstance(sky, bool) else None
    satlevel = _number(get, "DET.SATLEVEL", "ABMAGSAT")
    if sky is not None and sky >= satlevel:
        _fail(f"the sky (QC.BACKGD {sky:g} ADU) reaches DET.SATLEVEL {satlevel:g}: "
              "ABMAGSAT cannot be derived")
    return Derived(
        prodcatg=prodcatg, pro_catg=pro_catg, profile=profile, inputs=inputs,
        filter_name=filter_name,
        target=str(header.get("OBJECT") or get("OBS.TARG.NAME")
                   or _fail("no OBJECT nor OBS.TARG.NAME in the header")),
        obstech=(inputs.techs or [get("PRO.TECH") or _fail("no DPR.TECH on the raw frames")])[0],
        procsoft=str(get("PRO.REC1.PIPE.ID")
                     or _fail("no HIERARCH ESO PRO REC1 PIPE ID: PROCSOFT cannot be derived")),
        radesys=str(header.get("RADESYS") or header.get("RADECSYS") or "ICRS").strip(),
        wcs=wcs, depth=measure_depth(data, weights, wcs.pixscale),
        zp=zero_point(product.instance, product.night or product.ab.night, filter_name, profile),
        dit=_number(get, "DET.DIT", "PHOTZP (the image is in ADU per DIT)"),
        satlevel=satlevel, sky=sky,
        frames_per_pixel=int(np.max(weights)) if weights is not None else len(inputs.frames),
    )  # fmt: skip


def _sdp_cards(header, d, ancillaries):
    """(key, value, comment) of the SDP keywords, in the standard's order."""
    nominal = d.zp.nominal
    cards = [
        ("PRODCATG", d.prodcatg, "Data product category"),
        ("ORIGIN", d.profile.origin, "European Southern Observatory"),
        ("TELESCOP", header["TELESCOP"], "ESO Telescope Name"),
        ("INSTRUME", header["INSTRUME"], "Instrument used"),
        ("FILTER", d.filter_name, "Filter name"),
        ("OBJECT", d.target, "Target designation"),
        ("RA", round(d.wcs.ra, 6), "[deg] Image centre (J2000)"),
        ("DEC", round(d.wcs.dec, 6), "[deg] Image centre (J2000)"),
        ("RADESYS", d.radesys, "Coordinate reference frame"),
        *([("EQUINOX", 2000.0, "Standard FK5 (years)")] if d.radesys == "FK5" else []),
        ("EXPTIME", round(d.exptime, 4), "[s] Integration time per pixel (deepest part)"),
        ("TEXPTIME", round(d.inputs.texptime, 4), "[s] Total integration time of all exposures"),
        ("MJD-OBS", d.inputs.mjd_obs, "[d] Start of observations (days)"),
        ("MJD-END", d.inputs.mjd_end, "[d] End of observations (days)"),
        ("DATE-OBS", mjd_to_datetime(d.inputs.mjd_obs).strftime("%Y-%m-%dT%H:%M:%S.%f")[:23],
         "Start of observations"),
        *_programmes(d.inputs),
        *[(f"OBID{i}", obs_id, "Observation block ID")
          for i, obs_id in enumerate(d.inputs.obs_ids, start=1)],
        ("NCOMBINE", len(d.inputs.frames), "Number of raw science data files"),
        *[(f"PROV{i}", arcfile, "Originating raw science file")
          for i, arcfile in enumerate(d.inputs.arcfiles, start=1)],
        ("OBSTECH", d.obstech, "Technique of observation"),
        ("FLUXCAL", "UNCALIBRATED" if nominal else "ABSOLUTE",
         "PHOTZP is nominal, not measured" if nominal else "Flux calibrated by standard star"),
        ("PROCSOFT", d.procsoft, "Data reduction software/system with version no."),
        ("REFERENC", "", "Bibliographic reference"),
        ("BUNIT", "ADU", "Mean ADU per DIT of the combined frames"),
        ("PHOTZP", round(d.photzp, 4),
         f"NOMINAL for {d.filter_name}: no standard measured" if nominal
         else f"Zero point from standard star(s), {PHOTSYS}"),
        ("PHOTSYS", PHOTSYS, "Photometric system of PHOTZP"),
        *([] if nominal else [("PHOTZPER", round(d.zp.error, 4),
                               "[mag] Statistical error of PHOTZP")]),
        ("ABMAGLIM", round(d.abmaglim, 3), "5-sigma point-source limit (AB mag)"),
        ("ABMAGSAT", round(d.abmagsat, 3), "Saturation limit for point sources (AB mag)"),
        ("PSF_FWHM", round(d.psf_fwhm, 4), "[arcsec] Spatial resolution (median FWHM)"),
    ]  # fmt: skip
    for i, item in enumerate(ancillaries, start=1):
        cards.append((f"ASSON{i}", item.name, "Associated file name"))
        if not item.is_fits:  # a FITS ancillary says its category in its own PRODCATG
            cards += [(f"ASSOC{i}", item.category, "Associated file category"),
                      (f"ASSOM{i}", item.md5, "Associated file MD5 checksum")]  # fmt: skip
    cards.append(("DATE", _now(), "File creation date (UTC)"))
    return cards


def _detail(d, ancillaries, shortened):
    """IdpConversion.detail: every derived value with what it rests on."""
    return {
        "prodcatg": d.prodcatg,
        "profile": d.profile.name,
        "provenance": {"raw": len(d.inputs.frames), "from": d.inputs.source},
        "exptime": {"texptime": d.inputs.texptime, "frames_per_pixel_max": d.frames_per_pixel},
        "photzp": round(d.photzp, 4),
        "photzp_source": d.zp.source,
        "photzp_rate": round(d.zp.value, 4),
        "photzp_detail": d.zp.detail,
        "dit": d.dit,
        "vega_to_ab": d.vega_to_ab,
        "sky_adu": d.sky if d.sky is not None else "no QC.BACKGD: 0 assumed for ABMAGSAT",
        "satlevel_adu": d.satlevel,
        "abmaglim": round(d.abmaglim, 3),
        "abmagsat": round(d.abmagsat, 3),
        "psf_fwhm_arcsec": round(d.psf_fwhm, 4),
        "depth": d.depth.detail,
        "wcs": d.wcs.detail,
        "ancillaries": [{"name": a.name, "category": a.category, "md5": a.md5}
                        for a in ancillaries],
        "shortened_keywords": shortened,
    }  # fmt: skip


def _summary(d):
    if d.zp.nominal:
        source = "nominal: " + d.zp.detail["reason"]
    else:
        source = "standard " + ", ".join(sorted(d.zp.detail.get("stars", {})))
    return (f"{d.prodcatg} {d.filter_name}, PHOTZP {d.photzp:.3f} ({source}), "
            f"ABMAGLIM {d.abmaglim:.2f}, PSF_FWHM {d.psf_fwhm:.3f}\"")


def _read(path):
    """(primary header, 2-D image, frames-per-pixel map or None) of the product file."""
    if not path.is_file():
        _fail(f"its file {path} does not exist")
    try:  # the data pool's reader checks that every HDU is complete, and says where it is not
        read_fits(path)
    except HeaderError as exc:
        _fail(f"its file {path} cannot be used: {exc}")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", AstropyWarning)
            with fits.open(path, memmap=False, lazy_load_hdus=False) as hdul:
                header = hdul[0].header.copy()
                data = hdul[0].data
                weights = None
                for hdu in hdul[1:]:
                    if str(hdu.header.get("EXTNAME", "")).lower() == "contribution map":
                        weights = np.array(hdu.data)
                data = None if data is None else np.array(data, dtype=np.float64)
    except (OSError, ValueError, TypeError, IndexError, fits.VerifyError) as exc:
        _fail(f"its file {path} is not a readable FITS file: {exc}")
    if data is None or data.ndim != 2:
        _fail(f"its file {path} has no 2-D image in the primary HDU")
    if weights is not None and weights.shape != data.shape:
        _fail(f"the contribution map of {path} is {weights.shape}, the image {data.shape}")
    return header, data, weights


def _getter(header):
    """Keyword reader by OCA name (PRO.REC1.PIPE.ID → HIERARCH ESO PRO REC1 PIPE ID)."""

    def get(name):
        key = "ESO " + name.replace(".", " ") if "." in name else name
        try:
            return header.get(key)
        except (ValueError, fits.VerifyError):
            return None

    return get


def _number(get, name, needed_for):
    value = get(name)
    if not isinstance(value, (int, float)) or isinstance(value, bool) or not value > 0:
        _fail(f"no usable HIERARCH ESO {name.replace('.', ' ')} ({value!r}): {needed_for} "
              "cannot be derived")
    return float(value)


def _programmes(inputs):
    progs = inputs.prog_ids
    if not progs:
        _fail("the raw frames carry no OBS.PROG.ID: PROG_ID cannot be derived")
    if len(progs) == 1:
        return [("PROG_ID", progs[0], "ESO programme identification")]
    return [("PROG_ID", "MULTI", "Several programmes: see PROGIDi")] + [
        (f"PROGID{i}", prog, "ESO programme identification")
        for i, prog in enumerate(progs, start=1)
    ]


def _weight_map(name, weights, header, d):
    """ANCILLARY.WEIGHTMAP: the number of frames combined in each pixel (for frames of equal
    exposure, proportional to the inverse variance), on the IDP's WCS."""
    cards = [
        ("PRODCATG", WEIGHTMAP, "Data product category"),
        ("ORIGIN", d.profile.origin, "European Southern Observatory"),
        ("TELESCOP", header["TELESCOP"], "ESO Telescope Name"),
        ("INSTRUME", header["INSTRUME"], "Instrument used"),
        ("OBJECT", d.target, "Target designation"),
        ("RA", round(d.wcs.ra, 6), "[deg] Image centre (J2000)"),
        ("DEC", round(d.wcs.dec, 6), "[deg] Image centre (J2000)"),
        ("MJD-OBS", d.inputs.mjd_obs, "[d] Start of observations (days)"),
        ("MJD-END", d.inputs.mjd_end, "[d] End of observations (days)"),
        ("DATE", _now(), "File creation date (UTC)"),
    ]
    image = np.asarray(weights, dtype=np.int16)
    built, _ = build_header(fits.PrimaryHDU(data=image).header, cards, d.wcs.cards, fits.Header())
    data = _fits_bytes(fits.PrimaryHDU(data=image, header=built))
    return FileOut(name, data, WEIGHTMAP, ProductKind.ANCILLARY, {"PRODCATG": WEIGHTMAP})


def _preview(product, name):
    """ANCILLARY.PREVIEW: the QC job's PNG of the product's AB, when it has one."""
    plot = product.ab.products.filter(kind=ProductKind.PLOT, pro_catg=PREVIEW_PRO_CATG).first()
    if plot is None:
        return None
    try:
        data = Path(plot.path).read_bytes()
    except OSError as exc:
        _fail(f"its QC preview {plot.path} cannot be read: {exc.strerror or exc}")
    return FileOut(name, data, PREVIEW, ProductKind.ANCILLARY, {"PRODCATG": PREVIEW})


def _fits_bytes(hdu):
    """The file's bytes, CHECKSUM and DATASUM computed last, over the final content."""
    stream = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", AstropyWarning)
        fits.HDUList([hdu]).writeto(stream, checksum=True, output_verify="exception")
    return stream.getvalue()


def _now():
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S")


def _fail(reason):
    raise ConversionError(reason)
