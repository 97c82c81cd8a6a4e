from datetime import date

from django.urls import reverse


def test_login_required(client, db):
    response = client.get(reverse("monitor:pool"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_lists_instances_and_the_data_pool(viewer_client, pool):
    response = viewer_client.get(reverse("monitor:pool"))
    assert response.status_code == 200
    html = response.content.decode()
    assert "NACO" in html and "IDP" in html
    assert reverse("monitor:nights", args=["NACO"]) in html
    assert response.context["pool"] == [
        {"instrument": "NACO", "frames": 5, "nights": 2,
         "first_night": date(2009, 6, 15), "last_night": date(2009, 6, 16)}
    ]


def test_empty_pool_says_what_to_do(viewer_client):
    html = viewer_client.get(reverse("monitor:pool")).content.decode()
    assert "import_headers" in html and "load_instances" in html
