"""Import of the results of an earlier programme (Hôpital numérique for HOP'EN, §5.3.1 note 3: « l'export des
indicateurs HN de l'oSIS faisant foi ») by the DGOS or the platform administrator.

- `spec` — the file (`finess;programme;result;domain;achieved;achieved_on;amount;source`) and the pure check of a
  line into the values of one `PriorProgrammeResult`; the engine (`indicators.referential_import`) reads, plans (dry
  run) and applies it all or nothing, audited, idempotent on re-import;
- `views` — the upload page and the `POST /api/v1/prior-results/import/` endpoint.
"""
