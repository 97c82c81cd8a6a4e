"""moveProducts + renameProducts: certified products go to their final place under DFOS names.

Master calibrations go to cal/<date> (COMPLETE_MODE: cal/NEW/<date>, where the replacement
workflow ingests them from), science products to sci/<date> (DEEP: sci/<run_ID>), the AB file
to log/<date>; QC plots are in plt/<date> already and logs in log/<date>. Each product is renamed
by the instance's naming scheme (processing/naming.py).

A move is atomic per file and resumable per AB: its plan is written to a journal
(log/.moving/<AB>.json) before the first file moves and removed after the database knows the
new places. A crash in between leaves every file whole in its old or its new place; the next
move (or `resume_moves`) finishes the journal. Products of other ABs in the same directory are
never touched (UPDATE_YN=YES collects the products of single-AB calls in sci/<run_ID>); a
product of the same AB and name (a re-processing) is replaced, its predecessor superseded.
"""

import json
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from django.db import transaction
from django.utils import timezone

from processing import audit, layout
from processing.abs.files import format_ab
from processing.choices import (
    AbCategory,
    CertificationDecision,
    IngestStatus,
    ProductKind,
    ProductState,
)
from processing.files import atomic_write, md5_of, move_file
from processing.models import AbAttempt, AssociationBlock, IngestRequest, Product
from processing.naming import NamingError, product_name

#: states of earlier products a move over the same file supersedes
REPLACEABLE = (ProductState.CERTIFIED, ProductState.MOVED, ProductState.INGESTED)


class MoveError(Exception):
    """A product cannot be moved; the message names it and the reason."""


@dataclass
class MoveResult:
    moved: list = field(default_factory=list)  # AB names
    products: list = field(default_factory=list)  # Product rows now in their final place
    refused: list = field(default_factory=list)  # (AB name, why)
    resumed: list = field(default_factory=list)  # AB names of interrupted moves finished
    superseded: int = 0

    def as_dict(self):
        return {"moved": self.moved, "products": len(self.products), "resumed": self.resumed,
                "superseded": self.superseded,
                "refused": [{"ab": n, "why": w} for n, w in self.refused]}  # fmt: skip


def journal_dir(root=None):
    return Path(root or layout.data_root()) / "log" / ".moving"


def final_dir(ab, product_kind, root=None):
    """Where a certified product of `ab` belongs."""
    root = Path(root or layout.data_root())
    if product_kind == ProductKind.MASTER:
        parent = root / "cal" / "NEW" if ab.instance.complete_mode else root / "cal"
        return parent / ab.pseudo_date
    return root / "sci" / ab.pseudo_date


def move(abs_, *, user=None, actor_name=None):
    """Move the certified products of `abs_` (ABs already moved are left alone)."""
    if user is not None and not user.has_perm("processing.move_products"):
        raise MoveError(f"{user.get_username()} may not move products (certifier role needed)")
    actor = audit.actor_name_of(user, actor_name)
    result = MoveResult()
    result.resumed = resume_moves()
    for ab in abs_:
        ab.refresh_from_db(fields=["certification", "moved_at", "status"])
        if ab.moved_at:
            continue
        if ab.certification != CertificationDecision.CERTIFIED:
            why = "rejected" if ab.certification else "not certified yet"
            result.refused.append((ab.ab_name, why))
            continue
        try:
            journal = _plan(ab)
        except (MoveError, NamingError, OSError) as exc:
            result.refused.append((ab.ab_name, str(exc)))
            continue
        done = _execute(journal)
        result.moved.append(ab.ab_name)
        result.products += done["products"]
        result.superseded += done["superseded"]
    if result.moved or result.refused or result.resumed:
        audit.record(
            "move", user=user, actor_name=actor, object_type="processing.AssociationBlock",
            object_repr=f"{len(result.moved)} ABs",
            result=audit.AuditEvent.Result.PARTIAL if result.refused else audit.AuditEvent.Result.OK,
            message=f"{len(result.moved)} ABs moved ({len(result.products)} products), "
                    f"{len(result.refused)} not moved, {len(result.resumed)} interrupted moves finished",
            detail=result.as_dict(),
        )  # fmt: skip
    return result


def resume_moves():
    """Finish every move a crash interrupted; return the AB names."""
    finished = []
    directory = journal_dir()
    if not directory.is_dir():
        return finished
    for path in sorted(directory.glob("*.json")):
        journal = json.loads(path.read_text())
        journal["path"] = str(path)
        _execute(journal)
        finished.append(journal["ab_name"])
    return finished


def _plan(ab):
    """The journal of one AB's move: every file with its source, target and checksum."""
    products = list(ab.products.filter(state=ProductState.CERTIFIED).order_by("pro_catg", "name"))
    if not products:
        raise MoveError(f"{ab.ab_name} has no certified products")
    entries, seen = [], {}
    for product in products:
        source = Path(product.path)
        if product.kind == ProductKind.PLOT:  # written into plt/<date>/<AB> by the QC job
            entries.append(_entry(product, source, source))
            continue
        index = seen.get(product.pro_catg, 0)
        seen[product.pro_catg] = index + 1
        name = product_name(ab.instance, ab, product.pro_catg, product.keywords, index)
        entries.append(_entry(product, source, final_dir(ab, product.kind) / name))
    targets = [e["target"] for e in entries]
    if len(set(targets)) != len(targets):
        raise MoveError(f"{ab.ab_name}: two products would get the same name; check [naming]")
    for entry in entries:
        if not Path(entry["source"]).is_file():
            raise MoveError(f"{ab.ab_name}: product file {entry['source']} does not exist")
    journal = {"ab": ab.pk, "ab_name": ab.ab_name, "entries": entries,
               "ab_file": str(layout.data_root() / "log" / ab.pseudo_date / f"{ab.ab_name}.ab"),
               "ab_text": format_ab(ab)}  # fmt: skip
    path = journal_dir() / f"{ab.ab_name}.json"
    atomic_write(path, json.dumps(journal).encode())
    journal["path"] = str(path)
    return journal


def _entry(product, source, target):
    return {"product": product.pk, "source": str(source), "target": str(target),
            "original_name": product.original_name or product.name}  # fmt: skip


def _execute(journal):
    """Carry out (or finish) a journal; idempotent, so a crash at any point can be resumed."""
    for entry in journal["entries"]:
        source, target = Path(entry["source"]), Path(entry["target"])
        if source != target and source.exists():
            move_file(source, target)
        elif not target.exists():
            raise MoveError(f"{journal['ab_name']}: {source.name} is neither at {source} "
                            f"nor at {target}")  # fmt: skip
    atomic_write(journal["ab_file"], journal["ab_text"].encode())
    for entry in journal["entries"]:  # of the files in their final place: what gets ingested
        entry["md5"], entry["size"] = md5_of(entry["target"]), Path(entry["target"]).stat().st_size
    now = timezone.now()
    superseded = 0
    with transaction.atomic():
        moved = []
        for entry in journal["entries"]:
            superseded += _supersede(entry, journal)
            Product.objects.filter(pk=entry["product"]).update(
                path=entry["target"], name=Path(entry["target"]).name,
                original_name=entry["original_name"], md5=entry["md5"], size=entry["size"],
                state=ProductState.MOVED, moved_at=now,
            )  # fmt: skip
            moved.append(entry["product"])
        AssociationBlock.objects.filter(pk=journal["ab"]).update(moved_at=now)
    Path(journal["path"]).unlink(missing_ok=True)
    return {"products": list(Product.objects.filter(pk__in=moved)), "superseded": superseded}


def _supersede(entry, journal):
    """The product of an earlier processing that this file replaces, if any: superseded, and
    its ingestion requests not yet executed refused (its file is gone)."""
    earlier = Product.objects.filter(path=entry["target"], state__in=REPLACEABLE).exclude(
        pk=entry["product"])
    ids = list(earlier.values_list("pk", flat=True))
    if not ids:
        return 0
    Product.objects.filter(pk__in=ids).update(state=ProductState.SUPERSEDED)
    IngestRequest.objects.filter(product_id__in=ids, status__in=(IngestStatus.HELD, IngestStatus.OPEN)).update(
        status=IngestStatus.REFUSED,
        error=f"superseded: a re-processing of {journal['ab_name']} was moved over this file",
    )  # fmt: skip
    return len(ids)


def clean_work_areas(abs_):
    """After -M (unless -n): the work directories of the moved ABs (failed attempts' ones
    too) and the product directories of their attempts that no product uses any more.
    Returns the directories removed."""
    removed = []
    root = layout.data_root()
    for ab in AssociationBlock.objects.filter(pk__in=[ab.pk for ab in abs_], moved_at__isnull=False):
        used = {Path(p).parent for p in Product.objects.filter(ab=ab).values_list("path", flat=True)}
        places = [root / "work" / ab.ab_name,
                  root / "prod" / ab.pseudo_date / ab.ab_name,
                  root / "cal" / "VCAL" / ab.ab_name]  # fmt: skip
        for place in places:
            if place.is_dir() and not any(u == place or place in u.parents for u in used):
                shutil.rmtree(place, ignore_errors=True)
                removed.append(str(place))
        AbAttempt.objects.filter(ab=ab).update(work_dir_removed=True)
    return removed
