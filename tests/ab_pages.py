"""Shared by the AB page tests: a processed NACO night kept for a module, and cheap AB rows."""

import json
from datetime import date, datetime, timezone

from django.db import transaction
from django.test import override_settings

from processing.choices import AbCategory, AbStatus
from processing.models import (
    AbAttempt,
    AbCalibration,
    AbInput,
    AssociationBlock,
    Product,
    QcParameter,
    RawFrame,
)
from tests.processed import process_month, simulate

NIGHT = date(2009, 6, 15)


def processed_night(django_db_blocker, tmp_path_factory, name):
    """Generator for a module fixture: the processed, QC'd night, rolled back at the end."""
    root = tmp_path_factory.mktemp(name)
    simulated = simulate(root / "simulated")
    with django_db_blocker.unblock(), override_settings(PHOENIX_DATA_ROOT=root / "data"):
        (root / "data").mkdir()
        with transaction.atomic():
            instance = process_month(simulated, root)
            yield {"instance": instance, "root": root / "data"}
            transaction.set_rollback(True)


def processed(raw_type):
    return AssociationBlock.objects.filter(raw_type=raw_type, status=AbStatus.SUCCESS).order_by("ab_name")


def make_ab(instance, name, *, inputs=2, calibrations=2, products=2, parameters=2, mjd=54998.1,
            status=AbStatus.SUCCESS, **fields):
    """An AB with `inputs` raw frames, calibrations, products, QC parameters — rows only."""
    ab = AssociationBlock.objects.create(
        instance=instance, ab_name=name, batch_label=f"CALIB_{NIGHT}", category=AbCategory.CALIB,
        night=NIGHT, raw_type="DARK", action="DARK", recipe="naco_img_dark", mjd_obs=mjd,
        mjd_obs_mod=mjd, prod_root_name=name, status=status, **fields,
    )  # fmt: skip
    for i in range(inputs):
        frame = RawFrame.objects.create(
            arcfile=f"{name}.RAW{i:03d}.fits", instrument="NACO", night=NIGHT, mjd_obs=mjd + i / 1e4,
            header=b"", header_digest="0" * 40, dpr_catg="CALIB", dpr_type="DARK",
            keywords={"DPR.TYPE": "DARK"},
        )  # fmt: skip
        AbInput.objects.create(ab=ab, frame=frame, tag="DARK", position=i)
    for i in range(products):
        Product.objects.create(instance=instance, ab=ab, name=f"{name}_{i}.fits",
                               path=f"/nonexistent/{name}_{i}.fits", pro_catg=f"CATG_{i}",
                               kind="master", size=1000 + i)  # fmt: skip
    for i in range(calibrations):
        AbCalibration.objects.create(ab=ab, tag=f"TAG_{i}", kind="static", name=f"static_{i}.fits",
                                     pro_catg=f"STATIC_{i}", delta_t=-0.25 * i, level=i % 4,
                                     position=i)  # fmt: skip
    for i in range(parameters):
        QcParameter.objects.create(ab=ab, name=f"QC.TEST.P{i}", value=float(i), unit="ADU",
                                   source="header", low=0.0, high=10.0, score=0, night=NIGHT,
                                   mjd_obs=mjd)  # fmt: skip
    return ab


def make_attempt(ab, log_path, *, number=1, status="success"):
    now = datetime(2026, 1, 1, tzinfo=timezone.utc)
    return AbAttempt.objects.create(
        ab=ab, number=number, token=f"t{number}", status=status, engine="python", host="muc08",
        worker="phoenix:1", pid=4242, started_at=now, heartbeat_at=now, work_dir="/tmp/none",
        log_path=str(log_path),
    )  # fmt: skip


def figures(response):
    """The plotly QC trend figures a page embeds."""
    html = response.content.decode()
    start = html.index('id="qc-trend-figures"')
    body = html[html.index(">", start) + 1: html.index("</script>", start)]
    return json.loads(body)
