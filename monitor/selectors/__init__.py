"""Read queries of the pages, one module per page (no writes here): each returns what a page
shows in a number of SQL queries that does not grow with the rows shown."""
