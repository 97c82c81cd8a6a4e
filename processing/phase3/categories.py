"""Product categories (PRODCATG): the ones ESO's Phase 3 validator recognises and the ones
this validator has rules for (dfos_phoenix.md §5.1, from ESO's phase3_checks_summary.txt).

A rule's scope is one of ALL (every file), SCIENCE (every science category ESO recognises),
ANCILLARY, or one supported science category; `scopes_of` says which scopes a file is in.
"""

ALL = "ALL"
SCIENCE = "SCIENCE"
ANCILLARY = "ANCILLARY"
IMAGE = "SCIENCE.IMAGE"
SPECTRUM = "SCIENCE.SPECTRUM"
CUBE = "SCIENCE.CUBE.IFS"
WHITELIGHT = "ANCILLARY.IMAGE.WHITELIGHT"

SUPPORTED_SCIENCE = (IMAGE, SPECTRUM, CUBE)

RECOGNISED_SCIENCE = (
    IMAGE, "SCIENCE.MEFIMAGE", SPECTRUM, "SCIENCE.SRCTBL", CUBE, "SCIENCE.CUBE",
    "SCIENCE.IMAGE.FLUXMAP", "SCIENCE.VISIBILITY", "SCIENCE.VISIBILITY.UNCALIBRATED",
    "SCIENCE.CATALOG", "SCIENCE.MCATALOG", "SCIENCE.CATALOGTILE",
)

RECOGNISED_ANCILLARY = tuple("ANCILLARY." + name for name in (
    "PREVIEW", "WEIGHTMAP", "GAINMAP", "MASK", "SPECTRUM", "2DSPECTRUM", "IMAGE",
    "MOSSPECTRA", "MOSSPECTRA.CALSIM", "MOSSPECTRA.SKY", "MOSSPECTRA.PREVIEW", "RMSMAP",
    "SNRMAP", "RESMAP", "SRCMASK", "FILTERED", "SPECTRUM.TELLURIC", "SPECTRUM.CONTINUUM",
    "MUSE.PIXTABLE_REDUCED", "KMOS.SCI_RECONSTRUCTED", "EXPMAP", "VARMAP", "PIXELCOUNTMAP",
    "IMAGE.WHITELIGHT", "CUBE.IFS.NO_TELLCORR", "KMOS.SPECTRUM.TELLURIC", "CUBE.IFS.SKY",
    "CCF", "DRIFT", "PIXELCOUNT3D", "MPDAF.FIELDMAP", "CUBE.IFS", "4MOST.MEC",
    "IMAGE.COL_DENSITY",
))

#: Categories a science file may name in ASSOCi: ancillaries delivered in a non-FITS format.
NON_FITS_ANCILLARY = tuple("ANCILLARY." + name for name in (
    "PREVIEW", "HARPSTAR", "FEROSTAR", "README", "TAR", "MOSSPECTRA.PREVIEW", "SRCTBL",
    "2DECHELLE.TAR", "FORS2TAR", "CUBE.LMV", "CRIRESPTAR",
))


def is_supported(prodcatg):
    return prodcatg in SUPPORTED_SCIENCE or prodcatg in RECOGNISED_ANCILLARY


def scopes_of(prodcatg):
    """The rule scopes that apply to a file of this category (None: PRODCATG missing)."""
    if prodcatg in RECOGNISED_ANCILLARY:
        return {ALL, ANCILLARY}
    if prodcatg in RECOGNISED_SCIENCE:
        return {ALL, SCIENCE, prodcatg}
    return {ALL}


def supported_text():
    return (", ".join(SUPPORTED_SCIENCE)
            + f" and the {len(RECOGNISED_ANCILLARY)} ESO ANCILLARY.* categories")
