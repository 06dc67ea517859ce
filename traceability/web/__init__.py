"""Server-rendered custody screens: dashboards, the batch page and the forms
that call the custody services. Views read through `reads` (scoped to the
caller's organisation) and write only through the services."""
