from datetime import date

from django.urls import reverse


def test_one_row_per_night_with_counts(viewer_client, pool, django_assert_max_num_queries):
    with django_assert_max_num_queries(6):
        response = viewer_client.get(reverse("monitor:nights", args=["NACO"]))
    assert response.status_code == 200
    rows = {row["night"]: row for row in response.context["page"]}
    assert rows[date(2009, 6, 15)]["frames"] == 3 and rows[date(2009, 6, 15)]["calib"] == 3
    assert rows[date(2009, 6, 16)]["science"] == 2 and rows[date(2009, 6, 16)]["runs"] == 1
    assert reverse("monitor:night", args=["NACO", "2009-06-16"]) in response.content.decode()


def test_unknown_instrument_is_404(viewer_client, pool):
    assert viewer_client.get(reverse("monitor:nights", args=["UVES"])).status_code == 404


def test_hostile_instrument_names_do_not_match(viewer_client, pool):
    for url in ["/pool/../etc/passwd/", "/pool/NACO%2F..%2F/", "/pool/naco/", "/pool/<script>/"]:
        assert viewer_client.get(url).status_code == 404
