"""The data pool: raw-frame headers in, one RawFrame per ARCFILE.

`import_headers` is the one entry point (the command and, later, the web UI call it).
Modules: files (what to read), records (a header → a frame's fields), writer (batches into
the database, idempotently), importer (the entry point, in parallel where it pays).
"""

from processing.data_pool.importer import ImportSummary, import_headers

__all__ = ["ImportSummary", "import_headers"]
