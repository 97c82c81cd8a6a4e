"""Simulate nights of NACO raw frames: the entry point `simulate_nights`.

Why a simulator: Phoenix must be developed and tested on data that looks like the archive's
(complete headers, calibrations matching the science, modes it must leave alone, broken
files) and whose truth is known, so that a reduction can be checked against it. The real
ESO recipes (naco_img_dark, naco_img_twflat, naco_img_jitter) run on the output; see
tests/test_naco_recipes.py.

Layout written: `out/<night>/<ARCFILE>` (and one `.hdr` dump), plus
`out/simulation_manifest.json` listing every file with its intended classification and the
truth behind it. The same arguments and seed give byte-identical files.
"""

import json
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path

from processing.conventions import datetime_to_mjd, night_of
from processing.simulation import instrument as naco
from processing.simulation import pixels
from processing.simulation.broken import write_broken
from processing.simulation.fitsfile import fits_bytes, fits_date
from processing.simulation.header_cards import header_cards
from processing.simulation.plan import plan_night
from processing.simulation.scenes import add_star_fields, field_key, render

MANIFEST = "simulation_manifest.json"
MAX_NIGHTS = 366


@dataclass
class Manifest:
    """What was written and the truth behind it (see the module docstring)."""

    instrument: str
    start: str
    nights: list
    seed: int
    broken: bool
    files: list = field(default_factory=list)
    truth: dict = field(default_factory=dict)

    def as_dict(self):
        return asdict(self)

    @property
    def broken_files(self):
        return [entry for entry in self.files if entry["broken"]]

    def summary(self):
        return {
            "instrument": self.instrument,
            "start": self.start,
            "nights": len(self.nights),
            "files": len(self.files),
            "broken": len(self.broken_files),
            "seed": self.seed,
            "raw_types": _count(entry["raw_type"] for entry in self.files),
        }


def simulate_nights(start: date, nights: int, out: Path, seed: int = 1, broken: bool = True):
    """Write `nights` nights of NACO raw frames from `start` under `out`; return the manifest."""
    if isinstance(start, datetime):
        start = start.date()
    if not isinstance(start, date):
        raise TypeError("start must be a datetime.date")
    if not 1 <= int(nights) <= MAX_NIGHTS:
        raise ValueError(f"nights must be between 1 and {MAX_NIGHTS}, not {nights}")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    dates = [start + timedelta(days=index) for index in range(int(nights))]
    manifest = Manifest(naco.INSTRUMENT, start.isoformat(), [d.isoformat() for d in dates],
                        int(seed), bool(broken))
    truth = manifest.truth
    truth.update(_static_truth(seed))
    for index, night in enumerate(dates):
        exposures = plan_night(night, index, seed, broken=broken and index == 0)
        directory = out / night.isoformat()
        directory.mkdir(exist_ok=True)
        fields = add_star_fields(seed, exposures, truth["fields"])
        _write_night(manifest, exposures, fields, directory, out, seed)
    (out / MANIFEST).write_text(json.dumps(manifest.as_dict(), indent=1, sort_keys=True) + "\n")
    return manifest


def _static_truth(seed):
    return {
        "detector": {
            "window": [naco.WINDOW, naco.WINDOW],
            "window_start": [naco.WINDOW_START, naco.WINDOW_START],
            "bitpix": -32,
            "pixel_convention": "x, y are 1-based FITS pixel coordinates of the window",
            "values": "ADU, mean over NDIT sub-integrations (as CONICA stores frames)",
        },
        "readout_modes": {
            mode.mode_name: {
                "ncorrs_name": mode.ncorrs_name, "ncorrs": mode.ncorrs,
                "ron_adu_per_dit": mode.ron_adu, "gain_e_per_adu": mode.gain,
                "full_well_adu": mode.full_well, "bias_adu": mode.bias,
                "dark_current_adu_per_s": mode.dark_current,
            }
            for mode in naco.READOUT_MODES.values()
        },
        "flat": pixels.flat_truth(seed, list(naco.FILTERS)),
        "offsets": (
            "SEQ.CUMOFFSETX/Y = offset_px (pixels); a star at (x, y) in the field appears at "
            "(x + offset_x, y + offset_y) in the frame, the sign naco_img_jitter expects"
        ),
        "darks": {},
        "fields": {},
        "sequences": {},
    }


def _write_night(manifest, exposures, fields, directory, out, seed):
    truth = manifest.truth
    previous = {}
    for number, exposure in enumerate(exposures, start=1):
        last = previous.get(exposure.sequence, exposure.offset)
        previous[exposure.sequence] = exposure.offset
        cards = header_cards(exposure, seed, number, last)
        data = render(seed, exposure, fields)
        date_card = fits_date(exposure.end + timedelta(seconds=2), millis=False)
        if exposure.broken:
            path, broken = write_broken(exposure.broken, directory, exposure.arcfile, cards, data,
                                        date_card)
        else:
            path, broken = directory / exposure.arcfile, None
            path.write_bytes(fits_bytes(cards, data, date_card))
        manifest.files.append(_entry(exposure, path.relative_to(out).as_posix(), broken))
        if broken:
            continue
        _record_truth(truth, seed, exposure)


def _entry(exposure, relative, broken):
    setup = exposure.setup
    block = exposure.block
    return {
        "path": relative,
        "arcfile": exposure.arcfile,
        "night": night_of(exposure.start).isoformat(),
        "mjd_obs": round(datetime_to_mjd(exposure.start), 8),
        "dpr": {"catg": exposure.dpr[0], "type": exposure.dpr[1], "tech": exposure.dpr[2]},
        "raw_type": exposure.raw_type,
        "mode": exposure.unsupported_mode,
        "run_id": block.run_id,
        "obs_id": block.obs_id,
        "target": block.target.name if block.target else None,
        "template": {
            "id": exposure.template.tpl_id,
            "start": exposure.template.start.strftime("%Y-%m-%dT%H:%M:%S"),
            "expno": exposure.expno,
            "nexp": exposure.template.nexp,
        },
        "sequence": exposure.sequence,
        "setup": {
            "dit": setup.dit,
            "ndit": setup.ndit,
            "readout": setup.mode.ncorrs_name,
            "detmode": setup.mode.mode_name,
            "filter": setup.filter,
            "camera": setup.camera,
        },
        "offset_px": list(exposure.offset),
        "sky_adu_per_s": round(exposure.sky, 4),
        "lamp": exposure.lamp if exposure.kind == "lampflat" else None,
        "broken": broken,
        "broken_kind": exposure.broken,
    }


def _record_truth(truth, seed, exposure):
    setup = exposure.setup
    if exposure.kind == "dark":
        key = f"{setup.mode.mode_name}/DIT={setup.dit:g}/NDIT={setup.ndit}"
        truth["darks"].setdefault(key, pixels.dark_truth(seed, setup.mode, setup.dit, setup.ndit))
        return
    sequence = truth["sequences"].setdefault(exposure.sequence, {
        "kind": exposure.kind,
        "raw_type": exposure.raw_type,
        "target": exposure.block.target.name if exposure.block.target else None,
        "field": field_key(exposure.field, setup.camera) if exposure.field else None,
        "filter": setup.filter,
        "camera": setup.camera,
        "psf": pixels.psf(setup.filter, setup.camera) if exposure.field else None,
        "sky_adu_per_s": round(exposure.sky, 4),
        "arcfiles": [],
        "offsets_px": [],
    })
    sequence["arcfiles"].append(exposure.arcfile)
    sequence["offsets_px"].append(list(exposure.offset))
    if exposure.kind == "flat":
        sequence.setdefault("twilight_sky_adu_per_s", []).append(round(exposure.sky, 4))


def _count(values):
    counts = {}
    for value in values:
        counts[value] = counts.get(value, 0) + 1
    return dict(sorted(counts.items()))
