"""Archive records: ADP ids, versions, ENABLE_UPDATES.

A product is archived under its name (ORIGFILE). Archiving a file whose name is archived
already with the same content does nothing; with different content (a re-processing) it
becomes the next version and the current one turns obsolete — only if the instance has
ENABLE_UPDATES, otherwise the archive keeps what it has and says why. The ADP id is the UTC
time of ingestion to the millisecond; ids taken in the same millisecond move on by 1 ms, the
unique constraint on adp_id being the referee between processes.
"""

import threading
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from django.db import IntegrityError, transaction

from processing.archive import store
from processing.choices import ArchiveStatus
from processing.models import ArchiveRecord

MILLISECOND = timedelta(milliseconds=1)

_last = {"moment": None}  # the last ADP moment this process used: the next starts after it
_lock = threading.Lock()


@dataclass
class Decision:
    """What archiving a file under a name would do."""

    action: str  # "new" (a first or next version), "already" (same content archived), "refuse"
    version: int = 1
    current: ArchiveRecord | None = None  # the version the new one replaces
    record: ArchiveRecord | None = None  # "already": the record that has this content
    reason: str = ""  # "refuse": why


def decide(instance, origfile, md5, lock=False):
    """Versioning of `origfile` with content `md5` on `instance`, from its versions read in
    one query; `lock` (in a transaction) holds their rows until the transaction ends."""
    versions = ArchiveRecord.objects.filter(instance=instance, origfile=origfile)
    versions = list((versions.select_for_update() if lock else versions).order_by("-version"))
    same = next((r for r in versions if r.md5 == md5), None)
    if same is not None:
        return Decision("already", record=same, version=same.version)
    current = next((r for r in versions if r.status == ArchiveStatus.CURRENT), None)
    if current is not None and not instance.enable_updates:
        return Decision("refuse", current=current, reason=(
            f"{origfile} is archived already as {current.adp_id} (version {current.version}, "
            f"md5 {current.md5}) and this file differs (md5 {md5}); instance {instance.name} "
            f"has ENABLE_UPDATES=NO, so it may not replace it. To replace it, set "
            f"enable_updates = true in the instance's config.toml, run `manage.py "
            f"load_instances {instance.name}`, then `manage.py ingest_products --instance "
            f"{instance.name} --retry`; to keep the archived version, leave this request refused."
        ))  # fmt: skip
    latest = versions[0].version if versions else 0
    return Decision("new", version=latest + 1, current=current)


def archive(decision, staged, request, *, prodcatg):
    """Create the record of `decision` ("new") for the staged copy of `request`'s product and
    publish the file; the version it replaces turns obsolete. Call inside a transaction
    (with decide(lock=True))."""
    product, current = request.product, decision.current
    if current is not None:  # first: the partial unique constraint allows one current
        ArchiveRecord.objects.filter(pk=current.pk).update(
            status=ArchiveStatus.OBSOLETE,
            status_reason=f"replaced by version {decision.version}",
        )
    record = _create_with_adp_id(
        directory_of(request), instance=request.instance, product=product,
        origfile=product.name, prodcatg=prodcatg, pro_catg=product.pro_catg, kind=product.kind,
        ab_name=request.ab_name, night=product.night, mjd_obs=product.mjd_obs,
        md5=staged.md5, size=staged.size, version=decision.version,
    )  # fmt: skip
    if current is not None:
        ArchiveRecord.objects.filter(pk=current.pk).update(replaced_by=record)
    store.publish(staged, record.path)
    return record


def directory_of(request):
    """Where the archived files of a request go: its night, or its run (DEEP)."""
    return store.directory_for(request.instance.name, request.night, request.run_id)


def adp_id(moment):
    """ADP.<UTC date and time with milliseconds>, e.g. ADP.2016-06-01T14:07:30.134."""
    return f"ADP.{moment:%Y-%m-%dT%H:%M:%S}.{moment.microsecond // 1000:03d}"


def _next_moment(after=None):
    now = datetime.now(timezone.utc).replace(tzinfo=None)
    now = now.replace(microsecond=now.microsecond // 1000 * 1000)
    with _lock:
        last = _last["moment"]
        if after is not None and (last is None or after > last):
            last = after
        moment = last + MILLISECOND if last is not None and now <= last else now
        _last["moment"] = moment
    return moment


def _create_with_adp_id(directory, **fields):
    moment = _next_moment()
    while True:
        candidate = adp_id(moment)
        try:
            with transaction.atomic():
                return ArchiveRecord.objects.create(
                    adp_id=candidate, path=str(directory / store.file_name(candidate, fields["origfile"])),
                    **fields,
                )  # fmt: skip
        except IntegrityError:
            if not ArchiveRecord.objects.filter(adp_id=candidate).exists():
                raise  # another constraint: not an ADP id collision
            moment = _next_moment(after=moment)
