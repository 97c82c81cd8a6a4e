"""The download endpoint serves only regular files under the data (or archive) root that a
known Product records: hostile recorded paths, symlinks and encoded URLs serve nothing else."""

import os
from pathlib import Path

import pytest
from django.urls import reverse

from monitor import files
from processing.models import Product
from tests.archive_factories import master, naco

SECRET = b"root:x:0:0:secret outside the data root\n"


@pytest.fixture
def outside(tmp_path):
    """A file next to (not under) the data root, standing in for /etc/passwd."""
    path = tmp_path / "outside" / "passwd"
    path.parent.mkdir()
    path.write_bytes(SECRET)
    return path


@pytest.fixture
def product(db, data_root):
    return master(naco(), data_root)


def download(client, product):
    return client.get(reverse("monitor:product_download", args=[product.pk]))


def record(product, path):
    Product.objects.filter(pk=product.pk).update(path=str(path))
    product.refresh_from_db()
    return product


def body(response):
    return b"".join(response.streaming_content) if response.streaming else response.content


def test_the_recorded_file_serves_with_its_name_and_type(viewer_client, product):
    response = download(viewer_client, product)
    assert response.status_code == 200
    assert body(response) == Path(product.path).read_bytes()
    assert response["Content-Type"] == "application/fits"
    assert response["Content-Disposition"] == f'attachment; filename="{product.name}"'
    assert response["X-Content-Type-Options"] == "nosniff"


def test_a_png_plot_serves_as_an_image(viewer_client, product, data_root):
    plot = data_root / "plt" / "2009-06-15" / "dark.png"
    plot.parent.mkdir(parents=True)
    plot.write_bytes(b"\x89PNG\r\n\x1a\nnot really")
    Product.objects.filter(pk=product.pk).update(path=str(plot), name="dark.png")
    response = download(viewer_client, product)
    assert response.status_code == 200
    assert response["Content-Type"] == "image/png"


def test_a_relative_escape_is_refused(viewer_client, product, outside, data_root):
    relative = os.path.relpath(outside, data_root)
    assert relative.startswith("..")
    response = download(viewer_client, record(product, relative))
    assert response.status_code == 404
    assert SECRET not in response.content
    assert product.name in response.content.decode()
    assert "outside the data root" in response.content.decode()


def test_a_dotdot_path_through_the_data_root_is_refused(viewer_client, product, outside,
                                                        data_root):  # fmt: skip
    sneaky = f"{data_root}/cal/../../outside/passwd"
    response = download(viewer_client, record(product, sneaky))
    assert response.status_code == 404
    assert SECRET not in response.content


def test_an_absolute_path_outside_is_refused(viewer_client, product):
    response = download(viewer_client, record(product, "/etc/passwd"))
    assert response.status_code == 404
    text = response.content.decode()
    assert "root:" not in text
    assert "/etc" not in text  # no server path outside the data root is shown
    assert "outside the data root" in text


def test_a_symlink_inside_pointing_outside_is_refused(viewer_client, product, outside,
                                                      data_root):  # fmt: skip
    link = data_root / "cal" / "2009-06-15" / "NA_MDRK_link.fits"
    link.symlink_to(outside)
    response = download(viewer_client, record(product, link))
    assert response.status_code == 404
    assert SECRET not in response.content


def test_a_symlinked_directory_pointing_outside_is_refused(viewer_client, product, outside,
                                                           data_root):  # fmt: skip
    (data_root / "sci").symlink_to(outside.parent)
    response = download(viewer_client, record(product, data_root / "sci" / "passwd"))
    assert response.status_code == 404
    assert SECRET not in response.content


def test_a_symlink_inside_pointing_inside_serves(viewer_client, product, data_root):
    link = data_root / "sci" / "alias.fits"
    link.parent.mkdir()
    link.symlink_to(product.path)
    response = download(viewer_client, record(product, link))
    assert response.status_code == 200
    assert body(response) == Path(product.path).read_bytes()


def test_a_file_in_the_archive_root_serves(viewer_client, product, tmp_path, settings):
    settings.PHOENIX_ARCHIVE_ROOT = tmp_path / "archive"
    archived = tmp_path / "archive" / "NACO" / "2009-06-15" / "ADP.2024-01-01T00:00:00.001.fits"
    archived.parent.mkdir(parents=True)
    archived.write_bytes(b"SIMPLE  =                    T")
    response = download(viewer_client, record(product, archived))
    assert response.status_code == 200
    assert body(response) == archived.read_bytes()


def test_a_directory_is_refused(viewer_client, product, data_root):
    response = download(viewer_client, record(product, data_root / "cal"))
    assert response.status_code == 404
    assert "not a regular file" in response.content.decode()
    assert str(data_root) not in response.content.decode()


def test_a_missing_file_is_named_relative_to_the_data_root(viewer_client, product, data_root):
    Path(product.path).unlink()
    response = download(viewer_client, product)
    assert response.status_code == 404
    text = response.content.decode()
    assert f"cal/2009-06-15/{product.name} is missing" in text
    assert str(data_root) not in text


def test_an_empty_path_is_refused(viewer_client, product):
    response = download(viewer_client, record(product, ""))
    assert response.status_code == 404
    assert "no file is recorded" in response.content.decode()


def test_a_nul_byte_is_refused(data_root):
    """PostgreSQL cannot even store one; a path from elsewhere still must not truncate."""
    with pytest.raises(files.Unavailable, match="not a valid file name"):
        files.resolve("/etc/passwd\x00.fits")


@pytest.mark.parametrize("unicode_path", [
    "\u2025/\u2025/outside/passwd",  # two-dot leader, not "..": a missing name inside the root
    "\uff0e\uff0e/\uff0e\uff0e/outside/passwd",  # fullwidth full stops
    "cal/..\u2215..\u2215outside\u2215passwd",  # division slash, not "/"
])
def test_unicode_lookalikes_stay_inside(viewer_client, product, outside, unicode_path):
    response = download(viewer_client, record(product, unicode_path))
    assert response.status_code == 404
    assert SECRET not in response.content


@pytest.mark.parametrize("url", [
    "/products/..%2F..%2Fetc%2Fpasswd/download/",
    "/products/%2e%2e/%2e%2e/etc/passwd/download/",
    "/products/%252e%252e%252f%252e%252e%252fetc%252fpasswd/download/",
    "/products/1/download/..%2F..%2F..%2Fetc%2Fpasswd",
    "/products/1%2F..%2F..%2Fetc%2Fpasswd/download/",
    "/products/%D9%A1/download/",  # ARABIC-INDIC DIGIT ONE is not an id
    "/products/%EF%BC%91/download/",  # FULLWIDTH DIGIT ONE neither
])
def test_encoded_traversal_in_the_url_serves_nothing(viewer_client, product, url):
    response = viewer_client.get(url)
    assert response.status_code == 404
    assert b"root:" not in body(response)


def test_an_unknown_product_is_404(viewer_client, product):
    assert viewer_client.get(reverse("monitor:product_download", args=[product.pk + 1000])
                             ).status_code == 404  # fmt: skip


def test_downloads_need_a_login(client, product):
    response = download(client, product)
    assert response.status_code == 302
    assert "login" in response["Location"]
