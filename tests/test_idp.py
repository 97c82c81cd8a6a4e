"""IDP conversion (issue 5 point 3) of real coadds: a simulated NACO night processed by the
Python recipes, QC'd, certified and moved, then converted and checked against the simulator's
truth (processing/simulation: frames, targets, PSFs, the standard star's flux).

The night is processed once for the module, inside a transaction rolled back at its end; each
test runs in a savepoint of it and writes its IDPs under its own PHOENIX_DATA_ROOT.

The simulator gives star fluxes in ADU/s but no magnitudes, so the standard star gets its
catalogue magnitudes here (STANDARD_MAGS, in an IMG_STD_CATALOG as ESO's pipeline writes it);
the true zero point of a filter is then m_cat + 2.5·log10(true flux of the star in ADU/s).
"""

import hashlib
import json
import math
import os
import shutil
import subprocess
import warnings
from pathlib import Path

import numpy as np
import pytest
from astropy.io import fits
from astropy.wcs import WCS, FITSFixedWarning
from django.core.management import call_command
from django.db import transaction
from django.test import override_settings

from processing.certification import certify
from processing.choices import AbCategory, AbStatus, ConversionStatus, ProductKind
from processing.idp import convert_product, convert_products
from processing.idp.instruments import NACO
from processing.models import AssociationBlock, AuditEvent, IdpConversion, Product, RawFrame
from processing.moving import move
from processing.queue.qc_job import process_qc
from processing.simulation import programmes
from processing.simulation.instrument import CAMERAS
from processing.simulation.pixels import FILTER_FACTOR
from tests.processed import process_month, simulate

#: Catalogue magnitudes given to the night's standard star for these tests.
STANDARD_MAGS = {"J": 11.80, "H": 11.52, "K": 11.47, "Ks": 11.46}
MANDATORY = ("PRODCATG", "ORIGIN", "TELESCOP", "INSTRUME", "FILTER", "OBJECT", "RA", "DEC",
             "RADESYS", "EXPTIME", "TEXPTIME", "MJD-OBS", "MJD-END", "PROG_ID", "OBID1",
             "NCOMBINE", "PROV1", "OBSTECH", "FLUXCAL", "PROCSOFT", "REFERENC", "BUNIT",
             "CTYPE1", "CTYPE2", "CRVAL1", "CRVAL2", "CRPIX1", "CRPIX2", "CUNIT1", "CUNIT2",
             "CD1_1", "CD1_2", "CD2_1", "CD2_2", "PHOTZP", "PHOTSYS", "ABMAGLIM", "ABMAGSAT",
             "PSF_FWHM", "ASSON1", "CHECKSUM", "DATASUM")


def write_catalogue(path, stars):
    """An IMG_STD_CATALOG in the format of ESO's naco_util_img_std_cat (99 = unknown)."""
    bands = ("J", "H", "K", "Ks", "L", "M", "Lp", "Mp")
    columns = [fits.Column("STARS", "16A", array=[s[0] for s in stars]),
               fits.Column("RA", "D", unit="Degrees", array=[s[1] for s in stars]),
               fits.Column("DEC", "D", unit="Degrees", array=[s[2] for s in stars])]
    columns += [fits.Column(band, "D", unit="Magnitude",
                            array=[s[3].get(band, 99.0) for s in stars]) for band in bands]
    primary = fits.PrimaryHDU()
    primary.header["HIERARCH ESO PRO CATG"] = "IMG_STD_CATALOG"
    fits.HDUList([primary, fits.BinTableHDU.from_columns(columns)]).writeto(path, checksum=True)
    return path


def standard_star(manifest):
    """The night's standard (programmes.STANDARDS) and its simulated flux in Ks (ADU/s)."""
    sequence = next(s for s in manifest["truth"]["sequences"].values() if s["kind"] == "std")
    star = next(s for s in programmes.STANDARDS if s.name == sequence["target"])
    return star, manifest["truth"]["fields"][sequence["field"]]["stars"][0][2]


def catalogue_of(manifest, path):
    """An IMG_STD_CATALOG at `path` giving the night's standard STANDARD_MAGS."""
    star, _ = standard_star(manifest)
    return write_catalogue(path, [(star.name, star.ra, star.dec, STANDARD_MAGS)])


def register_catalogue(instance, path):
    Product.objects.filter(pro_catg="IMG_STD_CATALOG").delete()
    return Product.objects.create(
        instance=instance, name=path.name, path=str(path), pro_catg="IMG_STD_CATALOG",
        kind=ProductKind.STATIC, state="certified", keywords={"PRO.CATG": "IMG_STD_CATALOG"},
    )  # fmt: skip


@pytest.fixture(scope="module")
def night(django_db_setup, django_db_blocker, tmp_path_factory):
    """The processed, QC'd, certified and moved night, and the simulator's manifest."""
    root = tmp_path_factory.mktemp("idp_night")
    simulated = simulate(root / "simulated")
    manifest = json.loads((simulated / "simulation_manifest.json").read_text())
    with django_db_blocker.unblock(), override_settings(PHOENIX_DATA_ROOT=root / "data"):
        (root / "data").mkdir()
        with transaction.atomic():
            instance = process_month(simulated, root, qc=False)
            science = list(AssociationBlock.objects.filter(category=AbCategory.SCIENCE,
                                                           status=AbStatus.SUCCESS))
            for ab in science:
                process_qc(ab.pk)
            assert len(certify(science, actor_name="test").done) == len(science) == 3
            assert len(move(science, actor_name="test").moved) == 3
            register_catalogue(instance, catalogue_of(manifest, root / "naco_std_cat.fits"))
            yield {"instance": instance, "manifest": manifest, "root": root}
            transaction.set_rollback(True)


@pytest.fixture
def naco(night, db, settings, tmp_path):
    settings.PHOENIX_DATA_ROOT = tmp_path / "data"
    return night


def science(filter_name, mode="HighDynamic"):
    for product in Product.objects.filter(kind=ProductKind.SCIENCE).order_by("pk"):
        if (NACO.filter_of(product.keywords.get) == filter_name
                and product.keywords.get("DET.MODE.NAME") == mode):  # fmt: skip
            return product
    raise AssertionError(f"no {filter_name} {mode} coadd")


def truth_of(naco, product):
    """(the sequence's truth, its manifest file entries) for a coadd's raw frames."""
    raws = [entry["name"] for entry in product.provenance["raw"]]
    sequence = next(s for s in naco["manifest"]["truth"]["sequences"].values()
                    if s["arcfiles"] == raws)
    files = {e["arcfile"]: e for e in naco["manifest"]["files"]}
    return sequence, [files[name] for name in raws]


def celestial(header):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FITSFixedWarning)  # astropy notes DATE-END from MJD-END
        return WCS(header)


def converted(product):
    conversion = convert_product(product, actor_name="test")
    assert conversion.status == ConversionStatus.OK, conversion.message
    return conversion, fits.getheader(conversion.idp.path)


def true_zero_point(naco, product):
    """m_cat + 2.5·log10(ADU/s of the standard in the filter) + 2.5·log10(DIT): image units."""
    sequence, _ = truth_of(naco, product)
    _, flux = standard_star(naco["manifest"])
    band = sequence["filter"]
    dit = product.keywords["DET.DIT"]
    return STANDARD_MAGS[band] + 2.5 * math.log10(flux * FILTER_FACTOR[band] * dit)


def test_a_coadd_becomes_a_science_image_with_every_sdp_keyword_right(naco, settings):
    product = science("Ks")
    conversion, header = converted(product)
    sequence, files = truth_of(naco, product)
    idp = conversion.idp
    assert Path(idp.path) == settings.PHOENIX_DATA_ROOT / "sci" / "2009-06-15" / "idp" / product.name
    missing = [key for key in MANDATORY if key not in header]
    assert not missing, missing
    assert (header["PRODCATG"], header["ORIGIN"], header["TELESCOP"], header["INSTRUME"]) == (
        "SCIENCE.IMAGE", "ESO-PARANAL", "ESO-VLT-U4", "NAOS+CONICA")
    assert header["FILTER"] == sequence["filter"] == "Ks"
    assert header["OBJECT"] == sequence["target"]
    assert header["RADESYS"] == "FK5" and header["EQUINOX"] == 2000.0
    # provenance: the raw frames of the template, in order, with their programme and OB
    provs = [header[f"PROV{i}"] for i in range(1, header["NCOMBINE"] + 1)]
    assert provs == sequence["arcfiles"] and f"PROV{len(provs) + 1}" not in header
    assert header["NCOMBINE"] == len(files) == 7
    assert header["PROG_ID"] == files[0]["run_id"] == "083.C-0789(A)"
    assert header["OBID1"] == files[0]["obs_id"] and "OBID2" not in header
    assert header["OBSTECH"] == files[0]["dpr"]["tech"] == "IMAGE,JITTER"
    # times: the sum of DIT×NDIT; from the first start to the end of the last exposure
    exposures = [f["setup"]["dit"] * f["setup"]["ndit"] for f in files]
    assert header["TEXPTIME"] == pytest.approx(sum(exposures))
    assert header["EXPTIME"] == pytest.approx(sum(exposures))  # the centre has every frame
    assert header["MJD-OBS"] == pytest.approx(min(f["mjd_obs"] for f in files), abs=1e-7)
    assert header["MJD-END"] == pytest.approx(
        max(f["mjd_obs"] + f["setup"]["dit"] * f["setup"]["ndit"] / 86400 for f in files), abs=1e-7)
    assert header["TEXPTIME"] <= (header["MJD-END"] - header["MJD-OBS"]) * 86400
    assert (header["PROCSOFT"], header["REFERENC"], header["BUNIT"]) == ("phoenix/1.0.0", "", "ADU")
    # WCS: degrees and a CD matrix of the camera's pixel scale; the target inside the image
    assert (header["CUNIT1"], header["CUNIT2"]) == ("deg", "deg")
    assert not [key for key in header if key.startswith(("CDELT", "CROTA", "PC1_", "PC2_"))]
    scale = math.sqrt(abs(header["CD1_1"] * header["CD2_2"] - header["CD1_2"] * header["CD2_1"]))
    assert scale * 3600 == pytest.approx(CAMERAS["S27"].pixscale, rel=1e-4)
    target = next(t for p in programmes.PROGRAMMES for t in p.targets if t.name == header["OBJECT"])
    wcs = celestial(header)
    x, y = wcs.all_world2pix([[target.ra, target.dec]], 1)[0]
    assert 0.5 <= x <= header["NAXIS1"] + 0.5 and 0.5 <= y <= header["NAXIS2"] + 0.5
    centre = wcs.all_pix2world([[(header["NAXIS1"] + 1) / 2, (header["NAXIS2"] + 1) / 2]], 1)[0]
    assert (header["RA"], header["DEC"]) == pytest.approx(tuple(centre), abs=1e-6)
    # measured on the image: the AO core of the simulated PSF; limits in the right order
    pixscale = CAMERAS["S27"].pixscale
    assert header["PSF_FWHM"] == pytest.approx(sequence["psf"]["core_fwhm_px"] * pixscale,
                                               abs=0.6 * pixscale)
    assert header["ABMAGLIM"] > header["ABMAGSAT"] + 5
    # the pipeline's keywords stay; the raw frame's archive name does not
    assert header["HIERARCH ESO PRO CATG"] == "COADDED_IMG"
    assert header["HIERARCH ESO QC FWHM PIX"] > 0
    assert "ARCFILE" not in header and not [k for k in header if k.startswith("ESO DPR")]
    # checksums over the final file
    with fits.open(idp.path, checksum=True) as hdul:
        assert len(hdul) == 1
        assert hdul[0].verify_checksum() == 1 and hdul[0].verify_datasum() == 1
    assert idp.md5 == hashlib.md5(Path(idp.path).read_bytes()).hexdigest()
    assert (idp.kind, idp.state, idp.source) == ("idp", "moved", product)
    assert idp.size == Path(idp.path).stat().st_size
    assert idp.keywords["PRODCATG"] == "SCIENCE.IMAGE"
    event = AuditEvent.objects.get(action="convert_idp")
    assert (event.result, event.object_id, event.actor_name) == ("ok", str(product.pk), "test")


def test_ancillaries_are_linked_by_name_category_and_md5(naco):
    product = science("H")
    conversion, header = converted(product)
    ancillaries = {a.name: a for a in Product.objects.filter(source=product, kind=ProductKind.ANCILLARY)}
    assert len(ancillaries) == 2
    stem = Path(product.name).stem
    # the FITS weight map by name (its category is its own PRODCATG), the PNG preview with
    # category and checksum (mandatory for non-FITS ancillaries)
    assert (header["ASSON1"], header["ASSON2"]) == (f"{stem}_wgt.fits", f"{stem}.png")
    assert "ASSOC1" not in header and "ASSOM1" not in header and "ASSON3" not in header
    assert header["ASSOC2"] == "ANCILLARY.PREVIEW"
    assert set(ancillaries) == {header["ASSON1"], header["ASSON2"]}
    preview = ancillaries[f"{stem}.png"]
    data = Path(preview.path).read_bytes()
    assert data.startswith(b"\x89PNG")
    assert header["ASSOM2"] == preview.md5 == hashlib.md5(data).hexdigest()
    qc_png = Product.objects.get(ab=product.ab, kind=ProductKind.PLOT, pro_catg="QC_PLOT_PNG")
    assert data == Path(qc_png.path).read_bytes()
    for row in ancillaries.values():
        path = Path(row.path)
        assert path.parent == Path(conversion.idp.path).parent
        assert row.md5 == hashlib.md5(path.read_bytes()).hexdigest() and row.size == path.stat().st_size
        assert (row.state, row.source, row.keywords["PRODCATG"]) == ("moved", product, row.pro_catg)
    assert ancillaries[f"{stem}_wgt.fits"].pro_catg == "ANCILLARY.WEIGHTMAP"
    assert preview.pro_catg == "ANCILLARY.PREVIEW"
    # the weight map: the frames combined per pixel, on the IDP's WCS
    with fits.open(ancillaries[f"{stem}_wgt.fits"].path, checksum=True) as hdul:
        weights = hdul[0]
        assert weights.verify_checksum() == 1 and weights.header["PRODCATG"] == "ANCILLARY.WEIGHTMAP"
        assert int(weights.data.max()) == header["NCOMBINE"] and weights.data.shape == (256, 256)
        for key in ("CD1_1", "CD2_2", "CRPIX1", "CRPIX2", "CRVAL1", "CRVAL2"):
            assert weights.header[key] == header[key]
        with fits.open(product.path) as original:
            assert np.array_equal(weights.data, original["Contribution Map"].data)


@pytest.mark.parametrize("band,mode", [("H", "HighDynamic"), ("Ks", "HighDynamic"),
                                       ("H", "HighSensitivity")])
def test_photzp_from_the_nights_standard_star_matches_the_simulated_truth(naco, band, mode):
    product = science(band, mode)
    conversion, header = converted(product)
    assert header["PHOTZP"] == pytest.approx(true_zero_point(naco, product), abs=0.03)
    assert (header["PHOTSYS"], header["FLUXCAL"]) == ("VEGA", "ABSOLUTE")
    assert 0 < header["PHOTZPER"] < 0.01
    detail = conversion.detail
    assert detail["photzp_source"] == "standard"
    zp = detail["photzp_detail"]
    assert zp["stars"] == {standard_star(naco["manifest"])[0].name: STANDARD_MAGS[band]}
    std = [f["arcfile"] for f in naco["manifest"]["files"]
           if f["raw_type"] == "STD_IMG" and f["setup"]["filter"] == band]
    assert sorted(f["arcfile"] for f in zp["frames"]) == sorted(std) and len(std) == 5
    assert zp["scatter"] < 0.02


def test_without_a_standard_that_night_the_zero_point_is_nominal_and_said_so(naco):
    RawFrame.objects.filter(dpr_type="STD").update(hidden=True)  # a night without standard
    product = science("Ks")
    conversion, header = converted(product)
    assert conversion.detail["photzp_source"] == "nominal"
    reason = conversion.detail["photzp_detail"]["reason"]
    assert "no standard star observed on 2009-06-15 in Ks" in reason
    dit = product.keywords["DET.DIT"]
    assert header["PHOTZP"] == pytest.approx(NACO.nominal_zp["Ks"] + 2.5 * math.log10(dit), abs=1e-4)
    assert header["FLUXCAL"] == "UNCALIBRATED" and "PHOTZPER" not in header
    assert "nominal" in header.comments["FLUXCAL"] and "NOMINAL" in header.comments["PHOTZP"]
    assert "nominal" in conversion.message
    assert header["ABMAGLIM"] > header["ABMAGSAT"]


def test_without_a_catalogue_the_zero_point_is_nominal_and_says_why(naco):
    Product.objects.filter(pro_catg="IMG_STD_CATALOG").delete()
    conversion, header = converted(science("H"))
    assert conversion.detail["photzp_source"] == "nominal"
    assert "no standard-star catalogue" in conversion.detail["photzp_detail"]["reason"]
    assert header["FLUXCAL"] == "UNCALIBRATED"


def test_the_phase3_validator_finds_no_error_in_the_idp_and_its_weight_map(naco):
    from processing.phase3 import validate_file

    for product in Product.objects.filter(kind=ProductKind.SCIENCE):
        conversion, _ = converted(product)
        report = validate_file(conversion.idp.path)
        assert report.ok, [f.as_dict() for f in report.errors]
        assert conversion.idp.validation == report.as_dict() == conversion.detail["validation"]
        weights = Product.objects.get(source=product, pro_catg="ANCILLARY.WEIGHTMAP")
        assert weights.validation["errors"] == 0, weights.validation


def test_converting_again_replaces_the_idp_and_its_rows(naco):
    product = science("Ks")
    first, _ = converted(product)
    rows = {p.pk: (p.path, p.md5) for p in Product.objects.filter(source=product)}
    second, _ = converted(Product.objects.get(pk=product.pk))
    again = {p.pk: (p.path, p.md5) for p in Product.objects.filter(source=product)}
    assert set(again) == set(rows) and len(again) == 3  # the IDP and its two ancillaries
    assert second.idp.pk == first.idp.pk and second.idp.path == first.idp.path
    assert again[first.idp.pk][1] == hashlib.md5(
        Path(first.idp.path).read_bytes()).hexdigest()
    assert IdpConversion.objects.filter(product=product, status="ok").count() == 2
    assert sorted(p.name for p in Path(first.idp.path).parent.iterdir()) == sorted(
        Path(path).name for path, _ in again.values())  # no temporary file left


def damaged_copy(product, tmp_path, damage):
    """The product pointing at a damaged copy of its file (the original stays for others)."""
    copy = tmp_path / "damaged" / product.name
    copy.parent.mkdir()
    shutil.copy(product.path, copy)
    if damage == "truncated":
        copy.write_bytes(copy.read_bytes()[: 2880 * 20])
    else:
        with fits.open(copy, mode="update") as hdul:
            names = ["HIERARCH ESO PRO REC1 PIPE ID"] if damage == "no PROCSOFT" else [
                k for k in hdul[0].header if k.startswith(("CTYPE", "CRVAL", "CRPIX", "CD"))]
            for name in names:
                del hdul[0].header[name]
    Product.objects.filter(pk=product.pk).update(path=str(copy))
    return Product.objects.get(pk=product.pk)


@pytest.mark.parametrize("damage,reason", [
    ("truncated", "cannot be used: truncated: the data of the primary HDU needs 262144 bytes"),
    ("no PROCSOFT", "no HIERARCH ESO PRO REC1 PIPE ID: PROCSOFT cannot be derived"),
    ("no WCS", "no WCS information"),
])
def test_a_damaged_product_fails_naming_it_and_the_reason_and_writes_nothing(
        naco, tmp_path, damage, reason):
    good = science("Ks")
    earlier, _ = converted(good)
    before = Path(earlier.idp.path).read_bytes()
    product = damaged_copy(good, tmp_path, damage)
    conversion = convert_product(product, actor_name="test")
    assert conversion.status == ConversionStatus.FAILED and conversion.idp is None
    assert product.name in conversion.message and reason in conversion.message
    assert product.ab.ab_name in conversion.message
    # the earlier IDP and its rows stay as they were; nothing else was written
    assert Path(earlier.idp.path).read_bytes() == before
    assert Product.objects.filter(source=product).count() == 3
    assert sorted(p.name for p in Path(earlier.idp.path).parent.iterdir()) == sorted(
        Path(p.path).name for p in Product.objects.filter(source=product))
    event = AuditEvent.objects.filter(action="convert_idp").latest("id")
    assert event.result == "failed" and reason in event.message


def test_only_certified_or_moved_science_products_are_converted(naco):
    master = Product.objects.filter(kind=ProductKind.MASTER).first()
    virtual = science("Ks")
    Product.objects.filter(pk=virtual.pk).update(state="virtual")
    results = convert_products([master, Product.objects.get(pk=virtual.pk)], actor_name="test")
    assert [r.status for r in results] == ["failed", "failed"]
    assert "only science products become IDPs" in results[0].message
    assert "it is virtual; only certified or moved" in results[1].message
    assert not Product.objects.filter(kind=ProductKind.IDP).exists()


def test_the_command_converts_a_night_once_and_again_with_force(naco, capsys):
    call_command("convert_idps", "--instance", "NACO", "-d", "2009-06-15", "--json")
    out = capsys.readouterr()
    summary = json.loads(out.out.splitlines()[-1])
    assert (summary["converted"], summary["failed"], summary["already_converted"]) == (3, 0, 0)
    assert sorted(p["photzp_source"] for p in summary["products"]) == ["standard"] * 3
    assert len([line for line in out.err.splitlines() if line.startswith("ok ")]) == 3
    assert Product.objects.filter(kind=ProductKind.IDP).count() == 3

    call_command("convert_idps", "--instance", "NACO", "-m", "2009-06")
    assert "0 converted (0 with Phase 3 validator errors), 0 failed, 3 converted already" in (
        capsys.readouterr().out)
    call_command("convert_idps", "--instance", "NACO", "-d", "2009-06-15", "--force")
    assert "3 converted" in capsys.readouterr().out
    assert Product.objects.filter(kind=ProductKind.IDP).count() == 3
    assert IdpConversion.objects.filter(status="ok").count() == 6


def test_the_command_exits_1_when_a_conversion_fails(naco, capsys):
    product = science("H", "HighSensitivity")
    Path(product.path).rename(Path(product.path).with_suffix(".gone"))
    try:
        with pytest.raises(SystemExit) as exit_:
            call_command("convert_idps", "--instance", "NACO", "-d", "2009-06-15")
    finally:
        Path(product.path).with_suffix(".gone").rename(product.path)
    assert exit_.value.code == 1
    out = capsys.readouterr().out
    assert f"FAILED  {product.name}" in out and "does not exist" in out
    assert "2 converted (0 with Phase 3 validator errors), 1 failed" in out


def test_bad_arguments_are_refused_with_the_reason(naco):
    from django.core.management import CommandError

    with pytest.raises(CommandError, match="unknown instance 'NOPE'"):
        call_command("convert_idps", "--instance", "NOPE", "-d", "2009-06-15")
    with pytest.raises(CommandError, match="not a date"):
        call_command("convert_idps", "--instance", "NACO", "-d", "15/06/2009")


@pytest.mark.esorex
def test_the_catalogue_made_by_esos_utility_gives_the_same_zero_point(naco, tmp_path):
    star, _ = standard_star(naco["manifest"])
    ascii_file = tmp_path / "standards.txt"
    mags = " ".join(str(STANDARD_MAGS.get(band, 99.0)) for band in ("J", "H", "K", "Ks"))
    ascii_file.write_text(f"{star.name} {star.ra} {star.dec} G2V {mags} 99 99 99 99\n")
    sof = tmp_path / "cat.sof"
    sof.write_text(f"{ascii_file} IMG_STD_ASCII\n")
    subprocess.run(["esorex", f"--output-dir={tmp_path}", "naco_util_img_std_cat", str(sof)],
                   check=True, capture_output=True, cwd=tmp_path, env={**os.environ})
    product = science("Ks")
    reference, _ = converted(product)
    register_catalogue(naco["instance"], tmp_path / "naco_util_img_std_cat.fits")
    conversion, _ = converted(product)
    assert conversion.detail["photzp_source"] == "standard"
    assert conversion.detail["photzp"] == pytest.approx(reference.detail["photzp"], abs=1e-6)


def test_products_not_moved_yet_cannot_overwrite_each_others_idp(naco):
    """Certified products keep the recipe's file name until they are moved: the second of two
    coadds of the night named coadded_img.fits must not take the first one's IDP."""
    first, second = science("H"), science("Ks")
    Product.objects.filter(pk__in=[first.pk, second.pk]).update(name="coadded_img.fits",
                                                                state="certified")
    done = convert_product(Product.objects.get(pk=first.pk), actor_name="test")
    refused = convert_product(Product.objects.get(pk=second.pk), actor_name="test")
    assert done.status == "ok" and refused.status == "failed"
    assert f"is already the IDP of product {first.pk}" in refused.message
    assert "move the products first" in refused.message
    assert fits.getheader(done.idp.path)["FILTER"] == "H"
