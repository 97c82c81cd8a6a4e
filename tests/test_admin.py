"""The admin shows the data pool read-only: frames come from import_headers, not from forms."""

from datetime import date

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from processing.models import CalSelectorPeriod, Instance, RawFrame


@pytest.fixture
def admin_client(client, django_user_model):
    admin = django_user_model.objects.create_superuser("admin", password="a-long-password-1")
    client.force_login(admin)
    return client


def test_frame_changelist_and_read_only_page(admin_client, pool):
    assert admin_client.get(reverse("admin:processing_rawframe_changelist")).status_code == 200
    frame = RawFrame.objects.first()
    page = admin_client.get(reverse("admin:processing_rawframe_change", args=[frame.pk]))
    assert page.status_code == 200
    html = page.content.decode()
    assert "HIERARCH ESO DPR CATG" in html  # the stored header, shown as text
    assert 'name="arcfile"' not in html  # no editable field
    assert admin_client.get(reverse("admin:processing_rawframe_add")).status_code == 403


def test_instances_are_read_only_but_periods_can_be_added(admin_client, pool):
    naco = Instance.objects.get(name="NACO")
    html = admin_client.get(reverse("admin:processing_instance_change", args=[naco.pk])).content
    assert b'name="mode"' not in html
    assert b"calselector_periods-TOTAL_FORMS" in html


@pytest.mark.django_db
def test_overlapping_calselector_periods_are_refused(pool):
    naco = Instance.objects.get(name="NACO")
    CalSelectorPeriod.objects.create(instance=naco, start=date(2009, 1, 1), end=date(2009, 6, 30),
                                     mode="raw2raw")
    overlapping = CalSelectorPeriod(instance=naco, start=date(2009, 6, 1), end=date(2009, 12, 31),
                                    mode="raw2master")
    with pytest.raises(ValidationError, match="Overlaps the period 2009-01-01…2009-06-30"):
        overlapping.full_clean()
    backwards = CalSelectorPeriod(instance=naco, start=date(2010, 6, 1), end=date(2010, 1, 1),
                                  mode="raw2raw")
    with pytest.raises(ValidationError, match="lies before the start"):
        backwards.full_clean()


def test_a_period_set_in_the_admin_is_stamped_and_audited(admin_client, pool):
    from processing.models import AuditEvent

    naco = Instance.objects.get(name="NACO")
    url = reverse("admin:processing_instance_change", args=[naco.pk])
    data = {
        "calselector_periods-TOTAL_FORMS": "1", "calselector_periods-INITIAL_FORMS": "0",
        "calselector_periods-MIN_NUM_FORMS": "0", "calselector_periods-MAX_NUM_FORMS": "1000",
        "calselector_periods-0-start": "2009-01-01", "calselector_periods-0-end": "2009-12-31",
        "calselector_periods-0-mode": "raw2raw",
        "calselector_periods-0-reason": "old masters hidden, new ones not yet ingested",
        "calselector_periods-0-instance": str(naco.pk),
    }  # fmt: skip
    response = admin_client.post(url, data)
    assert response.status_code == 302, response.content.decode()[:2000]
    period = CalSelectorPeriod.objects.get()
    assert period.created_by.username == "admin" and period.source == "operator"
    event = AuditEvent.objects.get(action="set_calselector_period")
    assert event.actor_name == "admin" and event.detail["mode"] == "raw2raw"
    assert naco.calselector_mode_on(date(2009, 6, 15)) == "raw2raw"
