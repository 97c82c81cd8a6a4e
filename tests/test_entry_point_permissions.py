"""The entry points in processing/ refuse a person without the role, whoever calls them (the
pages check first; a second door must not open the same room). The command line (user None)
acts with the machine's access."""

import pytest

from processing import finishing, moving
from processing.abs.scope import Scope
from processing.archive.access import ArchiveAccessError
from processing.archive.queueing import queue_ingestion
from processing.models import AuditEvent, Batch
from processing.queue import actions
from tests.processed import load_instance


@pytest.fixture
def naco(db):
    return load_instance()


def test_operator_actions_refuse_a_viewer_and_a_certifier(naco, viewer, certifier):
    events = AuditEvent.objects.count()
    for user in (viewer, certifier):
        with pytest.raises(actions.ActionError, match=f"{user.username} may not launch batches"):
            actions.launch(naco, Scope.for_date("2009-06-15"), create=True, user=user)
        with pytest.raises(actions.ActionError, match="may not cancel processing"):
            actions.cancel([], user=user)
    assert not Batch.objects.exists() and AuditEvent.objects.count() == events


def test_an_operator_may_not_launch_the_m_step(naco, operator):
    with pytest.raises(actions.ActionError, match="certifier role needed"):
        actions.launch(naco, Scope.for_date("2009-06-15"), process=False, finish=True, user=operator)
    assert not Batch.objects.exists()


def test_certifier_actions_refuse_a_viewer_and_an_operator(naco, viewer, operator):
    events = AuditEvent.objects.count()
    for user in (viewer, operator):
        with pytest.raises(moving.MoveError, match=f"{user.username} may not move products"):
            moving.move([], user=user)
        with pytest.raises(ArchiveAccessError, match="may not queue products for ingestion"):
            queue_ingestion([], user=user)
        with pytest.raises(ArchiveAccessError, match="may not convert and queue"):
            finishing.convert_and_queue(naco, [], user=user)
    assert AuditEvent.objects.count() == events


def test_the_roles_pass(naco, operator, certifier):
    batch = actions.launch(naco, Scope.for_date("2009-06-15"), create=True, process=False,
                           user=operator).batch  # fmt: skip
    assert batch.actor_name == operator.username
    assert moving.move([], user=certifier).moved == []
    assert queue_ingestion([], user=certifier).created == 0
