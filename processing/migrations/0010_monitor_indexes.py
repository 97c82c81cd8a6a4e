"""Indexes of the phoenixMonitor (issue 6): with 1 000 000 ABs, the instance page's per-night
counts took 0.8 s and the home page's totals 0.55 s on SQLite, reading every AB row; these
indexes hold every column those grouped queries read (docs/BENCHMARKS.md, Dashboard)."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("processing", "0009_date_comment"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="associationblock",
            index=models.Index(fields=["instance", "night", "status", "completeness"],
                               name="ab_monitor_night"),
        ),
        migrations.AddIndex(
            model_name="associationblock",
            index=models.Index(fields=["instance", "status", "certification", "moved_at"],
                               name="ab_monitor_totals"),
        ),
    ]
