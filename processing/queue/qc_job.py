"""processQC as its own task: claimed like an AB (queued → running), so a second delivery or
a second worker does nothing, and QC of many ABs runs in parallel."""

import logging

from django.db import transaction
from django_q.tasks import async_task

from processing.choices import QcStatus
from processing.models import AssociationBlock
from processing.queue.schedule import TASK_OPTIONS

log = logging.getLogger(__name__)

PROCESS_QC_TASK = "processing.tasks.process_qc"


def enqueue_qc(ab_id):
    async_task(PROCESS_QC_TASK, ab_id, **TASK_OPTIONS)


def process_qc(ab_id):
    """Run the QC job of AB `ab_id` if it is queued for one; return what happened."""
    if not AssociationBlock.objects.filter(pk=ab_id, qc_status=QcStatus.QUEUED).update(
        qc_status=QcStatus.RUNNING
    ):
        return f"AB {ab_id}: no QC job queued (done already, or taken by another delivery)"
    ab = AssociationBlock.objects.select_related("instance").get(pk=ab_id)
    try:
        from processing.qc import run_qc

        result = run_qc(ab)
    except Exception as exc:
        log.exception("QC of %s", ab.ab_name)
        AssociationBlock.objects.filter(pk=ab_id, qc_status=QcStatus.RUNNING).update(
            qc_status=QcStatus.FAILED
        )
        _append_to_log(ab, f"[phoenix] QC job failed: {type(exc).__name__}: {exc}\n")
        return f"{ab.ab_name}: QC failed: {exc}"
    with transaction.atomic():
        AssociationBlock.objects.filter(pk=ab_id, qc_status=QcStatus.RUNNING).update(
            qc_status=QcStatus.DONE
        )
    for warning in getattr(result, "warnings", []) or []:
        _append_to_log(ab, f"[phoenix] QC: {warning}\n")
    return f"{ab.ab_name}: QC done, score {ab.qc_score if result is None else result.score}"


def _append_to_log(ab, text):
    if ab.log_path:
        try:
            with open(ab.log_path, "a") as handle:
                handle.write(text)
        except OSError:
            pass
