"""The pages, one module per page (or family of partials): pool (raw data pool), overview
(phoenixMonitor: instance and month pages), ab_monitor (one date or run), ab_detail, products
(product page, previews, downloads), launch and batches, queues, audit."""
