from django.urls import reverse


def test_frames_of_the_night_in_time_order(viewer_client, pool):
    response = viewer_client.get(reverse("monitor:night", args=["NACO", "2009-06-15"]))
    assert response.status_code == 200
    arcfiles = [frame.arcfile for frame in response.context["page"]]
    assert arcfiles == sorted(arcfiles) and len(arcfiles) == 3
    assert "NACO.2009-06-15T23:00:00.000.fits" in response.content.decode()


def test_night_without_frames_says_so(viewer_client, pool):
    response = viewer_client.get(reverse("monitor:night", args=["NACO", "2010-01-01"]))
    assert response.status_code == 200
    assert "No frames of NACO" in response.content.decode()


def test_impossible_dates_are_404(viewer_client, pool):
    for night in ["2009-02-30", "2009-13-01", "20090615", "2009-06-15x"]:
        assert viewer_client.get(f"/pool/NACO/{night}/").status_code == 404


def test_bad_page_number_shows_a_page(viewer_client, pool):
    url = reverse("monitor:night", args=["NACO", "2009-06-15"])
    for page in ["abc", "-1", "999999"]:
        assert viewer_client.get(url, {"page": page}).status_code == 200
