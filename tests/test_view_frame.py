from django.urls import reverse

from processing.models import RawFrame


def test_frame_shows_keywords_and_the_full_header(viewer_client, pool):
    frame = RawFrame.objects.filter(dpr_catg="SCIENCE").first()
    response = viewer_client.get(reverse("monitor:frame", args=[frame.pk]))
    assert response.status_code == 200
    html = response.content.decode()
    assert frame.arcfile in html
    assert "DPR.TECH" in html and "IMAGE,JITTER" in html
    assert "HIERARCH ESO TEL AIRM START" in html  # the stored header, all categories
    assert "083.D-0123(A)" in html


def test_unknown_frame_is_404(viewer_client, pool):
    assert viewer_client.get(reverse("monitor:frame", args=[10**9])).status_code == 404
