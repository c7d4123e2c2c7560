"""render: what a person reads (units, tables, charts, the HTML report), shared by every command."""
