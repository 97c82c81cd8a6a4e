"""Hiding archived files: a night range and kinds, or ADP ids, with a reason; never static
calibrations; previews write nothing but an audit event; unhiding."""

import json
import re
from datetime import date
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from processing.archive import ArchiveAccessError, HideError, hide_records, unhide_records
from processing.choices import ArchiveStatus
from processing.models import ArchiveRecord, AuditEvent, HideRequest
from tests.archive_factories import naco


@pytest.fixture
def instance(db, data_root):
    return naco()


def record(instance, origfile, kind, night, version=1, status=ArchiveStatus.CURRENT):
    """An archive record as ingestion leaves it (hiding reads records only)."""
    count = ArchiveRecord.objects.count()
    return ArchiveRecord.objects.create(
        instance=instance, adp_id=f"ADP.2026-01-01T00:00:00.{count:03d}", origfile=origfile,
        kind=kind, night=night, path=f"/archive/{origfile}", md5=f"{count:032d}", size=1,
        version=version, status=status,
    )  # fmt: skip


@pytest.fixture
def archive(instance):
    return {
        "june_master": record(instance, "NA_MDRK_a.fits", "master", date(2009, 6, 10)),
        "june_static": record(instance, "NA_STAT_a.fits", "static", date(2009, 6, 12)),
        "june_idp": record(instance, "NA_SIMG_a.fits", "idp", date(2009, 6, 15)),
        "june_ancillary": record(instance, "NA_ANCI_a.fits", "ancillary", date(2009, 6, 15)),
        "july_master": record(instance, "NA_MDRK_b.fits", "master", date(2009, 7, 1)),
    }


def statuses():
    return dict(ArchiveRecord.objects.values_list("origfile", "status"))


def test_hiding_masters_of_a_range_leaves_static_calibrations_current(instance, archive):
    result = hide_records(instance, start="2009-06-01", end="2009-06-30", kinds=["master"],
                          reason="replaced by the 2024 reprocessing", actor_name="test")  # fmt: skip
    assert [r.origfile for r in result.hidden] == ["NA_MDRK_a.fits"]
    assert [r.origfile for r in result.excluded] == ["NA_STAT_a.fits"]
    assert statuses() == {"NA_MDRK_a.fits": "hidden", "NA_STAT_a.fits": "current",
                          "NA_SIMG_a.fits": "current", "NA_ANCI_a.fits": "current",
                          "NA_MDRK_b.fits": "current"}  # fmt: skip
    request = HideRequest.objects.get()
    assert (request.start, request.end, request.kinds) == (date(2009, 6, 1), date(2009, 6, 30),
                                                           ["master"])  # fmt: skip
    assert request.excluded == [archive["june_static"].adp_id] and request.hidden_count == 1
    hidden = ArchiveRecord.objects.get(origfile="NA_MDRK_a.fits")
    assert (hidden.hide_request, hidden.status_reason) == (request, "replaced by the 2024 reprocessing")
    event = AuditEvent.objects.get(action="hide")
    assert archive["june_static"].adp_id in event.detail["excluded"]


def test_static_calibrations_asked_for_are_excluded_not_hidden(instance, archive):
    result = hide_records(instance, start=date(2009, 6, 1), end=date(2009, 6, 30),
                          kinds=["master", "static"], reason="bulk", actor_name="test")  # fmt: skip
    assert [r.origfile for r in result.excluded] == ["NA_STAT_a.fits"]
    assert statuses()["NA_STAT_a.fits"] == "current"
    with pytest.raises(HideError, match="static calibrations are never hidden"):
        hide_records(instance, start="2009-06-01", end="2009-06-30", kinds=["static"],
                     reason="bulk", actor_name="test")  # fmt: skip


def test_by_default_idps_and_ancillaries_are_hidden(instance, archive):
    hide_records(instance, start="2009-06-01", end="2009-06-30", reason="bad WCS", actor_name="test")
    assert statuses() == {"NA_MDRK_a.fits": "current", "NA_STAT_a.fits": "current",
                          "NA_SIMG_a.fits": "hidden", "NA_ANCI_a.fits": "hidden",
                          "NA_MDRK_b.fits": "current"}  # fmt: skip


def test_a_dry_run_shows_what_would_be_hidden_and_writes_only_an_audit_event(instance, archive):
    before = AuditEvent.objects.count()
    result = hide_records(instance, start="2009-06-01", end="2009-07-31", kinds=["master"],
                          reason="preview", dry_run=True, actor_name="test")  # fmt: skip
    assert sorted(r.origfile for r in result.hidden) == ["NA_MDRK_a.fits", "NA_MDRK_b.fits"]
    assert [r.origfile for r in result.excluded] == ["NA_STAT_a.fits"]
    assert set(statuses().values()) == {"current"} and not HideRequest.objects.exists()
    assert AuditEvent.objects.count() == before + 1
    event = AuditEvent.objects.first()
    assert event.action == "hide_preview" and "would hide 2" in event.message


def test_explicit_adp_ids(instance, archive):
    ids = [archive["june_idp"].adp_id, archive["june_static"].adp_id, "ADP.1999-01-01T00:00:00.000"]
    result = hide_records(instance, adp_ids=ids, reason="wrong object", actor_name="test")
    assert [r.adp_id for r in result.hidden] == [ids[0]]
    assert [r.adp_id for r in result.excluded] == [ids[1]]
    assert result.skipped == [(ids[2], f"no archive record {ids[2]} on NACO")]
    again = hide_records(instance, adp_ids=ids[:1], reason="twice", actor_name="test")
    assert again.hidden == [] and again.skipped == [(ids[0], "hidden, not current")]


@pytest.mark.parametrize("arguments, message", [
    ({"start": "2009-06-01", "end": "2009-06-30", "reason": "  "}, "a reason is required"),
    ({"start": "2009-06-31", "end": "2009-06-30", "reason": "x"}, "--from: '2009-06-31' is not a date"),
    ({"start": "2009-07-01", "end": "2009-06-30", "reason": "x"}, "ends (2009-06-30) before it starts"),
    ({"start": "2009-06-01", "reason": "x"}, "give the first and the last night"),
    ({"start": "2009-06-01", "end": "2009-06-30", "reason": "x", "kinds": ["plots"]}, "unknown 'plots'"),
])  # fmt: skip
def test_bad_requests_are_refused_with_the_reason(instance, archive, arguments, message):
    with pytest.raises(HideError, match=re.escape(message)):
        hide_records(instance, actor_name="test", **arguments)
    assert not HideRequest.objects.exists()


def test_unhide_makes_records_current_unless_a_newer_version_is(instance, archive):
    hide_records(instance, start="2009-06-01", end="2009-06-30", reason="oops", actor_name="test")
    idp, ancillary = archive["june_idp"], archive["june_ancillary"]
    record(instance, ancillary.origfile, "ancillary", ancillary.night, version=2)  # newer, current
    result = unhide_records(instance, adp_ids=[idp.adp_id, ancillary.adp_id], reason="was fine",
                            actor_name="test")  # fmt: skip
    assert [r.adp_id for r in result.unhidden] == [idp.adp_id]
    assert result.skipped[0][0] == ancillary.adp_id and "is current" in result.skipped[0][1]
    idp.refresh_from_db()
    assert (idp.status, idp.hide_request, idp.status_reason) == ("current", None, "unhidden: was fine")
    assert AuditEvent.objects.filter(action="unhide").exists()


def test_the_command(instance, archive):
    out = StringIO()
    call_command("hide_products", "--instance", "NACO", "--from", "2009-06-01", "--to",
                 "2009-06-30", "--kind", "master", "--reason", "replaced", "--dry-run", stdout=out)  # fmt: skip
    text = out.getvalue()
    assert "would hide" in text and "NA_MDRK_a.fits" in text
    assert "excluded" in text and "NA_STAT_a.fits" in text and "static calibration" in text
    assert set(statuses().values()) == {"current"}

    out = StringIO()
    call_command("hide_products", "--instance", "NACO", "--from", "2009-06-01", "--to",
                 "2009-06-30", "--kind", "master", "--reason", "replaced", "--json",
                 stdout=out, stderr=StringIO())  # fmt: skip
    summary = json.loads(out.getvalue().strip().splitlines()[-1])
    assert summary["hidden"] == [archive["june_master"].adp_id]
    assert summary["excluded"] == [archive["june_static"].adp_id]
    assert statuses()["NA_MDRK_a.fits"] == "hidden"

    with pytest.raises(CommandError, match="a reason is required"):
        call_command("hide_products", "--instance", "NACO", "--from", "2009-06-01", "--to",
                     "2009-06-30", "--reason", " ", stdout=StringIO())  # fmt: skip
    with pytest.raises(CommandError, match="unknown instance 'NOPE'"):
        call_command("hide_products", "--instance", "NOPE", "--reason", "x", stdout=StringIO())


def test_only_the_certifier_role_hides(instance, archive, django_user_model):
    from django.contrib.auth.models import Group

    viewer = django_user_model.objects.create_user("vera", password="a-long-password-1")
    with pytest.raises(ArchiveAccessError, match="vera may not hide archived files"):
        hide_records(instance, start="2009-06-01", end="2009-06-30", reason="x", user=viewer)
    preview = hide_records(instance, start="2009-06-01", end="2009-06-30", reason="x",
                           user=viewer, dry_run=True)  # fmt: skip
    assert len(preview.hidden) == 2 and set(statuses().values()) == {"current"}
    certifier = django_user_model.objects.create_user("carl", password="a-long-password-1")
    certifier.groups.add(Group.objects.get(name="certifier"))
    result = hide_records(instance, start="2009-06-01", end="2009-06-30", reason="x", user=certifier)
    assert result.request.created_by == certifier and result.request.actor_name == "carl"
    assert AuditEvent.objects.filter(action="hide", actor=certifier).exists()
