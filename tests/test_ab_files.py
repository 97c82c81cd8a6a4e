"""AB files: the DFOS text form, export → import lossless, bad files named with the reason."""

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from processing.abs.create import create_abs
from processing.abs.files import AbFileError, export_abs, import_abs, parse_ab
from processing.abs.scope import Scope
from processing.choices import AbStatus
from processing.models import AbCalibration, AssociationBlock, Instance
from tests.test_create_abs import NIGHT, naco, simulated, snapshot  # noqa: F401 (fixtures)


def wipe_abs():
    AbCalibration.objects.all().delete()
    AssociationBlock.objects.all().delete()


def fields_of(instance):
    """Every AB field createAB sets, without database ids."""
    rows = {}
    for ab in AssociationBlock.objects.filter(instance=instance):
        rows[ab.ab_name] = (
            ab.batch_label, ab.category, ab.night, ab.run_id, ab.raw_type, ab.action, ab.recipe,
            ab.parameters, ab.drs_type, ab.ab_event, ab.completeness, ab.missing,
            ab.obs_prog_id, ab.obs_mode, ab.obs_id, ab.target, ab.mjd_obs, ab.mjd_obs_mod,
            ab.prod_root_name, ab.raw_match_key, ab.products_expected, ab.virtual,
            ab.quality_level, ab.status,
        )  # fmt: skip
    return rows


def without_ids(state):
    return {name: values[1:] for name, values in state.items()}


@pytest.fixture
def made(naco):  # noqa: F811
    naco.complete_mode = False  # every kind of AB: INCOMPLETE standard stars too
    naco.save()
    create_abs(naco, Scope.for_date(NIGHT))
    return naco


@pytest.mark.django_db
class TestRoundTrip:
    def test_export_then_import_is_lossless(self, made, tmp_path):
        before_state, before_fields = snapshot(made), fields_of(made)
        paths = export_abs(AssociationBlock.objects.filter(instance=made), tmp_path)
        assert len(paths) == len(before_state) and all(p.suffix == ".ab" for p in paths)
        wipe_abs()
        result = import_abs(made, [tmp_path])
        assert not result.failed and len(result.created) == len(before_state)
        assert without_ids(snapshot(made)) == without_ids(before_state)
        assert fields_of(made) == before_fields

    def test_the_text_form(self, made, tmp_path):
        ab = AssociationBlock.objects.filter(raw_type="SCIENCE_IMG").first()
        (path,) = export_abs(AssociationBlock.objects.filter(pk=ab.pk), tmp_path)
        lines = path.read_text().splitlines()
        qualifiers = {line.split()[0] for line in lines if line and not line.startswith("#")}
        assert {"AB_NAME", "BATCH_ID", "RAW_TYPE", "RECIPE", "DRS_TYPE", "AB_EVENT",
                "COMPLETENESS", "OBS_PROG_ID", "OBS_MODE", "OBS_ID", "MJD-OBS", "MJD-OBS_MOD",
                "PROD_ROOT_NAME", "RAW_MATCH_KEY", "RAWFILE", "MCALIB", "PRODUCT",
                "DEPENDS_ON"} <= qualifiers  # fmt: skip
        assert f"AB_NAME          {ab.ab_name}" in lines
        rawfiles = [line.split()[1] for line in lines if line.startswith("RAWFILE")]
        assert rawfiles == list(ab.inputs.order_by("position").values_list("frame__arcfile", flat=True))

    def test_import_keeps_processed_abs_and_updates_the_others(self, made, tmp_path):
        export_abs(AssociationBlock.objects.filter(instance=made), tmp_path)
        done = AssociationBlock.objects.filter(category="SCIENCE").first()
        done.status = AbStatus.SUCCESS
        done.save()
        result = import_abs(made, [tmp_path])
        assert result.kept_processed == [done.ab_name]
        assert len(result.updated) == AssociationBlock.objects.count() - 1 and not result.created
        assert AssociationBlock.objects.get(pk=done.pk).status == AbStatus.SUCCESS

    def test_commands(self, made, tmp_path):
        out = StringIO()
        call_command("export_abs", "--instance", "NACO", "-d", NIGHT, "--out", str(tmp_path),
                     stdout=out)
        count = AssociationBlock.objects.filter(night=NIGHT).count()
        assert f"{count} AB file(s) written" in out.getvalue()
        before = snapshot(made)
        out = StringIO()
        call_command("import_abs", "--instance", "NACO", str(tmp_path), stdout=out)
        assert f"{count} updated" in out.getvalue()
        assert snapshot(made) == before


@pytest.mark.django_db
class TestBadFiles:
    def test_unreadable_files_are_named_and_the_others_import(self, made, tmp_path):
        export_abs(AssociationBlock.objects.filter(raw_type="DARK"), tmp_path)
        wipe_abs()
        (tmp_path / "garbage.ab").write_text("AB_NAME x\nNOT_A_QUALIFIER 1\n")
        (tmp_path / "unknown_frame.ab").write_text(
            "AB_NAME NACO.2001-01-01T00:00:00.000_tpl\nDPR_CATG CALIB\nRAW_TYPE DARK\n"
            "MJD-OBS 51910.0\nRAWFILE NACO.2001-01-01T00:00:00.000.fits CAL_DARK\n")
        result = import_abs(made, [tmp_path, tmp_path / "absent.ab"])
        reasons = {r["path"].rsplit("/", 1)[-1]: r["reason"] for r in result.failed}
        assert "garbage.ab:2: NOT_A_QUALIFIER: unknown qualifier" in reasons["garbage.ab"]
        assert "raw files not in the data pool: NACO.2001-01-01T00:00:00.000.fits" in \
            reasons["unknown_frame.ab"]
        assert reasons["absent.ab"] == "no such file or directory"
        assert len(result.created) == AssociationBlock.objects.count() > 0

    @pytest.mark.parametrize("text, message", [
        ("AB_NAME a\nDPR_CATG CALIB\nRAW_TYPE DARK\n", "the AB has no MJD-OBS line"),
        ("AB_NAME a\nDPR_CATG TEST\nRAW_TYPE DARK\nMJD-OBS 1\nRAWFILE f t\n", "DPR_CATG 'TEST'"),
        ("AB_NAME a\nDPR_CATG CALIB\nRAW_TYPE DARK\nMJD-OBS 1\n", "lists no RAWFILE"),
        ("AB_NAME a\nMJD-OBS soon\n", "x.ab:2: MJD-OBS: cannot read 'soon'"),
        ("MCALIB A raw b c 0.1 0\n", "x.ab:1: MCALIB: expected tag, kind"),
        ("MCALIB A odd b c 0.1 0 -\n", "kind 'odd' is not one of"),
        ("RAW_MATCH_KEY DET.DIT\n", "expected KEY=value"),
    ])  # fmt: skip
    def test_parse_errors_name_file_line_and_reason(self, text, message):
        with pytest.raises(AbFileError, match=message.replace("(", r"\(")):
            parse_ab(text, "x.ab")

    def test_wrong_instrument_is_refused(self, made, tmp_path):
        (path,) = export_abs(AssociationBlock.objects.filter(raw_type="DARK")[:1], tmp_path)
        path.write_text(path.read_text().replace("INSTRUMENT       NACO", "INSTRUMENT       UVES"))
        result = import_abs(made, [path])
        assert result.failed[0]["reason"] == "INSTRUMENT UVES is not the instrument of NACO"

    def test_import_command_fails_when_a_file_fails(self, made, tmp_path):
        (tmp_path / "bad.ab").write_text("AB_NAME a\n")
        with pytest.raises(CommandError):
            call_command("import_abs", "--instance", "NACO", str(tmp_path), stdout=StringIO(),
                         stderr=StringIO())
        assert Instance.objects.filter(name="NACO").exists()
