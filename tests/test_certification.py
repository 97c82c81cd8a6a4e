"""Certification (issue 5 point 1): verdicts on real processed ABs, by hand and automatic."""

import pytest
from django.contrib.auth.models import Group
from django.core.management import CommandError, call_command

from processing.certification import CertificationError, auto_certify, certify, reject
from processing.choices import AbCategory, AbStatus, CalibrationKind, ProductState
from processing.models import AssociationBlock, AuditEvent, Certification
from processing.queue import actions
from tests.processed import MONTH, drive, process_month, simulate


@pytest.fixture(scope="module")
def simulated(tmp_path_factory):
    return simulate(tmp_path_factory.mktemp("naco_raw"))


@pytest.fixture
def naco(db, simulated, data_root, tmp_path):
    return process_month(simulated, tmp_path)


@pytest.fixture
def certifier(django_user_model):
    user = django_user_model.objects.create_user("carla", password="a-long-password-1")
    user.groups.add(Group.objects.get(name="certifier"))
    return user


def processed(category=None):
    abs_ = AssociationBlock.objects.filter(status=AbStatus.SUCCESS).order_by("ab_name")
    return list(abs_.filter(category=category) if category else abs_)


def test_certifying_marks_the_products_and_keeps_the_history(naco, certifier):
    ab = processed(AbCategory.SCIENCE)[0]
    result = certify([ab], comment="looks fine", user=certifier)
    assert result.done == [ab.ab_name]
    ab.refresh_from_db()
    assert ab.certification == "certified" and ab.certified_at
    assert set(ab.products.values_list("state", flat=True)) == {ProductState.CERTIFIED}
    row = Certification.objects.get(ab=ab)
    assert (row.decision, row.user, row.comment, row.automatic) == ("certified", certifier, "looks fine", False)
    assert row.attempt == 1
    event = AuditEvent.objects.get(action="certify")
    assert event.actor == certifier and event.object_id == str(ab.pk)
    # the same verdict again changes nothing
    again = certify([ab], user=certifier)
    assert again.unchanged == [ab.ab_name] and Certification.objects.filter(ab=ab).count() == 1


def test_a_user_without_the_certifier_role_is_refused(naco, django_user_model):
    operator = django_user_model.objects.create_user("otto", password="a-long-password-1")
    operator.groups.add(Group.objects.get(name="operator"))
    ab = processed()[0]
    with pytest.raises(CertificationError, match="otto may not certify"):
        certify([ab], user=operator)
    ab.refresh_from_db()
    assert ab.certification == "" and not Certification.objects.exists()


def test_rejection_needs_a_comment_and_a_rejected_ab_can_be_rerun(naco, certifier):
    ab = processed(AbCategory.SCIENCE)[0]
    with pytest.raises(CertificationError, match="needs a comment"):
        reject([ab], comment="  ", user=certifier)
    reject([ab], comment="satellite trail", user=certifier)
    ab.refresh_from_db()
    assert ab.certification == "rejected"
    assert set(ab.products.values_list("state", flat=True)) == {ProductState.REJECTED}
    with pytest.raises(actions.ActionError, match="operator role needed"):
        actions.rerun_with_dependants(ab, user=certifier)  # re-running is the operator's
    certifier.groups.add(Group.objects.get(name="operator"))
    certifier = type(certifier).objects.get(pk=certifier.pk)  # permissions are cached per object
    batch = actions.rerun_with_dependants(ab, user=certifier)
    drive()
    ab.refresh_from_db()
    assert ab.batch_id == batch.pk and ab.status == AbStatus.SUCCESS and ab.attempts == 2
    # the new products wait for a new verdict; the rejection stays in the history
    assert ab.certification == ""
    assert set(ab.products.values_list("state", flat=True)) == {ProductState.VIRTUAL}
    assert list(Certification.objects.filter(ab=ab).values_list("decision", "attempt")) == [("rejected", 1)]


def test_an_ab_whose_qc_has_not_run_or_that_failed_is_not_certified(naco, certifier):
    ab = processed()[0]
    AssociationBlock.objects.filter(pk=ab.pk).update(qc_status="queued")
    failed = processed()[1]
    AssociationBlock.objects.filter(pk=failed.pk).update(status=AbStatus.FAILED)
    result = certify([ab, failed], user=certifier)
    assert dict(result.refused) == {
        ab.ab_name: "its QC job is queued; wait for the QC scores",
        failed.ab_name: "it is failed, not processed successfully",
    }
    assert AuditEvent.objects.get(action="certify").result == "refused"


def test_certifying_a_calib_ab_turns_its_virtual_calibrations_real(naco, certifier):
    users = AssociationBlock.objects.filter(calibrations__source_ab__isnull=False).distinct()
    assert users.exists() and all(ab.virtual for ab in users)
    sources = processed(AbCategory.CALIB)
    certify(sources, user=certifier)
    for ab in users:
        ab.refresh_from_db()
        assert not ab.virtual, ab.ab_name
        for cal in ab.calibrations.filter(source_ab__isnull=False):
            assert cal.kind == CalibrationKind.MASTER and cal.product.ab_id == cal.source_ab_id
            assert cal.product.pro_catg == cal.pro_catg
    # rejecting one source again makes its users virtual again
    source = sources[0]
    AssociationBlock.objects.filter(pk=source.pk).update(certification="")
    reject([source], comment="bad", user=certifier)
    for ab in AssociationBlock.objects.filter(calibrations__source_ab=source).distinct():
        assert ab.virtual and ab.calibrations.filter(source_ab=source, kind="virtual").exists()


def test_auto_certification_takes_only_the_abs_whose_qc_proposed_it(naco):
    abs_ = processed()
    proposed = [ab for ab in abs_ if ab.auto_certify_proposed]
    assert proposed, "the simulated night's QC passes on at least one AB"
    outlier = next((ab for ab in abs_ if not ab.auto_certify_proposed), None)
    result = auto_certify(abs_)
    assert sorted(result.done) == sorted(ab.ab_name for ab in proposed)
    assert all(row.automatic and row.actor_name == "auto-certification"
               for row in Certification.objects.all())  # fmt: skip
    if outlier is not None:
        outlier.refresh_from_db()
        assert outlier.certification == ""
    # an instance that does not enable it certifies nothing
    Certification.objects.all().delete()
    AssociationBlock.objects.update(certification="")
    naco.config["qc"]["auto_certify"] = False
    naco.save(update_fields=["config"])
    assert auto_certify(processed()).done == []


def test_the_certify_abs_command(naco):
    science = processed(AbCategory.SCIENCE)[0]
    call_command("certify_abs", "--instance", "NACO", "-d", str(science.night), "-a",
                 science.ab_name, "--reject", "--comment", "wrong target", stdout=open("/dev/null", "w"))
    science.refresh_from_db()
    assert science.certification == "rejected"
    assert AuditEvent.objects.get(action="reject").actor_name.startswith("cli:")
    with pytest.raises(CommandError, match="needs a comment"):
        call_command("certify_abs", "--instance", "NACO", "-m", "2009-06", "--reject")
    with pytest.raises(CommandError, match="no AB NOPE"):
        call_command("certify_abs", "--instance", "NACO", "-m", "2009-06", "-a", "NOPE", "--certify")
    call_command("certify_abs", "--instance", "NACO", "-m", MONTH.value, "--certify",
                 stdout=open("/dev/null", "w"))
    assert set(AssociationBlock.objects.filter(status=AbStatus.SUCCESS)
               .values_list("certification", flat=True)) == {"certified", "rejected"}  # fmt: skip
