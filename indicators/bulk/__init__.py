"""Bulk entry of indicator values: a CSV or XLSX template of the indicators, filled in a spreadsheet and uploaded back.

§5.3.1 of the instruction measures the prerequisites "via la saisie par l'établissement / GHT de la valeur des
indicateurs" of annex 1, and the permission policy (`can_enter_indicator_values`) lets a GHT's support director
enter the members' values: an establishment downloads one row per indicator of the catalogue in force; the
director of a GHT's support establishment, one row per member × indicator.

The rules, each in one module:

- `parsing.bulk_parse` reads a whole file (CSV with `;` or `,`, with or without BOM, UTF-8 or Windows-1252; or XLSX)
  into raw text lines; only whole-file problems (too large, unreadable, missing columns) raise `ApplicationError`.
- `planning.bulk_plan` checks every line (establishment in the user's perimeter, indicator of the catalogue, dates
  and numbers, `value_input_errors`, duplicates, values already declared) and says what each valid line would do; it
  writes nothing, and costs a fixed number of queries whatever the number of lines.
- `applying.bulk_apply` writes a valid plan as drafts through `value_save_draft` (which asks the permission policy
  and audits each write) in ONE transaction: one failing line rolls every line back. Declaring stays with the
  director, on the indicator page.
- `template` writes the CSV or XLSX template, pre-filled with the latest values.

Callers import the module they need (`from indicators.bulk import parsing, planning`); nothing is re-exported here.
"""
