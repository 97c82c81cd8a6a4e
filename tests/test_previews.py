"""FITS previews (monitor/previews.py through monitor:product_preview): small FITS files
written here, rendered to PNG and decoded again to check what the browser would see."""

import html
import struct
import time
import zlib
from pathlib import Path

import numpy as np
import pytest
from astropy.io import fits
from django.urls import reverse

from processing.models import Product
from tests.archive_factories import naco, register


def decode(png):
    """(width, height, pixels) of an 8-bit grey PNG as monitor/previews writes it."""
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    position, header, data = 8, None, b""
    while position < len(png):
        (length,) = struct.unpack(">I", png[position:position + 4])
        kind = png[position + 4:position + 8]
        body = png[position + 8:position + 8 + length]
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            data += body
        position += 12 + length
    width, height, depth, colour = header[:4]
    assert (depth, colour) == (8, 0)
    raw = np.frombuffer(zlib.decompress(data), dtype=np.uint8).reshape(height, width + 1)
    assert not raw[:, 0].any()  # filter type 0 on every row
    return width, height, raw[:, 1:]


@pytest.fixture
def instance(db, data_root):
    return naco()


def product_of(instance, path, **fields):
    return register(instance, path, **fields)


def galaxy(shape=(64, 96), seed=3):
    """Noise on a sky level with a bright, extended source: stretches differ visibly."""
    rng = np.random.default_rng(seed)
    y, x = np.indices(shape)
    source = 5000 * np.exp(-((y - shape[0] / 3) ** 2 + (x - shape[1] / 2) ** 2) / 60)
    return (1000 + rng.normal(0, 10, shape) + source).astype(np.float32)


def write(path, *hdus):
    path.parent.mkdir(parents=True, exist_ok=True)
    fits.HDUList(list(hdus)).writeto(path, overwrite=True)
    return path


def preview(client, product, **query):
    return client.get(reverse("monitor:product_preview", args=[product.pk]), query)


@pytest.fixture
def image(instance, data_root):
    path = write(data_root / "sci" / "2009-06-15" / "NA_SCI_image.fits", fits.PrimaryHDU(galaxy()))
    return product_of(instance, path, kind="science", pro_catg="SCI_IMG")


def test_each_stretch_gives_a_different_image(viewer_client, image):
    pictures = {}
    for stretch in ("zscale", "minmax", "asinh", "log", "sqrt"):
        response = preview(viewer_client, image, stretch=stretch)
        assert response.status_code == 200, response.content
        assert response["Content-Type"] == "image/png"
        pictures[stretch] = decode(response.content)[2].tobytes()
    assert len(set(pictures.values())) == 5


def test_the_default_is_zscale(viewer_client, image):
    assert preview(viewer_client, image).content == preview(viewer_client, image,
                                                             stretch="zscale").content  # fmt: skip


def test_a_percentile_changes_the_clipping(viewer_client, image):
    wide = decode(preview(viewer_client, image, stretch="log", percentile="99.9").content)[2]
    narrow = decode(preview(viewer_client, image, stretch="log", percentile="60").content)[2]
    assert (narrow == 255).sum() > (wide == 255).sum()


def test_fits_row_one_is_at_the_bottom(viewer_client, instance, data_root):
    data = np.zeros((40, 40), dtype=np.float32)
    data[:5] = 100.0  # the first rows bright
    path = write(data_root / "sci" / "rows.fits", fits.PrimaryHDU(data))
    _, height, pixels = decode(preview(viewer_client, product_of(instance, path),
                                       stretch="minmax").content)  # fmt: skip
    assert pixels[-1].min() == 255 and pixels[0].max() == 0


def test_sizes_thumb_and_full(viewer_client, instance, data_root):
    path = write(data_root / "sci" / "wide.fits", fits.PrimaryHDU(galaxy((600, 1700))))
    product = product_of(instance, path)
    width, height, _ = decode(preview(viewer_client, product, size="thumb").content)
    assert 100 <= width <= 160 and height < width
    width, height, _ = decode(preview(viewer_client, product).content)
    assert 500 <= width <= 800 and height < width


def test_a_small_image_is_enlarged_by_whole_pixels(viewer_client, image):
    width, height, pixels = decode(preview(viewer_client, image, size="thumb").content)
    assert (width, height) == (96, 64)  # 96 × 64 fits in 160: not enlarged to a fraction
    width, height, pixels = decode(preview(viewer_client, image).content)
    assert (width, height) == (96 * 8, 64 * 8)
    assert (pixels[::8, ::8] == pixels[7::8, 7::8]).all()


def test_a_4k_image_is_block_reduced_and_fast(viewer_client, instance, data_root):
    data = np.random.default_rng(1).normal(100, 5, (4096, 4096)).astype(np.float32)
    path = write(data_root / "sci" / "big.fits", fits.PrimaryHDU(data))
    product = product_of(instance, path)
    started = time.perf_counter()
    response = preview(viewer_client, product)
    elapsed = time.perf_counter() - started
    width, height, _ = decode(response.content)
    assert (width, height) == (682, 682)  # 4096 / ceil(4096 / 800) = 6
    assert elapsed < 5, f"a 4k × 4k preview took {elapsed:.1f} s"
    assert len(preview(viewer_client, product, size="thumb").content) < 40_000


def test_nans_are_black_and_do_not_spoil_the_stretch(viewer_client, instance, data_root):
    data = galaxy()
    data[10:20, 10:30] = np.nan
    path = write(data_root / "sci" / "nans.fits", fits.PrimaryHDU(data))
    _, height, pixels = decode(preview(viewer_client, product_of(instance, path),
                                       size="thumb").content)  # fmt: skip
    flipped = pixels[::-1]
    assert not flipped[10:20, 10:30].any()
    assert flipped[30:, 40:].mean() > 20  # the rest is stretched, not all black


def test_the_first_image_extension_is_shown(viewer_client, instance, data_root):
    table = fits.BinTableHDU.from_columns([fits.Column("X", "D", array=[1.0, 2.0])])
    path = write(data_root / "sci" / "ext.fits", fits.PrimaryHDU(), table,
                 fits.ImageHDU(galaxy(), name="SCI"), fits.ImageHDU(np.zeros((8, 8))))
    width, height, _ = decode(preview(viewer_client, product_of(instance, path),
                                      size="thumb").content)  # fmt: skip
    assert (width, height) == (96, 64)


def test_a_cube_shows_its_median_plane(viewer_client, instance, data_root):
    plane = galaxy()
    rng = np.random.default_rng(5)
    cube = np.stack([plane, plane, plane + rng.normal(0, 1e5, plane.shape).astype(np.float32)])
    cube_path = write(data_root / "sci" / "cube.fits", fits.PrimaryHDU(cube))
    # median of (p, p, p + noise) is p exactly
    plane_path = write(data_root / "sci" / "plane.fits", fits.PrimaryHDU(plane))
    cube_png = preview(viewer_client, product_of(instance, cube_path), stretch="minmax")
    plane_png = preview(viewer_client, product_of(instance, plane_path), stretch="minmax")
    assert decode(cube_png.content)[2].tobytes() == decode(plane_png.content)[2].tobytes()


def test_a_repeat_is_read_from_the_cache(viewer_client, image, data_root):
    first = preview(viewer_client, image, stretch="asinh").content
    cached = list((data_root / "cache" / "previews").glob(f"{image.pk}-*.png"))
    assert len(cached) == 1 and cached[0].read_bytes() == first
    assert preview(viewer_client, image, stretch="asinh").content == first
    cached[0].write_bytes(first + b"marker")  # proves the second answer is the file's bytes
    assert preview(viewer_client, image, stretch="asinh").content == first + b"marker"
    preview(viewer_client, image, stretch="sqrt")
    assert len(list((data_root / "cache" / "previews").glob(f"{image.pk}-*.png"))) == 2


def test_a_changed_file_is_rendered_again_and_its_old_previews_go(viewer_client, image, data_root):
    before = preview(viewer_client, image).content
    preview(viewer_client, image, stretch="sqrt")
    cache = data_root / "cache" / "previews"
    old = set(cache.glob(f"{image.pk}-*.png"))
    assert len(old) == 2
    path = Path(image.path)
    write(path, fits.PrimaryHDU(galaxy(seed=9)[::-1].copy()))
    assert preview(viewer_client, image).content != before
    now = set(cache.glob(f"{image.pk}-*.png"))
    assert len(now) == 1 and not now & old, "the previews of the old file are removed"


def test_a_corrupt_fits_is_a_clear_422(viewer_client, instance, data_root):
    path = data_root / "sci" / "NA_MDRK_broken.fits"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"SIMPLE  =                    T" + b"garbage" * 100)
    response = preview(viewer_client, product_of(instance, path))
    assert response.status_code == 422
    assert "NA_MDRK_broken.fits is not a readable FITS file" in response.content.decode()


def test_a_truncated_fits_is_a_clear_422(viewer_client, instance, data_root):
    path = write(data_root / "sci" / "NA_short.fits", fits.PrimaryHDU(galaxy((200, 200))))
    product = product_of(instance, path)
    path.write_bytes(path.read_bytes()[:5000])
    response = preview(viewer_client, product)
    assert response.status_code == 422
    assert "NA_short.fits" in response.content.decode()


def test_a_table_only_fits_has_no_image(viewer_client, instance, data_root):
    table = fits.BinTableHDU.from_columns([fits.Column("FLUX", "D", array=[1.0])])
    path = write(data_root / "sci" / "NA_SPEC.fits", fits.PrimaryHDU(), table)
    response = preview(viewer_client, product_of(instance, path))
    assert response.status_code == 422
    assert "NA_SPEC.fits has no 2-D image to preview" in response.content.decode()


def test_an_all_nan_image_says_so(viewer_client, instance, data_root):
    path = write(data_root / "sci" / "NA_nan.fits",
                 fits.PrimaryHDU(np.full((8, 8), np.nan, dtype=np.float32)))  # fmt: skip
    response = preview(viewer_client, product_of(instance, path))
    assert response.status_code == 422
    assert "NA_nan.fits has no finite pixel values" in response.content.decode()


def test_a_flat_image_is_mid_grey(viewer_client, instance, data_root):
    path = write(data_root / "sci" / "flat.fits", fits.PrimaryHDU(np.ones((8, 8))))
    _, _, pixels = decode(preview(viewer_client, product_of(instance, path)).content)
    assert set(np.unique(pixels)) == {128}


def test_a_png_plot_is_served_as_it_is(viewer_client, instance, data_root):
    from processing.qc.plots import encode_png

    png = encode_png(np.arange(64, dtype=np.uint8).reshape(8, 8))
    path = data_root / "plt" / "2009-06-15" / "AB_qc.png"
    path.parent.mkdir(parents=True)
    path.write_bytes(png)
    product = product_of(instance, path, kind="plot", pro_catg="QC_PLOT_PNG")
    response = preview(viewer_client, product, stretch="log")
    assert response.status_code == 200 and response["Content-Type"] == "image/png"
    assert b"".join(response.streaming_content) == png
    assert "attachment" not in response.get("Content-Disposition", "")


def test_a_non_image_product_is_422(viewer_client, instance, data_root):
    path = data_root / "plt" / "AB_qc.html"
    path.parent.mkdir(parents=True)
    path.write_text("<html></html>")
    response = preview(viewer_client, product_of(instance, path, kind="plot"))
    assert response.status_code == 422
    assert "AB_qc.html: it is not an image" in response.content.decode()


@pytest.mark.parametrize("query, message", [
    ({"stretch": "<script>"}, "stretch '<script>' is not one of zscale"),
    ({"size": "huge"}, "size 'huge' is not one of thumb, full"),
    ({"percentile": "abc"}, "percentile 'abc' is not a number from 50 to 100"),
    ({"percentile": "nan"}, "percentile 'nan' is not a number"),
    ({"percentile": "1e9"}, "percentile '1e9' is not a number"),
])
def test_bad_options_are_a_400_naming_them(viewer_client, image, query, message):
    response = preview(viewer_client, image, **query)
    assert response.status_code == 400
    assert "<script>" not in response.content.decode()  # escaped
    assert message in html.unescape(response.content.decode())
    assert image.name in response.content.decode()


def test_a_missing_file_is_404(viewer_client, image):
    Path(image.path).unlink()
    response = preview(viewer_client, image)
    assert response.status_code == 404
    expected = f"{image.name}: the file sci/2009-06-15/{image.name} is missing"
    assert expected in response.content.decode()


def test_a_preview_of_a_file_outside_the_root_is_refused(viewer_client, image, tmp_path):
    outside = write(tmp_path / "elsewhere" / "secret.fits", fits.PrimaryHDU(galaxy()))
    Product.objects.filter(pk=image.pk).update(path=str(outside))
    response = preview(viewer_client, image)
    assert response.status_code == 404
    assert "outside the data root" in response.content.decode()


def test_an_unknown_product_is_404(viewer_client, image):
    assert preview(viewer_client, Product(pk=image.pk + 999)).status_code == 404


def test_the_previews_of_products_that_are_gone_are_pruned_by_the_schedule(
        viewer_client, instance, image, data_root):  # fmt: skip
    from django.utils.module_loading import import_string

    from processing.schedules import SCHEDULES

    other_path = write(data_root / "sci" / "2009-06-15" / "NA_SCI_other.fits",
                       fits.PrimaryHDU(galaxy(seed=5)))  # fmt: skip
    other = product_of(instance, other_path, kind="science", pro_catg="SCI_IMG")
    for product in (image, other):
        preview(viewer_client, product)
        preview(viewer_client, product, stretch="log")
    cache = data_root / "cache" / "previews"
    kept = set(cache.glob(f"{other.pk}-*.png"))
    assert len(kept) == 2 and len(list(cache.glob(f"{image.pk}-*.png"))) == 2
    Product.objects.filter(pk=image.pk).delete()  # as a re-run replaces its products
    prune = import_string(SCHEDULES["phoenix-prune-previews"][0])
    assert prune() == {"removed": 2}
    assert not list(cache.glob(f"{image.pk}-*.png"))
    assert set(cache.glob(f"{other.pk}-*.png")) == kept
    assert prune() == {"removed": 0}
