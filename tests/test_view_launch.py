"""The launch form: prefill, per-field validation, the dry-run preview (nothing written),
conflicts, the launch itself, roles and CSRF."""

import os
from datetime import date

import pytest
from django.contrib.auth.models import Group
from django.core.management import call_command
from django.test import Client
from django.urls import reverse

from processing.abs.scope import Scope
from processing.choices import AbStatus
from processing.data_pool import import_headers
from processing.models import AssociationBlock, AuditEvent, Batch, Instance
from processing.queue import actions
from processing.simulation import simulate_nights
from tests.web import at_most_queries

URL = reverse("monitor:launch")


@pytest.fixture(scope="module")
def simulated(tmp_path_factory):
    out = tmp_path_factory.mktemp("naco_raw")
    simulate_nights(date(2009, 6, 15), 2, out, seed=1, broken=False)
    return out


@pytest.fixture
def naco(db, simulated, data_root):
    with open(os.devnull, "w") as quiet:
        call_command("load_instances", "NACO", "NACO_DEEP", stdout=quiet)
    assert not import_headers([simulated]).failed
    return Instance.objects.get(name="NACO")


def post(client, action="preview", **fields):
    data = {"instance": "NACO", "scope_kind": "date", "scope": "2009-06-15", "create": "on",
            "process": "on", "action": action}  # fmt: skip
    data.update(fields)
    return client.post(URL, {k: v for k, v in data.items() if v is not None})


def test_viewer_sees_the_form_disabled_and_cannot_preview_or_launch(viewer_client, naco):
    page = viewer_client.get(URL).content.decode()
    assert "<fieldset disabled>" in page and "operator role" in page
    for action in ("preview", "launch"):
        response = post(viewer_client, action)
        assert response.status_code == 403
        assert "viewer may not launch batches (operator role needed)" in response.content.decode()
    assert not Batch.objects.exists() and not AssociationBlock.objects.exists()


def test_the_query_string_prefills_the_form(operator_client, naco):
    page = operator_client.get(URL + "?instance=NACO&date=2009-06-15&mode=CALIB").content.decode()
    assert 'value="2009-06-15"' in page
    assert '<option value="NACO" selected>' in page
    assert '<option value="CALIB" selected>' in page
    assert 'value="date" required id="id_scope_kind_0" checked' in page
    month = operator_client.get(URL + "?instance=NACO&month=2009-06").content.decode()
    assert 'value="2009-06"' in month and 'value="month" required id="id_scope_kind_1" checked' in month


@pytest.mark.parametrize(("fields", "field", "message"), [
    ({"scope": "2009-02-30"}, "scope", "-d: &#x27;2009-02-30&#x27; is not a date of the form YYYY-MM-DD"),
    ({"scope_kind": "month", "scope": "2009-13"}, "scope", "-m: &#x27;2009-13&#x27; is not a month"),
    ({"scope_kind": "run", "scope": "094.B-0298(A)"}, "scope_kind", "run IDs are the scope of DEEP instances"),
    ({"instance": "NACO_DEEP", "scope_kind": "run", "scope": "94.B-298"}, "scope",
     "is not an ESO run ID of the form TP.C-NNNN(R)"),
    ({"instance": "NACO_DEEP", "scope": "2009-06-15"}, "scope_kind", "NACO_DEEP is a DEEP instance"),
    ({"instance": "NOPE"}, "instance", "Select a valid choice"),
    ({"create": None, "ab_name": "NACO.2099-01-01T00:00:00.000"}, "ab_name",
     "2009-06-15 has no AB named &#x27;NACO.2099-01-01T00:00:00.000&#x27;"),
    ({"create": None, "process": None}, None, "Choose at least one step: C, P or M."),
    ({"scope": "<script>alert(1)</script>"}, "scope", "&lt;script&gt;alert(1)&lt;/script&gt;"),
    ({"finish_last": "on"}, "finish_last", "only the last processed AB is a choice of M on a run ID"),
])  # fmt: skip
def test_bad_input_gives_the_form_back_with_the_message(operator_client, naco, fields, field,
                                                         message):
    response = post(operator_client, **fields)
    page = response.content.decode()
    assert response.status_code == 400
    assert message in page
    if field:
        assert f'id="error-{field}"' in page
    assert "<script>alert" not in page
    assert not Batch.objects.exists()


@pytest.fixture
def operating_certifier(client, operator):
    """An operator who also certifies: may launch with M."""
    operator.groups.add(*Group.objects.filter(name="certifier"))
    client.force_login(operator)
    return client


def test_m_without_p_on_a_scope_not_processed_is_refused(operating_certifier, naco):
    response = post(operating_certifier, create=None, process=None, finish="on")
    assert response.status_code == 400
    assert "M: 2009-06-15 has no processed AB waiting to be certified and moved" in response.content.decode()
    assert not Batch.objects.exists()


def test_m_needs_the_certifier_role(operator_client, naco):
    response = post(operator_client, finish="on")
    assert response.status_code == 400
    assert "olga may not certify and move products (certifier role needed)" in response.content.decode()


def test_preview_shows_dates_and_abs_per_raw_type_and_writes_nothing(operator_client, naco):
    with at_most_queries(40):  # createAB's dry run loads in a fixed number of queries
        response = post(operator_client, scope_kind="month", scope="2009-06")
    page = response.content.decode()
    assert response.status_code == 200
    assert "phoenix -m 2009-06 -C -P" in page
    assert "2009-06-15" in page and "2009-06-30" in page  # every date of the month is listed
    planned = actions.create_abs(naco, Scope.for_month("2009-06"), dry_run=True).plan.abs
    raw_types = {ab.raw_type for ab in planned}
    assert raw_types and all(f"<td>{t}</td>" in page for t in raw_types)
    assert f"createAB (dry run) would make {len(planned)} ABs" in page
    assert f"<strong>{len(planned) - sum(bool(ab.missing) for ab in planned)}</strong> ABs would be processed" in page
    assert 'name="action" value="launch"' in page  # the button that launches what was shown
    assert not Batch.objects.exists() and not AssociationBlock.objects.exists()


def test_preview_shows_running_batches_reruns_and_the_month_batch(operator_client, naco, operator):
    month = actions.launch(naco, Scope.for_month("2009-06"), create=True, process=True).batch
    failed = AssociationBlock.objects.filter(night=date(2009, 6, 16), status=AbStatus.QUEUED).first()
    AssociationBlock.objects.filter(pk=failed.pk).update(status=AbStatus.FAILED, batch=None)
    page = post(operator_client).content.decode()
    assert f"Batch #{month.pk}</a>" in page and "processes ABs of this scope" in page
    assert f"in batch #{month.pk}" in page  # its ABs are skipped, with the reason
    assert "lies in the month 2009-06, created as a COMPLETE_MODE batch" in page
    other = post(operator_client, scope="2009-06-16", create=None).content.decode()
    assert "Processed before, run again (1)" in other and failed.ab_name in other
    assert Batch.objects.count() == 1


def test_launch_goes_to_the_batch_page_and_is_audited(operator_client, naco, operator):
    response = post(operator_client, "launch")
    batch = Batch.objects.get()
    assert response.status_code == 302 and response.url == reverse("monitor:batch", args=[batch.pk])
    assert (batch.steps, batch.scope, batch.created_by, batch.actor_name) == ("CP", "2009-06-15",
                                                                            operator, "olga")
    assert AssociationBlock.objects.filter(batch=batch, status=AbStatus.QUEUED).exists()
    event = AuditEvent.objects.get(action="launch")
    assert event.actor == operator and event.object_id == str(batch.pk)
    page = operator_client.get(response.url).content.decode()
    assert f"Batch #{batch.pk} launched: phoenix -CP 2009-06-15" in page


def test_launch_with_m_keeps_it_in_the_steps(operating_certifier, naco):
    response = post(operating_certifier, "launch", finish="on")
    batch = Batch.objects.get()
    assert response.status_code == 302 and batch.steps == "CPM"


def test_launch_with_a_bad_ab_is_refused_before_a_batch_exists(operator_client, naco):
    response = post(operator_client, "launch", create=None, ab_name="NACO.nope")
    assert response.status_code == 400 and "has no AB named" in response.content.decode()
    assert not Batch.objects.exists()


def test_launch_needs_the_csrf_token(naco, operator):
    client = Client(enforce_csrf_checks=True)
    client.force_login(operator)
    response = client.post(URL, {"instance": "NACO", "scope_kind": "date", "scope": "2009-06-15",
                                 "create": "on", "action": "launch"})  # fmt: skip
    assert response.status_code == 403
    assert not Batch.objects.exists()


def test_the_form_uses_few_queries(operator_client, naco):
    with at_most_queries(8):
        assert operator_client.get(URL + "?instance=NACO&date=2009-06-15").status_code == 200
