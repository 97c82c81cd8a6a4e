"""Instance files: valid ones load (idempotently), invalid ones fail naming file, key, reason."""

import shutil
from datetime import date
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from processing.instance_config import InstanceConfigError, load_instance, parse_config
from processing.models import AuditEvent, CalSelectorPeriod, Instance

INSTANCES = Path(__file__).resolve().parent.parent / "processing" / "instances"


@pytest.fixture
def instances_dir(tmp_path):
    """A copy of the shipped instance files that a test may edit."""
    target = tmp_path / "instances"
    shutil.copytree(INSTANCES, target)
    return target


def edit(directory, old, new):
    path = directory / "NACO" / "config.toml"
    text = path.read_text()
    assert old in text, f"{old!r} not in config.toml"
    path.write_text(text.replace(old, new, 1))
    return path


def load(directory, *names):
    out = StringIO()
    call_command("load_instances", *names, "--dir", str(directory), stdout=out, stderr=StringIO())
    return out.getvalue()


@pytest.mark.django_db
class TestLoad:
    def test_shipped_naco_instance(self):
        assert "NACO: created" in load(INSTANCES, "NACO")
        naco = Instance.objects.get(name="NACO")
        assert (naco.instrument, naco.instrument_code, naco.mode) == ("NACO", "NA", "IDP")
        assert naco.instrume_values == ["NAOS+CONICA"]
        assert naco.complete_mode and naco.enable_updates and not naco.update_yn
        assert naco.monitor["sci_max"] == 20
        assert naco.rules_text.startswith("//") and len(naco.rules_hash) == 64
        assert AuditEvent.objects.filter(action="load_instance", object_repr="NACO").exists()

    def test_loading_again_changes_nothing(self):
        load(INSTANCES)
        before = Instance.objects.get(name="NACO").loaded_at
        audited = AuditEvent.objects.filter(action="load_instance").count()
        assert audited == Instance.objects.count() >= 2  # NACO and NACO_DEEP
        assert "NACO: unchanged" in load(INSTANCES)
        assert Instance.objects.get(name="NACO").loaded_at == before
        assert AuditEvent.objects.filter(action="load_instance").count() == audited

    def test_edited_file_updates(self, instances_dir):
        load(instances_dir)
        edit(instances_dir, "complete_mode = true", "complete_mode = false")
        assert "NACO: updated" in load(instances_dir)
        assert not Instance.objects.get(name="NACO").complete_mode

    def test_calselector_periods_from_the_file(self, instances_dir):
        edit(instances_dir, "# [[calselector.period]]\n# start = 2009-01-01\n# end = 2009-12-31\n"
             "# mode = \"raw2raw\"", "[[calselector.period]]\nstart = 2009-01-01\nend = 2009-12-31\n"
             "mode = \"raw2master\"")
        load(instances_dir)
        naco = Instance.objects.get(name="NACO")
        assert naco.calselector_mode_on(date(2009, 6, 15)) == "raw2master"
        assert naco.calselector_mode_on(date(2010, 6, 15)) == "raw2raw"
        period = CalSelectorPeriod.objects.get()
        assert (period.source, period.start) == ("config", date(2009, 1, 1))

    def test_operator_periods_survive_a_reload(self, instances_dir):
        load(instances_dir)
        naco = Instance.objects.get(name="NACO")
        CalSelectorPeriod.objects.create(instance=naco, start=date(2011, 1, 1),
                                         end=date(2011, 3, 31), mode="raw2raw")
        edit(instances_dir, "update_yn = false", "update_yn = true")
        load(instances_dir)
        assert CalSelectorPeriod.objects.filter(source="operator").count() == 1


@pytest.mark.parametrize(
    "old, new, key, reason",
    [
        ('mode = "IDP"', 'mode = "FAST"', "instance.mode", "'FAST' is not one of IDP, MCALIB, DEEP"),
        ("complete_mode = true", 'complete_mode = "YES"', "instance.complete_mode",
         "'YES' is not true or false"),
        ("complete_mode = true", "complete_mod = true", "instance.complete_mod", "unknown key"),
        ('engine = "auto"', 'engine = "midas"', "processing.engine", "'midas' is not one of"),
        ('instrument_code = "NA"', 'instrument_code = "nac"', "instance.instrument_code",
         "not 2 upper-case letters"),
        ('name = "NACO"', 'name = "NACO_DEEP"', "instance.name", "differs from the directory name"),
        ('rules = "rules.oca"', 'rules = "missing.oca"', "processing.rules", "does not exist"),
        ('rules = "rules.oca"', 'rules = "../../../etc/passwd"', "processing.rules",
         "inside the instance directory"),
        ("night_offset_hours = 0", "night_offset_hours = 30", "instance.night_offset_hours",
         "outside -12…12"),
        ("sci_max = 20", "sci_max = 0", "monitor.sci_max", "must be > 0"),
        ('keyword_prefixes = []', 'keyword_prefixes = ["tel"]', "data_pool.keyword_prefixes",
         "not an ESO keyword category"),
        ('[ab_source]\nmode = "create"', '[ab_source]\nmode = "import"', "ab_source.import_dir",
         "required when ab_source.mode is 'import'"),
        ("[calselector]", "[calselectr]", "calselectr", "unknown table"),
        ("# [[calselector.period]]\n# start = 2009-01-01\n# end = 2009-12-31",
         "[[calselector.period]]\nstart = 2009-12-31\nend = 2009-01-01\nmode = \"raw2raw\"\n#",
         "calselector.period[1]", "start 2009-12-31 lies after end 2009-01-01"),
    ],
)  # fmt: skip
def test_invalid_files_name_file_key_and_reason(instances_dir, old, new, key, reason):
    path = edit(instances_dir, old, new)
    with pytest.raises(InstanceConfigError) as caught:
        parse_config(path)
    message = str(caught.value)
    assert message.startswith(f"{path}: {key}: "), message
    assert reason in message


def test_toml_syntax_error_names_line_and_column(instances_dir):
    path = edit(instances_dir, 'mode = "IDP"', 'mode = "IDP')
    with pytest.raises(InstanceConfigError, match=r"not valid TOML: .*line \d+, column \d+"):
        parse_config(path)


def test_missing_table(instances_dir):
    path = instances_dir / "NACO" / "config.toml"
    text = path.read_text()
    path.write_text(text[: text.index("[processing]")] + text[text.index("[calselector]") :])
    with pytest.raises(InstanceConfigError, match=r"\[processing\]: missing \(required table\)"):
        parse_config(path)


@pytest.mark.django_db
def test_command_reports_invalid_files_and_fails(instances_dir):
    edit(instances_dir, 'mode = "IDP"', 'mode = "FAST"')
    err = StringIO()
    with pytest.raises(CommandError, match="1 instance file"):
        call_command("load_instances", "--dir", str(instances_dir), stdout=StringIO(), stderr=err)
    assert "instance.mode" in err.getvalue()
    assert not Instance.objects.filter(name="NACO").exists()
    assert Instance.objects.filter(name="NACO_DEEP").exists()  # the valid file still loads


@pytest.mark.django_db
def test_command_unknown_instance_name():
    with pytest.raises(CommandError, match="no instance directory for UVES; found: NACO"):
        call_command("load_instances", "UVES", stdout=StringIO())


@pytest.mark.django_db
def test_check_only_validates(instances_dir):
    out = StringIO()
    call_command("load_instances", "--dir", str(instances_dir), "--check", stdout=out)
    assert "NACO: valid" in out.getvalue()
    assert not Instance.objects.exists()


@pytest.mark.django_db
def test_rules_that_do_not_parse_stop_the_load_with_file_line_and_column(instances_dir):
    rules = instances_dir / "NACO" / "rules.oca"
    rules.write_text(rules.read_text() + "\nselect execute(DARK) from inputFiles where\n")
    with pytest.raises(InstanceConfigError, match=r"config.toml: processing.rules: .*rules.oca:\d+:\d+: "
                                                  r"unexpected end of file"):
        load_instance(instances_dir / "NACO")


@pytest.mark.django_db
def test_editing_an_included_rules_file_is_a_change(instances_dir):
    directory = instances_dir / "NACO"
    rules = directory / "rules.oca"
    (directory / "macros.h").write_text('#define IS_DARK DPR.TYPE == "DARK"\n')
    rules.write_text('#include "macros.h"\n' + rules.read_text())
    load(instances_dir)
    before = Instance.objects.get(name="NACO").rules_hash
    (directory / "macros.h").write_text('#define IS_DARK DPR.TYPE == "DARK,DETCHECK"\n')
    assert "NACO: updated" in load(instances_dir)
    assert Instance.objects.get(name="NACO").rules_hash != before
