"""What the conversion must know about an instrument that its headers do not say.

Per INSTRUME value: the site (ORIGIN), the SDP category of each pipeline product category, how
to read the filter name, the column of the standard-star catalogue for each filter, the
nominal zero points used when a night has no usable standard star, and the Vega→AB offsets
that turn Vega limits into the AB magnitudes ABMAGLIM and ABMAGSAT are defined in.
"""

from dataclasses import dataclass

from processing.idp.errors import ConversionError


@dataclass(frozen=True)
class Profile:
    name: str
    origin: str
    prodcatg: dict  # PRO.CATG → PRODCATG
    filter_keys: tuple  # OCA names, searched in order; the first not-empty value is the filter
    empty: frozenset  # wheel positions that hold no filter
    catalogue_columns: dict  # FILTER → column of the IMG_STD_CATALOG table
    nominal_zp: dict  # FILTER → Vega magnitude of a source giving 1 ADU/s
    vega_to_ab: dict  # FILTER → m_AB − m_Vega
    weight_extension: str  # EXTNAME (case-insensitive) of the frames-per-pixel map, if any

    def filter_of(self, get):
        """The filter in the beam; `get(oca_name)` reads a keyword. Empty string if none."""
        for key in self.filter_keys:
            value = get(key)
            if value is not None and str(value).strip() and str(value).strip() not in self.empty:
                return str(value).strip()
        return ""


#: NACO (CONICA behind NAOS). The filter sits in wheel 5 (J, H, narrow bands) or 6 (Ks); wheel
#: 4 holds grisms and Wollastons. Standard-star catalogue columns are those of the NACO
#: pipeline's IMG_STD_CATALOG (naco_util_img_std_cat). The nominal zero points are of the size
#: of CONICA's with S27 and are only used flagged (FLUXCAL = UNCALIBRATED); the Vega→AB offsets
#: are the 2MASS ones (Blanton & Roweis 2007, AJ 133, 734), Brγ taking the Ks value.
NACO = Profile(
    name="NACO",
    origin="ESO-PARANAL",
    prodcatg={"COADDED_IMG": "SCIENCE.IMAGE"},
    filter_keys=("INS.OPTI5.ID", "INS.OPTI6.ID", "INS.OPTI4.ID"),
    empty=frozenset({"empty", "EMPTY", "Empty", "open", "OPEN", "Open", "Clear", "clear",
                     "CLEAR"}),
    catalogue_columns={"J": "J", "H": "H", "K": "K", "Ks": "Ks", "L'": "Lp", "M'": "Mp"},
    nominal_zp={"J": 23.9, "H": 23.9, "Ks": 23.1, "NB_2.17": 20.8},
    vega_to_ab={"J": 0.91, "H": 1.39, "Ks": 1.85, "NB_2.17": 1.85},
    weight_extension="Contribution Map",
)

PROFILES = {"NAOS+CONICA": NACO}


def profile_for(instrume):
    profile = PROFILES.get(str(instrume or "").strip())
    if profile is None:
        known = ", ".join(sorted(PROFILES))
        raise ConversionError(f"INSTRUME {instrume!r} has no IDP conversion profile "
                              f"(known: {known})")
    return profile
