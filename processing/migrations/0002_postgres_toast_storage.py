"""PostgreSQL storage tuning for the data pool (no-op on SQLite).

The stored headers are LZ4-compressed already: TOAST trying to compress them again with
pglz only costs CPU, so they are stored EXTERNAL (out of line, uncompressed). The keyword
JSON is compressed with LZ4 instead of pglz where the server supports it (PostgreSQL ≥ 14
built with lz4), which is several times cheaper per inserted frame.
"""

from django.db import migrations

EXTERNAL = [
    ("processing_rawframe", "header"),
    ("processing_headerchange", "previous_header"),
]
LZ4 = [("processing_rawframe", "keywords")]


def tune(apps, schema_editor):
    connection = schema_editor.connection
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        for table, column in EXTERNAL:
            cursor.execute(f'ALTER TABLE "{table}" ALTER COLUMN "{column}" SET STORAGE EXTERNAL')
        cursor.execute(
            "SELECT 1 FROM pg_settings WHERE name = 'default_toast_compression' "
            "AND 'lz4' = ANY(enumvals)"
        )
        if cursor.fetchone():
            for table, column in LZ4:
                cursor.execute(f'ALTER TABLE "{table}" ALTER COLUMN "{column}" SET COMPRESSION lz4')


def untune(apps, schema_editor):
    connection = schema_editor.connection
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        for table, column in EXTERNAL:
            cursor.execute(f'ALTER TABLE "{table}" ALTER COLUMN "{column}" SET STORAGE EXTENDED')


class Migration(migrations.Migration):
    dependencies = [("processing", "0001_initial")]
    operations = [migrations.RunPython(tune, untune)]
