"""The real ESO NACO recipes on simulated raw frames (esorex + cpl-plugin-naco).

What this proves: the simulated headers carry what naco_img_dark, naco_img_twflat and
naco_img_jitter need, and the pixels carry the truth the manifest states — the master dark
has the simulated level, read noise and hot pixels, the master flat is the simulated
pixel response, and the combined jitter image has the brightest star where the field and
the SEQ.CUMOFFSETX/Y offsets put it. The recipes run as subprocesses, as Phoenix runs them.

The 256×256 window needs `--r` for naco_img_dark and naco_img_twflat: their default border
rejection is 200 pixels on each side, which leaves no pixels (naco_img_dark fails with
"Cannot compute the RON for difference between images 1 and 2", naco_img_twflat with "Could
not normalize gain with norm=0"). With 16-pixel borders all three recipes succeed.
"""

import subprocess
from datetime import date

import numpy as np
import pytest
from astropy.io import fits

from processing.simulation import simulate_nights
from processing.simulation.pixels import flat_response

pytestmark = pytest.mark.esorex

NIGHT = date(2009, 6, 15)
SEED = 1
BORDER = "--r=16 16 16 16"


def run_esorex(workdir, recipe, frames, *options):
    """Run `recipe` on (path, tag) frames in `workdir`; return {PRO.CATG: [product paths]}."""
    workdir.mkdir(parents=True, exist_ok=True)
    sof = workdir / f"{recipe}.sof"
    sof.write_text("".join(f"{path} {tag}\n" for path, tag in frames))
    command = [
        "esorex", "--msg-level=error", "--log-level=info", f"--log-dir={workdir}",
        f"--output-dir={workdir}", "--suppress-link=TRUE", "--no-datamd5=TRUE",
        recipe, *options, str(sof),
    ]
    result = subprocess.run(command, cwd=workdir, capture_output=True, text=True, timeout=120)
    log = workdir / "esorex.log"
    assert result.returncode == 0, (
        f"{recipe} exited with {result.returncode}:\n{result.stdout}\n{result.stderr}\n"
        + (log.read_text()[-4000:] if log.exists() else "")
    )
    products = {}
    for path in sorted(workdir.glob("*.fits")):
        products.setdefault(fits.getheader(path).get("HIERARCH ESO PRO CATG"), []).append(path)
    return products


@pytest.fixture(scope="module")
def night(tmp_path_factory):
    out = tmp_path_factory.mktemp("naco_night")
    manifest = simulate_nights(NIGHT, 1, out, seed=SEED, broken=False)
    return out, manifest


@pytest.fixture(scope="module")
def chosen(night):
    """The longest S27 jitter sequence whose filter has twilight flats, and its calibrations."""
    out, manifest = night
    files = manifest.files
    flat_filters = {e["setup"]["filter"] for e in files if e["raw_type"] == "FLAT_SKY"}
    sequences = {}
    for entry in files:
        if (entry["raw_type"] == "SCIENCE_IMG" and entry["setup"]["camera"] == "S27"
                and entry["setup"]["filter"] in flat_filters):
            sequences.setdefault(entry["sequence"], []).append(entry)
    science = max(sequences.values(), key=len)
    setup = science[0]["setup"]
    flats = [e for e in files if e["raw_type"] == "FLAT_SKY"
             and e["setup"]["filter"] == setup["filter"]]
    flat_setup = flats[0]["setup"]

    def darks_like(wanted):
        return [e for e in files if e["raw_type"] == "DARK"
                and (e["setup"]["dit"], e["setup"]["ndit"], e["setup"]["detmode"])
                == (wanted["dit"], wanted["ndit"], wanted["detmode"])]

    return {
        "out": out,
        "truth": manifest.truth,
        "science": science,
        "flats": flats,
        "darks": darks_like(setup),
        "flat_darks": darks_like(flat_setup),
    }


def dark_truth(chosen, entry):
    setup = entry["setup"]
    return chosen["truth"]["darks"][f"{setup['detmode']}/DIT={setup['dit']:g}/NDIT={setup['ndit']}"]


@pytest.fixture(scope="module")
def master_dark(chosen, tmp_path_factory):
    frames = [(chosen["out"] / e["path"], "CAL_DARK") for e in chosen["darks"]]
    return run_esorex(tmp_path_factory.mktemp("dark"), "naco_img_dark", frames, BORDER)


@pytest.fixture(scope="module")
def master_flat(chosen, tmp_path_factory):
    """Twilight flats with the master dark of their own DIT (one dark: the proportional fit)."""
    dark = run_esorex(tmp_path_factory.mktemp("flat_dark"), "naco_img_dark",
                      [(chosen["out"] / e["path"], "CAL_DARK") for e in chosen["flat_darks"]],
                      BORDER)
    frames = [(chosen["out"] / e["path"], "CAL_FLAT_TW") for e in chosen["flats"]]
    frames.append((dark["NACO_IMG_DARK_AVG"][0], "CAL_DARK"))
    return run_esorex(tmp_path_factory.mktemp("flat"), "naco_img_twflat", frames, BORDER,
                      "--bpm=TRUE")


def test_naco_img_dark_recovers_the_simulated_dark(chosen, master_dark):
    assert len(chosen["darks"]) == 3
    assert {"NACO_IMG_DARK_AVG", "NACO_IMG_DARK_HOT", "NACO_IMG_DARK_COLD",
            "NACO_IMG_DARK_DEV"} <= set(master_dark)
    truth = dark_truth(chosen, chosen["darks"][0])
    product = master_dark["NACO_IMG_DARK_AVG"][0]
    header = fits.getheader(product)
    assert header["HIERARCH ESO QC DARKMED"] == pytest.approx(truth["median_adu"], abs=0.3)
    assert float(np.median(fits.getdata(product))) == pytest.approx(truth["median_adu"], abs=0.3)
    # the recipe scales the read noise to one DIT, as the manifest states it
    assert header["HIERARCH ESO QC RON1"] == pytest.approx(truth["ron_adu_per_dit"], rel=0.1)
    assert header["HIERARCH ESO QC NBHOTPIX"] == pytest.approx(truth["hot_pixels"], rel=0.1)


def test_naco_img_twflat_recovers_the_pixel_response(chosen, master_flat):
    assert len(chosen["flats"]) >= 5
    assert set(master_flat) == {"MASTER_IMG_FLAT", "MASTER_IMG_FLAT_BADPIX"}
    flat = fits.getdata(master_flat["MASTER_IMG_FLAT"][0]).astype(float)
    truth = flat_response(SEED, chosen["flats"][0]["setup"]["filter"])
    inner = (slice(16, -16), slice(16, -16))
    assert float(np.median(flat[inner])) == pytest.approx(1.0, abs=0.02)
    correlation = np.corrcoef(flat[inner].ravel(), truth[inner].ravel())[0, 1]
    assert correlation > 0.98
    bad = fits.getdata(master_flat["MASTER_IMG_FLAT_BADPIX"][0])
    dead = chosen["truth"]["flat"]["dead_fraction"] * truth.size
    assert 0.8 * dead <= int(bad.sum()) <= 1.5 * dead


def test_naco_img_jitter_puts_the_brightest_star_where_the_truth_says(
    chosen, master_dark, master_flat, tmp_path
):
    science = chosen["science"]
    frames = [(chosen["out"] / e["path"], "IM_JITTER_OBJ") for e in science]
    frames += [
        (master_flat["MASTER_IMG_FLAT"][0], "MASTER_IMG_FLAT"),
        (master_flat["MASTER_IMG_FLAT_BADPIX"][0], "MASTER_IMG_FLAT_BADPIX"),
        (master_dark["NACO_IMG_DARK_AVG"][0], "NACO_IMG_DARK_AVG"),
    ]
    products = run_esorex(tmp_path, "naco_img_jitter", frames, "--combine_method=first")
    assert list(products) == ["COADDED_IMG"]
    combined_path = products["COADDED_IMG"][0]
    header = fits.getheader(combined_path)
    combined = np.nan_to_num(fits.getdata(combined_path).astype(float))
    assert combined.shape == (256, 256)
    assert header["HIERARCH ESO QC FILTER OBS"] == science[0]["setup"]["filter"]
    assert header["CTYPE1"] == "RA---TAN"  # the 'first' method keeps the WCS

    truth = chosen["truth"]
    sequence = truth["sequences"][science[0]["sequence"]]
    x, y, _ = truth["fields"][sequence["field"]]["stars"][0]
    first = science[0]["offset_px"]
    expected = (x + first[0], y + first[1])  # 1-based pixels of the first frame
    peak_row, peak_column = np.unravel_index(np.argmax(combined), combined.shape)
    assert (peak_column + 1, peak_row + 1) == (
        pytest.approx(expected[0], abs=1.5), pytest.approx(expected[1], abs=1.5))

    # registration: the combined star is as sharp as in one frame (smeared if offsets were wrong)
    single = fits.getdata(chosen["out"] / science[0]["path"]).astype(float)
    single_peak = single[peak_row - 2 : peak_row + 3, peak_column - 2 : peak_column + 3].max()
    combined_peak = combined[peak_row, peak_column] - np.median(combined)
    assert combined_peak > 0.7 * (single_peak - np.median(single))
