"""The QC job (processing.qc.run_qc) on synthetic products whose truth is known.

Each product is made with numpy so that the right answer is known before the code runs: a
master dark with a given level, noise and hot pixels, a flat with a given pixel rms and
gradient, a coadd with Gaussian stars of a given FWHM on a given background. Plots are
written for real; the PNG goes through kaleido only in the one test that asks for it (and a
Chrome/Chromium is installed), the others use the browser-free thumbnail PNG.
"""

import io
import math
import os
import threading
from datetime import date
from pathlib import Path

import numpy as np
import pytest
from astropy.io import fits
from django.core.management import call_command

from processing.choices import ProductKind, ProductState
from processing.models import AssociationBlock, Instance, Product, QcParameter
from processing.qc import ThresholdError, measure, parse_thresholds, plots, run_qc
from tests.conftest import ON_CI
from processing.qc.extract import unit_and_description
from processing.qc.service import _trends

NIGHT = date(2009, 6, 15)
MJD = 54997.1  # 2009-06-15 02:24 UT
RNG_SEED = 20090615

# --- truth -------------------------------------------------------------------------------

DARK_LEVEL, DARK_NOISE, DARK_NDIT, DARK_NCOM, DARK_HOT = 42.0, 0.6, 4, 3, 40
FLAT_RMS, FLAT_GX, FLAT_GY, FLAT_DEAD = 0.03, 0.08, -0.05, 20
SKY, SKY_NOISE, FWHM, PIXSCALE = 100.0, 2.0, 3.0, 0.02715
STARS = [(20.3, 24.7, 400), (60.5, 21.2, 1500), (100.1, 30.8, 250), (140.6, 25.3, 900),
         (25.4, 70.1, 3000), (70.2, 80.9, 600), (115.8, 75.5, 320), (138.3, 120.2, 2000),
         (30.9, 130.4, 750), (75.6, 135.0, 1200), (105.2, 118.6, 450), (60.0, 105.0, 280)]


def dark_image(shape=(128, 128)):
    rng = np.random.default_rng(RNG_SEED)
    columns = rng.normal(0.0, 1.5, shape[1])
    columns -= np.median(columns)
    data = DARK_LEVEL + columns[None, :] + rng.normal(0.0, DARK_NOISE, shape)
    hot = rng.choice(data.size, DARK_HOT, replace=False)
    data.flat[hot] += rng.uniform(50.0, 300.0, DARK_HOT)
    return data.astype(np.float32)


def flat_illumination(shape=(128, 128)):
    y, x = np.mgrid[0 : shape[0], 0 : shape[1]] / (shape[0] - 1) - 0.5
    return 1.0 + FLAT_GX * x + FLAT_GY * y


def flat_image(shape=(128, 128)):
    rng = np.random.default_rng(RNG_SEED + 1)
    pixels = 1.0 + rng.normal(0.0, FLAT_RMS, shape)
    pixels.flat[rng.choice(pixels.size, FLAT_DEAD, replace=False)] = 0.02
    data = pixels * flat_illumination(shape)
    return (data / np.median(data)).astype(np.float32)


def coadd_image(shape=(160, 160), stars=STARS, fwhm=FWHM, hot_pixel=True):
    rng = np.random.default_rng(RNG_SEED + 2)
    data = SKY + rng.normal(0.0, SKY_NOISE, shape)
    sigma = fwhm / (2 * math.sqrt(2 * math.log(2)))
    y, x = np.mgrid[0 : shape[0], 0 : shape[1]]
    for sx, sy, peak in stars:
        data += peak * np.exp(-((x - sx) ** 2 + (y - sy) ** 2) / (2 * sigma**2))
    if hot_pixel:
        data[90, 40] += 800.0  # a cosmetic defect, not a star
    return data.astype(np.float32)


# --- builders ----------------------------------------------------------------------------


@pytest.fixture
def naco(db, data_root):
    call_command("load_instances", "NACO", stdout=io.StringIO())
    return Instance.objects.get(name="NACO")


@pytest.fixture(autouse=True)
def no_browser(monkeypatch):
    """Unless a test asks for kaleido, PNGs are the browser-free thumbnails (fast, and the
    same on every machine)."""
    monkeypatch.setattr(plots, "browser_path", lambda: None)


def set_qc(instance, thresholds, auto_certify=True):
    instance.config["qc"] = {"auto_certify": auto_certify, "thresholds": thresholds}
    instance.save(update_fields=["config"])


def make_ab(instance, name="NA_MDRK_TEST", night=NIGHT, mjd=MJD):
    return AssociationBlock.objects.create(
        instance=instance, ab_name=name, batch_label=f"CALIB_{night}", category="CALIB",
        night=night, raw_type="DARK", action="DARK", recipe="naco_img_dark", mjd_obs=mjd,
        mjd_obs_mod=mjd, prod_root_name=name,
    )


def write_product(directory, name, data, cards):
    header = fits.Header()
    for key, value in cards.items():
        header[key] = value
    path = directory / name
    path.parent.mkdir(parents=True, exist_ok=True)
    fits.writeto(path, data, header, overwrite=True)
    return path


def add_product(ab, path, pro_catg, kind=ProductKind.MASTER, state=ProductState.VIRTUAL):
    return Product.objects.create(
        instance=ab.instance, ab=ab, name=path.name, path=str(path), pro_catg=pro_catg,
        kind=kind, state=state, night=ab.night, mjd_obs=ab.mjd_obs,
    )


def dark_cards(mode="HighDynamic", **extra):
    return {
        "HIERARCH ESO PRO CATG": "NACO_IMG_DARK_AVG",
        "HIERARCH ESO DET NDIT": DARK_NDIT,
        "HIERARCH ESO PRO DATANCOM": DARK_NCOM,
        "HIERARCH ESO DET MODE NAME": mode,
        "HIERARCH ESO QC DARKMED": (DARK_LEVEL, "[ADU] median of the master dark"),
        "HIERARCH ESO QC RON1": 2.05,
        "HIERARCH ESO QC FILTER OBS": "Ks",  # text: context, not a QC1 number
        **extra,
    }


def dark_ab(naco, tmp_path, name="NA_MDRK_TEST", mjd=MJD, **cards):
    ab = make_ab(naco, name=name, mjd=mjd)
    path = write_product(tmp_path / name, f"{name}.fits", dark_image(), dark_cards(**cards))
    add_product(ab, path, "NACO_IMG_DARK_AVG")
    return ab


def values(result):
    return {p.name: p for p in result.parameters}


# --- extraction ----------------------------------------------------------------------------


def test_dark_parameters_recover_the_truth(naco, tmp_path):
    result = run_qc(dark_ab(naco, tmp_path))
    found = values(result)
    assert found["QC.PHX.DARK.MEDIAN"].value == pytest.approx(DARK_LEVEL, abs=0.1)
    assert found["QC.PHX.DARK.NOISE"].value == pytest.approx(DARK_NOISE, rel=0.05)
    # noise of the master × √(NDIT × frames combined): the read noise of one DIT
    assert found["QC.PHX.DARK.RON"].value == pytest.approx(
        DARK_NOISE * math.sqrt(DARK_NDIT * DARK_NCOM), rel=0.05)
    assert found["QC.PHX.DARK.NHOT"].value == DARK_HOT
    assert found["QC.PHX.DARK.HOTFRAC"].value == pytest.approx(DARK_HOT / 128**2)
    assert found["QC.PHX.DARK.MEDIAN"].unit == "ADU"
    assert found["QC.PHX.DARK.MEDIAN"].source == "computed"
    # the header's QC keywords, with the unit from the comment; text values left out
    assert found["QC.DARKMED"].source == "header"
    assert (found["QC.DARKMED"].value, found["QC.DARKMED"].unit) == (DARK_LEVEL, "ADU")
    assert found["QC.DARKMED"].description == "median of the master dark"
    assert found["QC.RON1"].value == 2.05
    assert "QC.FILTER.OBS" not in found
    assert not [w for w in result.warnings if "thumbnails" not in w]
    assert result.checked == 1 and not result.failed


def test_flat_parameters_recover_the_truth(naco, tmp_path):
    ab = make_ab(naco, "NA_MFLT_TEST")
    path = write_product(tmp_path, "flat.fits", flat_image(),
                         {"HIERARCH ESO PRO CATG": "MASTER_IMG_FLAT"})
    add_product(ab, path, "MASTER_IMG_FLAT")
    found = values(run_qc(ab))
    # truth of the large-scale structure: the illumination binned as the code bins (8×8
    # blocks of a 128² image), plus the noise of a block median of 64 pixels
    illumination = flat_illumination()
    blocks = illumination.reshape(16, 8, 16, 8).mean(axis=(1, 3)) / np.median(illumination)
    block_noise = FLAT_RMS * 1.2533 / 8
    assert found["QC.PHX.FLAT.MEDIAN"].value == pytest.approx(1.0, abs=0.005)
    assert found["QC.PHX.FLAT.LSS"].value == pytest.approx(
        math.hypot(np.std(blocks), block_noise), rel=0.1)
    assert found["QC.PHX.FLAT.SSN"].value == pytest.approx(FLAT_RMS, rel=0.1)
    assert FLAT_DEAD <= found["QC.PHX.FLAT.NBAD"].value <= FLAT_DEAD + 2


def test_coadd_parameters_recover_the_truth(naco, tmp_path):
    ab = make_ab(naco, "NA_SIMG_TEST")
    path = write_product(tmp_path, "coadd.fits", coadd_image(),
                         {"HIERARCH ESO PRO CATG": "COADDED_IMG",
                          "HIERARCH ESO INS PIXSCALE": PIXSCALE})
    add_product(ab, path, "COADDED_IMG", kind=ProductKind.SCIENCE)
    found = values(run_qc(ab))
    assert found["QC.PHX.IMG.BKG"].value == pytest.approx(SKY, abs=0.3)
    assert found["QC.PHX.IMG.NOISE"].value == pytest.approx(SKY_NOISE, rel=0.05)
    assert found["QC.PHX.IMG.NSTARS"].value == len(STARS)  # the hot pixel is not a star
    assert found["QC.PHX.IMG.FWHM"].value == pytest.approx(FWHM, rel=0.03)
    assert found["QC.PHX.IMG.FWHMARC"].value == pytest.approx(FWHM * PIXSCALE, rel=0.03)
    assert found["QC.PHX.IMG.FWHMARC"].unit == "arcsec"


def test_star_finder_finds_positions_and_undersampled_fwhm():
    stars = [(40.3, 40.6, 500), (100.7, 60.2, 800), (70.1, 120.9, 300)]
    found = measure.image_stats(coadd_image((160, 160), stars, fwhm=1.6, hot_pixel=False))
    assert found.star_count == 3
    assert found.fwhm == pytest.approx(1.6, rel=0.05)
    positions = sorted((round(s.x, 1), round(s.y, 1)) for s in found.stars)
    truth = sorted((x, y) for x, y, _ in stars)
    for (x, y), (tx, ty) in zip(positions, truth, strict=True):
        assert (x, y) == (pytest.approx(tx, abs=0.1), pytest.approx(ty, abs=0.1))


def test_unknown_category_gets_header_qc_only_and_repeated_keywords_count_once(naco, tmp_path):
    ab = dark_ab(naco, tmp_path)
    hot = write_product(tmp_path, "hot.fits", np.zeros((16, 16), np.float32),
                        {"HIERARCH ESO PRO CATG": "NACO_IMG_DARK_HOT",
                         "HIERARCH ESO QC DARKMED": DARK_LEVEL, "HIERARCH ESO QC NBHOTPIX": 40})
    hot_product = add_product(ab, hot, "NACO_IMG_DARK_HOT")
    rows = run_qc(ab).parameters
    names = [p.name for p in rows]
    assert names.count("QC.DARKMED") == 1  # both products carry it with the same value
    assert [p.product_id for p in rows if p.name == "QC.NBHOTPIX"] == [hot_product.pk]
    assert not [p for p in rows if p.product_id == hot_product.pk and p.source == "computed"]


def test_nan_cards_and_blank_images_give_missing_values_not_errors(naco, tmp_path):
    ab = make_ab(naco, "NA_ODD")
    cards = ["SIMPLE  =                    T", "BITPIX  =                  -32",
             "NAXIS   =                    0",
             "HIERARCH ESO PRO CATG = 'NACO_IMG_DARK_HOT'",
             "HIERARCH ESO QC BROKEN = NaN / [ADU] the recipe failed here",
             "HIERARCH ESO QC FINE = 3.5", "END"]
    text = "".join(card.ljust(80) for card in cards)
    header_only = tmp_path / "header_only.fits"
    header_only.write_bytes(text.ljust(2880).encode("ascii"))
    add_product(ab, header_only, "NACO_IMG_DARK_HOT")
    blank = write_product(tmp_path, "blank.fits", np.full((32, 32), np.nan, np.float32),
                          {"HIERARCH ESO PRO CATG": "COADDED_IMG"})
    add_product(ab, blank, "COADDED_IMG", kind=ProductKind.SCIENCE)
    result = run_qc(ab)
    found = values(result)
    assert (found["QC.BROKEN"].value, found["QC.BROKEN"].unit, found["QC.FINE"].value) == (
        None, "ADU", 3.5)
    assert any("header_only.fits" in w and "QC.BROKEN" in w for w in result.warnings)
    assert found["QC.PHX.IMG.BKG"].value is None and found["QC.PHX.IMG.FWHM"].value is None
    assert found["QC.PHX.IMG.NSTARS"].value == 0
    assert result.checked == 2 and not result.failed


def test_header_units_from_eso_comments():
    assert unit_and_description("[ADU] median level") == ("ADU", "median level")
    assert unit_and_description("FWHM of the stars [arcsec]") == ("arcsec", "FWHM of the stars")
    assert unit_and_description("no unit here") == ("", "no unit here")


# --- thresholds and scoring ----------------------------------------------------------------


def test_scores_pass_outlier_and_not_scored(naco, tmp_path):
    set_qc(naco, {
        "QC.PHX.DARK.MEDIAN": {"low": 40.0, "high": 44.0},
        "QC.PHX.DARK.RON": [
            {"when": {"DET.MODE.NAME": "HighSensitivity"}, "low": 1.0, "high": 1.7},
            {"when": {"DET.MODE.NAME": "HighDynamic"}, "low": 3.0, "high": 5.0},
        ],
        "QC.DARKMED": {"pro_catg": "MASTER_IMG_FLAT", "low": 0.0, "high": 1.0},
    })
    ab = dark_ab(naco, tmp_path)
    result = run_qc(ab)
    found = values(result)
    assert (found["QC.PHX.DARK.MEDIAN"].score, found["QC.PHX.DARK.MEDIAN"].low,
            found["QC.PHX.DARK.MEDIAN"].high) == (0, 40.0, 44.0)
    # the HighDynamic rule applies: RON ≈ 2.08 is below 3.0
    assert (found["QC.PHX.DARK.RON"].score, found["QC.PHX.DARK.RON"].low) == (1, 3.0)
    assert found["QC.PHX.DARK.NOISE"].score is None  # no threshold
    assert found["QC.DARKMED"].score is None  # its rule is for another PRO.CATG
    assert found["QC.DARKMED"].low is None
    ab.refresh_from_db()
    assert (result.score, ab.qc_score) == (1, 1)
    assert (result.proposed, ab.auto_certify_proposed) == (False, False)


def test_all_pass_proposes_certification_if_the_instance_allows(naco, tmp_path):
    thresholds = {"QC.PHX.DARK.MEDIAN": {"low": 40.0, "high": 44.0},
                  "QC.PHX.DARK.NHOT": {"high": 100}}
    set_qc(naco, thresholds, auto_certify=True)
    ab = dark_ab(naco, tmp_path)
    result = run_qc(ab)
    ab.refresh_from_db()
    assert (result.score, result.proposed) == (0, True)
    assert (ab.qc_score, ab.auto_certify_proposed) == (0, True)

    set_qc(naco, thresholds, auto_certify=False)
    ab = AssociationBlock.objects.get(pk=ab.pk)
    result = run_qc(ab)
    ab.refresh_from_db()
    assert (result.score, result.proposed, ab.auto_certify_proposed) == (0, False, False)


def test_nothing_scored_gives_no_score_and_no_proposal(naco, tmp_path):
    set_qc(naco, {}, auto_certify=True)
    ab = dark_ab(naco, tmp_path)
    ab.qc_status = "running"
    ab.save(update_fields=["qc_status"])
    result = run_qc(ab)
    ab.refresh_from_db()
    assert result.parameters and all(p.score is None for p in result.parameters)
    assert (result.score, result.proposed, ab.qc_score) == (None, False, None)
    assert ab.qc_status == "running"  # the task's business, not run_qc's


def test_naco_thresholds_pass_a_dark_like_the_simulators(naco, tmp_path):
    """The [qc] table shipped in processing/instances/NACO/config.toml."""
    ab = dark_ab(naco, tmp_path, mode="HighDynamic")
    found = values(run_qc(ab))
    assert found["QC.PHX.DARK.MEDIAN"].score == 0
    assert found["QC.DARKMED"].score == 0
    assert found["QC.PHX.DARK.HOTFRAC"].score == 0
    # RON here is 2.08 ADU, half of HighDynamic's 4.2: the shipped thresholds catch it
    assert found["QC.PHX.DARK.RON"].score == 1


@pytest.mark.parametrize("thresholds, key, reason", [
    ({"QC.X": {"low": 2, "high": 1}}, 'qc.thresholds."QC.X"', "above high"),
    ({"QC.X": {"low": "1"}}, 'qc.thresholds."QC.X".low', "not a number"),
    ({"QC.X": {"lo": 1}}, 'qc.thresholds."QC.X".lo', "unknown key"),
    ({"QC.X": {"pro_catg": "A"}}, 'qc.thresholds."QC.X"', "needs low, high"),
    ({"DARKMED": {"low": 1}}, 'qc.thresholds."DARKMED"', "starts with QC."),
    ({"QC.X": []}, 'qc.thresholds."QC.X"', "empty list"),
    ({"QC.X": [{"low": 1}, {"high": True}]}, 'qc.thresholds."QC.X"[2].high', "not a number"),
    ({"QC.X": {"low": 1, "when": {"DET.DIT": {}}}}, 'qc.thresholds."QC.X".when.DET.DIT',
     "must be a value"),
])
def test_threshold_validation_names_key_and_reason(thresholds, key, reason):
    with pytest.raises(ThresholdError) as error:
        parse_thresholds(thresholds)
    assert error.value.key == key and reason in error.value.reason


def test_instance_files_with_bad_thresholds_do_not_load(tmp_path, settings):
    from processing.instance_config import InstanceConfigError, parse_config

    source = settings.BASE_DIR / "processing" / "instances" / "NACO"
    directory = tmp_path / "NACO"
    directory.mkdir()
    for name in ("config.toml", "rules.oca"):
        (directory / name).write_text((source / name).read_text())
    config, _ = parse_config(directory / "config.toml")  # the shipped [qc] table is valid
    assert parse_thresholds(config["qc"]["thresholds"]).rules["QC.PHX.DARK.MEDIAN"]
    text = (directory / "config.toml").read_text()
    (directory / "config.toml").write_text(
        text.replace('[qc.thresholds."QC.PHX.FLAT.LSS"]\nhigh = 0.05',
                     '[qc.thresholds."QC.PHX.FLAT.LSS"]\nhigh = "low"'))
    with pytest.raises(InstanceConfigError) as error:
        parse_config(directory / "config.toml")
    assert error.value.key == 'qc.thresholds."QC.PHX.FLAT.LSS".high'
    assert "not a number" in error.value.reason


def test_threshold_rules_match_keywords_as_rules_mean_them():
    parsed = parse_thresholds({"QC.X": [
        {"pro_catg": ["A", "B"], "when": {"DET.DIT": 2, "INS.FILT": ["Ks", "H"]}, "low": 1},
        {"high": 5},
    ]})
    first, fallback = parsed.rules["QC.X"]
    assert parsed.rule_for("QC.X", "B", {"DET.DIT": 2.0, "INS.FILT": "Ks  "}) is first
    assert parsed.rule_for("QC.X", "C", {"DET.DIT": 2.0, "INS.FILT": "Ks"}) is fallback
    assert parsed.rule_for("QC.X", "A", {"DET.DIT": 3, "INS.FILT": "Ks"}) is fallback
    assert parsed.rule_for("QC.Y", "A", {}) is None
    assert (first.score(0.5), first.score(1.0), fallback.score(5.1), first.score(None)) == (
        1, 0, 1, None)


# --- results replace, plots, history ---------------------------------------------------------


def test_rerun_replaces_parameters_and_plots(naco, tmp_path, data_root):
    ab = dark_ab(naco, tmp_path)
    first = run_qc(ab)
    second = run_qc(ab)
    assert QcParameter.objects.filter(ab=ab).count() == len(second.parameters) == len(
        first.parameters)
    assert not QcParameter.objects.filter(pk__in=[p.pk for p in first.parameters]).exists()
    plot_rows = Product.objects.filter(ab=ab, kind=ProductKind.PLOT)
    assert sorted(plot_rows.values_list("pro_catg", flat=True)) == ["QC_PLOT_HTML", "QC_PLOT_PNG"]
    assert {p.pk for p in plot_rows} == {p.pk for p in second.plots}
    assert Product.objects.filter(ab=ab).exclude(kind=ProductKind.PLOT).count() == 1


def test_plots_are_written_registered_and_complete(naco, tmp_path, data_root):
    ab = dark_ab(naco, tmp_path)
    Product.objects.filter(ab=ab).update(state=ProductState.CERTIFIED)
    result = run_qc(ab)
    directory = data_root / "plt" / "2009-06-15" / ab.ab_name
    html, png = directory / f"{ab.ab_name}_qc.html", directory / f"{ab.ab_name}_qc.png"
    assert {p.path for p in result.plots} == {str(html), str(png)}
    for plot in result.plots:
        assert plot.kind == ProductKind.PLOT and plot.state == ProductState.CERTIFIED
        assert plot.size == os.path.getsize(plot.path) > 0 and plot.ab_id == ab.pk
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    page = html.read_text()
    # one shared plotly.js per version, loaded by a relative path (works offline)
    shared = list((data_root / "plt").glob("plotly-*.min.js"))
    assert len(shared) == 1 and shared[0].stat().st_size > 1_000_000
    assert f'src="../../{shared[0].name}"' in page
    assert "QC.PHX.DARK.MEDIAN" in page
    assert not [p for p in directory.iterdir() if p.name.startswith(".")]  # no temp files
    # the browser-free PNG says so
    assert any("only the image thumbnails" in w for w in result.warnings)


def test_trend_uses_the_history_of_earlier_abs(naco, tmp_path):
    earlier = [dark_ab(naco, tmp_path, name=f"NA_MDRK_OLD{n}", mjd=MJD - 10 + n) for n in range(2)]
    later = make_ab(naco, "NA_MDRK_LATER", mjd=MJD + 5)
    for n, ab in enumerate(earlier):
        QcParameter.objects.create(ab=ab, name="QC.PHX.DARK.MEDIAN", value=41.123 + n,
                                   source="computed", mjd_obs=ab.mjd_obs, score=0)
    QcParameter.objects.create(ab=later, name="QC.PHX.DARK.MEDIAN", value=77.777,
                               source="computed", mjd_obs=later.mjd_obs)
    ab = dark_ab(naco, tmp_path)
    result = run_qc(ab)
    trend = next(t for t in _trends(ab, result.parameters) if t.name == "QC.PHX.DARK.MEDIAN")
    assert [(mjd, value) for mjd, value, _ in trend.history] == [
        (MJD - 10, 41.123), (MJD - 9, 42.123)]
    assert trend.current[0][1] == pytest.approx(DARK_LEVEL, abs=0.1)
    page = next(p for p in result.plots if p.pro_catg == "QC_PLOT_HTML")
    text = Path(page.path).read_text()
    assert "41.123" in text and "77.777" not in text


def test_corrupt_and_missing_files_warn_and_the_rest_is_checked(naco, tmp_path):
    set_qc(naco, {"QC.PHX.DARK.MEDIAN": {"low": 40.0, "high": 44.0}}, auto_certify=True)
    ab = dark_ab(naco, tmp_path)
    good = tmp_path / "NA_MDRK_TEST" / "NA_MDRK_TEST.fits"
    truncated = tmp_path / "truncated.fits"
    truncated.write_bytes(good.read_bytes()[:4000])
    garbage = tmp_path / "garbage.fits"
    garbage.write_bytes(b"this is not FITS" * 300)
    missing = tmp_path / "missing.fits"
    for path in (truncated, garbage, missing):
        add_product(ab, path, "NACO_IMG_DARK_AVG")
    result = run_qc(ab)
    assert result.checked == 1 and len(result.failed) == 3
    for path in (truncated, garbage, missing):
        assert any(str(path) in warning for warning in result.warnings), path
    assert values(result)["QC.PHX.DARK.MEDIAN"].score == 0
    assert result.score == 0 and result.proposed is False  # unchecked products: no proposal


def test_an_ab_without_products_is_reported_not_failed(naco):
    ab = make_ab(naco, "NA_EMPTY")
    result = run_qc(ab)
    assert (result.parameters, result.plots, result.score) == ([], [], None)
    assert "no master or science products" in result.warnings[0]


def test_parallel_writers_never_expose_partial_files(tmp_path):
    target = tmp_path / "shared.js"
    payloads = [bytes([65 + n]) * 2_000_000 for n in range(6)]
    seen = []

    def write(payload):
        for _ in range(3):
            plots.atomic_write(target, payload)
            seen.append(target.read_bytes())

    threads = [threading.Thread(target=write, args=(p,)) for p in payloads]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert all(content in payloads for content in seen)
    assert [p.name for p in tmp_path.iterdir()] == ["shared.js"]


def test_png_through_kaleido_when_a_browser_is_installed(naco, tmp_path, monkeypatch):
    monkeypatch.undo()  # the real browser search
    if plots.browser_path() is None:
        message = "no Chrome/Chromium for kaleido (apt-get install chromium, or BROWSER_PATH)"
        if ON_CI:
            pytest.fail(f"{message}; .ci/run installs it", pytrace=False)
        pytest.skip(message)
    result = run_qc(dark_ab(naco, tmp_path))
    png = next(p for p in result.plots if p.pro_catg == "QC_PLOT_PNG")
    data = Path(png.path).read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    assert width == plots.WIDTH and height > 300  # the whole figure, not the thumbnail mosaic
    assert not [w for w in result.warnings if "thumbnails" in w]
