"""Importing a national referential from a CSV or XLSX file: one engine, one spec per referential.

The DGOS and the platform administrator load facts the rules depend on and that no establishment types in — the
results of an earlier programme (`indicators.prior_results`), the RELIMS software vendors
(`funding.eligibility.vendors_import`) — with the experience of the bulk indicator entry:

- `engine.read_lines` reads the file with the bulk entry's reader (`indicators.bulk.parsing.read_rows`: CSV `;` or
  `,`, UTF-8 or Latin-1, or XLSX; size, emptiness and line-count limits) into text lines keyed by column;
- `engine.plan_import` checks every line (the spec's pure `check`, formulas, duplicates) and says what it would
  create, update or leave unchanged — writing nothing, in a fixed number of queries whatever the number of lines;
- `engine.apply_import` writes a valid plan all or nothing in one transaction (one `INSERT` for the new rows, one
  `INSERT … ON CONFLICT DO UPDATE` for the changed ones) with one audit record per change;
- `pages` and `api` are the upload page (template, dry run, confirmation) and the `POST …/import/` endpoint.

A spec (`engine.ReferentialSpec`) says what a referential's file holds: its columns, how a line becomes the values of
one row (pure), how rows are looked up, and the key that makes a re-import idempotent. Rows absent from a file are
left as they are: an import adds and corrects, it never deletes.
"""
