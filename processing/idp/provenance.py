"""The raw frames an IDP was made from: PROVi, NCOMBINE, OBIDi, PROG_ID, the time keywords.

The product header names its raw inputs (PRO.REC1.RAWi.NAME, kept in Product.provenance); they
are looked up among the AB's inputs (by ARCFILE or file name) and then in the data pool, so that
the SDP keywords come from the frames' own headers, not from the first frame the pipeline
copied its header from.
"""

from dataclasses import dataclass
from pathlib import Path

from processing.idp.errors import ConversionError
from processing.models import RawFrame

SECONDS_PER_DAY = 86400.0


@dataclass
class RawInputs:
    frames: list  # RawFrame, in provenance order
    source: str  # where the list came from

    @property
    def arcfiles(self):
        return [frame.arcfile for frame in self.frames]

    @property
    def obs_ids(self):
        return _unique(frame.obs_id for frame in self.frames if frame.obs_id is not None)

    @property
    def prog_ids(self):
        return _unique(frame.prog_id for frame in self.frames if frame.prog_id)

    @property
    def techs(self):
        return _unique(frame.dpr_tech for frame in self.frames if frame.dpr_tech)

    @property
    def mjd_obs(self):
        return min(frame.mjd_obs for frame in self.frames)

    @property
    def mjd_end(self):
        return max(frame.mjd_obs + frame.exptime / SECONDS_PER_DAY for frame in self.frames)

    @property
    def texptime(self):
        return sum(frame.exptime for frame in self.frames)

    @property
    def first(self):
        return min(self.frames, key=lambda frame: frame.mjd_obs)


def raw_inputs(product):
    """RawInputs of a product; ConversionError when a named raw frame is not in the data pool
    or lacks the start time or exposure time the SDP keywords need."""
    ab_frames = [row.frame for row in product.ab.inputs.select_related("frame").order_by("position")]
    named = [entry.get("name") for entry in (product.provenance or {}).get("raw", [])
             if entry.get("name")]  # fmt: skip
    if not named:
        if not ab_frames:
            raise ConversionError("neither its header (PRO.REC1.RAWi) nor its AB names raw inputs")
        inputs = RawInputs(ab_frames, "the AB's inputs (the header names no PRO.REC1.RAWi)")
    else:
        inputs = RawInputs([_find(name, ab_frames) for name in named], "PRO.REC1.RAWi.NAME")
    for frame in inputs.frames:
        if frame.mjd_obs is None or frame.exptime is None:
            missing = "MJD-OBS" if frame.mjd_obs is None else "EXPTIME"
            raise ConversionError(f"raw input {frame.arcfile} has no {missing}; MJD-OBS, "
                                  "MJD-END and TEXPTIME cannot be derived")  # fmt: skip
    return inputs


def _find(name, ab_frames):
    base = Path(name).name
    for frame in ab_frames:
        if base in (frame.arcfile, Path(frame.path or "").name):
            return frame
    found = RawFrame.objects.filter(arcfile=base).first()
    if found is None:
        raise ConversionError(f"raw input {base} (PRO.REC1.RAWi.NAME) is not in the data pool; "
                              "PROVi cannot name its ARCFILE")  # fmt: skip
    return found


def _unique(values):
    seen = []
    for value in values:
        if value not in seen:
            seen.append(value)
    return seen
