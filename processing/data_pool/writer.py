"""Write frames in batches: new ARCFILEs are created, changed headers update their row and
leave a HeaderChange, unchanged ones are left alone. Safe when several imports run at once."""

import logging

from django.db import IntegrityError, transaction
from django.db.models import Max, Min
from django.utils import timezone

from processing.conventions import parse_run_id
from processing.headers import decompress_header, oca_name, parse_value, split_card
from processing.models import HeaderChange, ObsRun, RawFrame

logger = logging.getLogger(__name__)

BATCH_SIZE = 500

#: The fields a changed header rewrites.
DATA_FIELDS = [
    "instrument", "origfile", "night", "mjd_obs", "date_obs", "exptime", "object",
    "dpr_catg", "dpr_type", "dpr_tech", "prog_id", "run_id", "obs_id", "obs_name", "tpl_id",
    "tpl_start", "keywords", "header", "header_digest", "warnings",
]  # fmt: skip


class BatchWriter:
    """Collects frame fields and writes them a batch at a time, in one transaction each."""

    def __init__(self):
        self.pending = {}
        self.counts = {"imported": 0, "updated": 0, "unchanged": 0}
        self.run_ids = set()
        self.written = set()  # sources of the frames in committed batches

    def add(self, fields, source):
        if fields["arcfile"] in self.pending:
            self.flush()  # the same frame twice: write the first one first
        self.pending[fields["arcfile"]] = (fields, source)
        if len(self.pending) >= BATCH_SIZE:
            self.flush()

    def flush(self):
        if not self.pending:
            return
        for attempt in range(3):
            try:
                with transaction.atomic():
                    imported, updated = self._write(self.pending)
                break
            except IntegrityError:
                # Another import created some of these ARCFILEs since we looked: look again.
                if attempt == 2:
                    raise
                logger.info("concurrent import created some frames of this batch; retrying")
        self.counts["imported"] += imported
        self.counts["updated"] += updated
        self.counts["unchanged"] += len(self.pending) - imported - updated
        self.written.update(source for _, source in self.pending.values())
        self.pending = {}

    def _write(self, pending):
        existing = {
            row["arcfile"]: row
            for row in RawFrame.objects.filter(arcfile__in=list(pending)).values(
                "id", "arcfile", "header_digest", "header_revision", "path", "header_path"
            )
        }
        now = timezone.now()
        new, changed, relocated = [], [], []
        for arcfile, (fields, _source) in pending.items():
            row = existing.get(arcfile)
            if row is None:
                new.append(RawFrame(**fields))
                continue
            path = fields["path"] or row["path"]
            header_path = fields["header_path"] or row["header_path"]
            if row["header_digest"] != fields["header_digest"]:
                changed.append((row, fields, path, header_path))
            elif (path, header_path) != (row["path"], row["header_path"]):
                relocated.append(
                    RawFrame(id=row["id"], path=path, header_path=header_path, updated_at=now)
                )
        RawFrame.objects.bulk_create(new)
        if changed:
            self._update_changed(changed, pending, now)
        if relocated:
            RawFrame.objects.bulk_update(relocated, ["path", "header_path", "updated_at"])
        run_ids = {fields["run_id"] for fields, _ in pending.values() if fields["run_id"]}
        register_runs(run_ids - self.run_ids)
        self.run_ids |= run_ids
        return len(new), len(changed)

    def _update_changed(self, changed, pending, now):
        old_headers = dict(
            RawFrame.objects.filter(id__in=[row["id"] for row, *_ in changed]).values_list(
                "id", "header"
            )
        )
        frames, changes = [], []
        for row, fields, path, header_path in changed:
            revision = row["header_revision"] + 1
            frame = RawFrame(id=row["id"], path=path, header_path=header_path,
                             header_revision=revision, updated_at=now)  # fmt: skip
            for name in DATA_FIELDS:
                setattr(frame, name, fields[name])
            frames.append(frame)
            changes.append(
                HeaderChange(
                    frame_id=row["id"],
                    revision=revision,
                    changed=changed_cards(old_headers[row["id"]], fields["header"]),
                    previous_header=old_headers[row["id"]],
                    previous_digest=row["header_digest"],
                    source=pending[fields["arcfile"]][1],
                )
            )
        RawFrame.objects.bulk_update(
            frames, [*DATA_FIELDS, "path", "header_path", "header_revision", "updated_at"]
        )
        HeaderChange.objects.bulk_create(changes)


def _card_values(header_blob):
    """{OCA name: value} of every card with a value (all categories), to say what changed."""
    values = {}
    for card in decompress_header(header_blob).split("\n"):
        keyword, value_text, _ = split_card(card)
        if value_text is not None:
            values[oca_name(keyword)] = parse_value(value_text)[0]
    return values


def changed_cards(old_blob, new_blob):
    """{keyword: [old, new]} for every card whose value differs; None stands for absent."""
    old, new = _card_values(old_blob), _card_values(new_blob)
    return {
        key: [old.get(key), new.get(key)]
        for key in sorted(old.keys() | new.keys())
        if old.get(key) != new.get(key)
    }


def register_runs(run_ids):
    runs = []
    for run_id in sorted(run_ids):
        parsed = parse_run_id(run_id)
        runs.append(
            ObsRun(
                run_id=run_id,
                programme_id=parsed.programme_id,
                period=parsed.period,
                programme_type=parsed.programme_type or "",
                category=parsed.category,
            )
        )
    ObsRun.objects.bulk_create(runs, ignore_conflicts=True)


def update_run_nights(run_ids):
    """First and last night of each run, from its frames (after an import touched them)."""
    if not run_ids:
        return
    spans = (
        RawFrame.objects.filter(run_id__in=run_ids)
        .values("run_id")
        .annotate(first=Min("night"), last=Max("night"))
    )
    runs = {run.run_id: run for run in ObsRun.objects.filter(run_id__in=run_ids)}
    for span in spans:
        run = runs.get(span["run_id"])
        if run is not None:
            run.first_night, run.last_night = span["first"], span["last"]
    ObsRun.objects.bulk_update(runs.values(), ["first_night", "last_night"])
