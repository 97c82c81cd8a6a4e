"""IDP conversion of a coadd made by ESO's naco_img_jitter (through esorex), the recipe the
NACO instance uses where it is installed: its header differs from the Python recipe's
(PROCSOFT naco/<version>, calibration checksums, its own QC), the IDP must still be right."""

import json
import math

import pytest
from astropy.io import fits

from processing.certification import certify
from processing.choices import AbCategory, AbStatus, ConversionStatus, ProductKind
from processing.idp import convert_product
from processing.models import AssociationBlock, Product
from processing.phase3 import validate_file
from processing.queue.qc_job import process_qc
from processing.simulation.pixels import FILTER_FACTOR
from tests.processed import process_month, simulate
from tests.test_idp import STANDARD_MAGS, catalogue_of, register_catalogue, standard_star


@pytest.mark.esorex
def test_an_eso_pipeline_coadd_becomes_a_valid_idp(db, data_root, tmp_path):
    simulated = simulate(tmp_path / "simulated")
    instance = process_month(simulated, tmp_path, engine="esorex", qc=False)
    ab = AssociationBlock.objects.filter(category=AbCategory.SCIENCE,
                                         status=AbStatus.SUCCESS).order_by("mjd_obs").first()
    process_qc(ab.pk)
    assert certify([ab], actor_name="test").done == [ab.ab_name]
    manifest = json.loads((simulated / "simulation_manifest.json").read_text())
    register_catalogue(instance, catalogue_of(manifest, tmp_path / "cat.fits"))
    product = ab.products.get(kind=ProductKind.SCIENCE)
    conversion = convert_product(product, actor_name="test")
    assert conversion.status == ConversionStatus.OK, conversion.message
    header = fits.getheader(conversion.idp.path)
    assert header["PROCSOFT"].startswith("naco/")
    assert header["NCOMBINE"] == header["HIERARCH ESO PRO DATANCOM"]
    report = validate_file(conversion.idp.path)
    assert report.ok, [f.as_dict() for f in report.errors]
    # the zero point of the ESO coadd's units (ADU per DIT) against the simulated standard
    flux = standard_star(manifest)[1] * FILTER_FACTOR[header["FILTER"]]
    expected = STANDARD_MAGS[header["FILTER"]] + 2.5 * math.log10(
        flux * header["HIERARCH ESO DET DIT"])
    assert header["PHOTZP"] == pytest.approx(expected, abs=0.03)
    assert Product.objects.filter(source=product, kind=ProductKind.ANCILLARY).count() == 2
