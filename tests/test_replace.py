"""The master-calibration replacement after a COMPLETE_MODE reprocessing, end to end with
static calibrations present: preview, start (old masters hidden, raw2raw, new ones
released), ingestion, finish (raw2master) — refused while new masters wait."""

import json
from datetime import date
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from processing.archive import (
    ReplacementError,
    find_replacement,
    finish_replacement,
    ingest_requests,
    preview_replacement,
    queue_ingestion,
    start_replacement,
)
from processing.choices import ArchiveStatus, IngestStatus, ReplacementStep
from processing.models import (
    ArchiveRecord,
    AuditEvent,
    CalSelectorPeriod,
    HideRequest,
    IngestRequest,
    MasterReplacement,
)
from tests.archive_factories import master, naco

JUNE = (date(2009, 6, 1), date(2009, 6, 30))


@pytest.fixture
def archive(db, data_root):
    """NACO (COMPLETE_MODE, calSelector raw2raw by default) with old masters archived in June
    and July, a static calibration in June, and two new June masters held in cal/NEW."""
    instance = naco(complete_mode=True)
    old = [master(instance, data_root, date(2009, 6, d), value=d) for d in (5, 15, 25)]
    july = master(instance, data_root, date(2009, 7, 2), value=2.0)
    static = master(instance, data_root, date(2009, 6, 10), name="NA_STAT_bpm.fits", kind="static")
    queue_ingestion([*old, july, static], actor_name="test")
    ingest_requests(actor_name="test")
    new = [master(instance, data_root, date(2009, 6, d), value=100 + d, new=True) for d in (5, 15)]
    queue_ingestion(new, actor_name="-M", hold=True)
    return instance, old, july, static, new


def status_of(product):
    return ArchiveRecord.objects.get(product=product).status


def test_replacement_end_to_end_with_static_calibrations(archive):
    instance, old, july, static, new = archive
    assert ingest_requests(actor_name="test").entries == []  # held: not ingested on their own

    plan = preview_replacement(instance, *JUNE, actor_name="test")
    assert [r.product_id for r in plan.old_masters] == [p.pk for p in old]
    assert [r.product_id for r in plan.static] == [static.pk]
    assert [r.product_id for r in plan.new_masters] == [p.pk for p in new]
    assert plan.conflicts == [] and plan.problems() == []
    assert AuditEvent.objects.filter(action="replace_masters_preview").count() == 1
    assert not MasterReplacement.objects.exists() and not HideRequest.objects.exists()

    dry = start_replacement(instance, *JUNE, reason="2024 reprocessing", dry_run=True,
                            actor_name="test")  # fmt: skip
    assert dry.replacement is None and not CalSelectorPeriod.objects.exists()

    started = start_replacement(instance, *JUNE, reason="2024 reprocessing", actor_name="test")
    replacement = started.replacement
    assert replacement.step == ReplacementStep.INGESTING and started.released == 2
    assert [status_of(p) for p in old] == [ArchiveStatus.HIDDEN] * 3
    assert status_of(static) == ArchiveStatus.CURRENT and status_of(july) == ArchiveStatus.CURRENT
    assert replacement.hide_request.excluded == [ArchiveRecord.objects.get(product=static).adp_id]
    period = replacement.period
    assert (period.start, period.end, period.mode, period.source) == (*JUNE, "raw2raw", "operator")
    assert instance.calselector_mode_on(date(2009, 6, 15)) == "raw2raw"
    assert instance.calselector_mode_on(date(2009, 7, 15)) == "raw2raw"  # NACO's default
    assert set(IngestRequest.objects.filter(product__in=new).values_list("status", flat=True)) == {
        IngestStatus.OPEN}

    with pytest.raises(ReplacementError, match="overlaps the range"):
        start_replacement(instance, date(2009, 6, 20), date(2009, 7, 10), reason="again",
                          actor_name="test")  # fmt: skip

    with pytest.raises(ReplacementError, match=r"2 of 2 new master calibrations are not "
                                               r"ingested yet \(2 open\)"):  # fmt: skip
        finish_replacement(replacement, actor_name="test")
    replacement.refresh_from_db()
    assert replacement.step == ReplacementStep.INGESTING
    assert CalSelectorPeriod.objects.get().mode == "raw2raw"

    ingest_requests(IngestRequest.objects.filter(product=new[0]), actor_name="test")
    preview = finish_replacement(replacement, dry_run=True, actor_name="test")
    assert not preview.ready and "1 open" in preview.message

    ingest_requests(actor_name="test")
    finished = finish_replacement(find_replacement(instance, *JUNE), actor_name="test")
    assert finished.ready and finished.replacement.step == ReplacementStep.COMPLETE
    assert CalSelectorPeriod.objects.get().mode == "raw2master"
    assert instance.calselector_mode_on(date(2009, 6, 15)) == "raw2master"  # not the default
    assert [status_of(p) for p in new] == [ArchiveStatus.CURRENT] * 2
    assert [status_of(p) for p in old] == [ArchiveStatus.HIDDEN] * 3
    assert status_of(static) == ArchiveStatus.CURRENT
    with pytest.raises(ReplacementError, match="is complete: nothing to finish"):
        finish_replacement(replacement, actor_name="test")
    actions = set(AuditEvent.objects.values_list("action", flat=True))
    assert {"replace_masters_start", "replace_masters_finish", "hide"} <= actions


def test_start_refuses_without_new_masters_or_with_a_conflicting_period(archive):
    instance, *_ = archive
    with pytest.raises(ReplacementError, match="nothing would replace the old masters"):
        start_replacement(instance, date(2009, 8, 1), date(2009, 8, 31), reason="x",
                          actor_name="test")  # fmt: skip
    CalSelectorPeriod.objects.create(instance=instance, start=date(2009, 6, 20),
                                     end=date(2009, 6, 22), mode="raw2master")  # fmt: skip
    with pytest.raises(ReplacementError, match=r"2009-06-20…2009-06-22 \(raw2master"):
        start_replacement(instance, *JUNE, reason="x", actor_name="test")
    assert not MasterReplacement.objects.exists()
    assert set(ArchiveRecord.objects.values_list("status", flat=True)) == {ArchiveStatus.CURRENT}
    assert AuditEvent.objects.filter(action="replace_masters_start", result="refused").count() == 2
    with pytest.raises(ReplacementError, match="a reason is required"):
        start_replacement(instance, *JUNE, reason="", actor_name="test")


def test_the_command(archive):
    out = StringIO()
    call_command("replace_masters", "--instance", "NACO", "--from", "2009-06-01", "--to",
                 "2009-06-30", "--preview", stdout=out)  # fmt: skip
    text = out.getvalue()
    assert "old masters to hide: 3" in text and "new masters held for ingestion: 2" in text
    assert "NA_STAT_bpm.fits (stays current)" in text

    with pytest.raises(CommandError, match="a reason is required"):
        call_command("replace_masters", "--instance", "NACO", "--from", "2009-06-01", "--to",
                     "2009-06-30", "--start", stdout=StringIO())  # fmt: skip
    out = StringIO()
    call_command("replace_masters", "--instance", "NACO", "--from", "2009-06-01", "--to",
                 "2009-06-30", "--start", "--reason", "2024 reprocessing", "--json",
                 stdout=out, stderr=StringIO())  # fmt: skip
    summary = json.loads(out.getvalue().strip().splitlines()[-1])
    assert summary["step"] == "ingesting" and len(summary["hidden"]) == 3

    with pytest.raises(CommandError, match=r"not ingested yet \(2 open\)"):
        call_command("replace_masters", "--instance", "NACO", "--from", "2009-06-01", "--to",
                     "2009-06-30", "--finish", stdout=StringIO())  # fmt: skip
    with pytest.raises(SystemExit) as exit_:
        call_command("replace_masters", "--instance", "NACO", "--from", "2009-06-01", "--to",
                     "2009-06-30", "--finish", "--dry-run", stdout=StringIO())  # fmt: skip
    assert exit_.value.code == 1
    call_command("ingest_products", "--instance", "NACO", "-m", "2009-06", stdout=StringIO())
    out = StringIO()
    call_command("replace_masters", "--instance", "NACO", "--from", "2009-06-01", "--to",
                 "2009-06-30", "--finish", stdout=out)  # fmt: skip
    assert "switched to raw2master" in out.getvalue()
    with pytest.raises(CommandError, match="no replacement of the masters of NACO"):
        call_command("replace_masters", "--instance", "NACO", "--from", "2009-06-01", "--to",
                     "2009-06-30", "--finish", stdout=StringIO())  # fmt: skip
