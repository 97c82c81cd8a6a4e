"""The pages, in the order of the flow: phoenixMonitor → month → AB monitor (a date or run) →
AB → product; launching and following batches; queues; audit; the raw data pool."""

from django.urls import path, register_converter

from monitor import converters
from monitor.views import ab_detail, ab_monitor, audit, batches, launch, overview, pool, products, queues

register_converter(converters.NightConverter, "night")
register_converter(converters.InstrumentConverter, "instrument")
register_converter(converters.InstrumentConverter, "instance")
register_converter(converters.MonthConverter, "month")
register_converter(converters.PseudoDateConverter, "pseudo_date")

app_name = "monitor"
urlpatterns = [
    # phoenixMonitor (monitor/views/overview.py)
    path("", overview.home, name="home"),
    path("i/<instance:instance>/", overview.instance, name="instance"),
    path("i/<instance:instance>/grid/", overview.instance_grid, name="instance_grid"),
    path("i/<instance:instance>/<month:month>/", overview.month, name="month"),
    path("i/<instance:instance>/<month:month>/comment/", overview.comment, name="date_comment"),
    path("i/<instance:instance>/<month:month>/table/", overview.month_table, name="month_table"),
    path("i/<instance:instance>/runs/", overview.runs_table, name="runs_table"),
    path("i/<instance:instance>/comment/", overview.comment, name="run_comment"),
    # AB monitor of one date or run (monitor/views/ab_monitor.py)
    path("i/<instance:instance>/d/<pseudo_date:pseudo_date>/", ab_monitor.page, name="date"),
    path("i/<instance:instance>/d/<pseudo_date:pseudo_date>/table/", ab_monitor.table,
         name="date_table"),  # fmt: skip
    path("i/<instance:instance>/d/<pseudo_date:pseudo_date>/actions/", ab_monitor.bulk_action,
         name="date_actions"),  # fmt: skip
    # one AB (monitor/views/ab_detail.py)
    path("abs/<int:pk>/", ab_detail.page, name="ab"),
    path("abs/<int:pk>/status/", ab_detail.status, name="ab_status"),
    path("abs/<int:pk>/log/", ab_detail.log, name="ab_log"),
    path("abs/<int:pk>/log/tail/", ab_detail.log_tail, name="ab_log_tail"),
    path("abs/<int:pk>/file/", ab_detail.ab_file, name="ab_file"),
    path("abs/<int:pk>/<str:action>/", ab_detail.action, name="ab_action"),
    # products (monitor/views/products.py): page, header, preview, download
    path("products/<int:pk>/", products.page, name="product"),
    path("products/<int:pk>/preview.png", products.preview, name="product_preview"),
    path("products/<int:pk>/download/", products.download, name="product_download"),
    path("products/<int:pk>/validate/", products.validate, name="product_validate"),
    # launching batches and following them (monitor/views/launch.py, batches.py)
    path("launch/", launch.form, name="launch"),
    path("batches/", batches.index, name="batches"),
    path("batches/<int:pk>/", batches.page, name="batch"),
    path("batches/<int:pk>/progress/", batches.progress, name="batch_progress"),
    path("batches/<int:pk>/cancel/", batches.cancel, name="batch_cancel"),
    # queues and audit
    path("queues/", queues.page, name="queues"),
    path("queues/live/", queues.live, name="queues_live"),
    path("audit/", audit.page, name="audit"),
    # the raw data pool (monitor/views/pool.py)
    path("pool/", pool.home, name="pool"),
    path("pool/<instrument:instrument>/", pool.nights, name="nights"),
    path("pool/<instrument:instrument>/<night:night>/", pool.night, name="night"),
    path("frames/<int:pk>/", pool.frame, name="frame"),
]
