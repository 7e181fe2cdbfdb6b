-- SQL limit of the completeness page /indicateurs/completude/ (DGOS: every establishment, no filter, page 1):
-- the totals and the 25 rows of the first page, as one JSON object (keys: bench/limits.py `completeness_figures`).
-- Parameters: %(programme)s (programme id). Counts from the attainment state; drafts on their partial index.
WITH
catalogue AS (SELECT id FROM indicators_catalogueversion WHERE programme_id = %(programme)s AND is_current),
indicator_count AS (SELECT count(*) AS n FROM indicators_indicator WHERE catalogue_id IN (SELECT id FROM catalogue)),
drafts AS (
    SELECT v.establishment_id, count(*) AS n
      FROM indicators_indicatorvalue v JOIN indicators_indicator i ON i.id = v.indicator_id
     WHERE v.status = 'draft' AND i.catalogue_id IN (SELECT id FROM catalogue)
     GROUP BY v.establishment_id
),
rows AS (
    SELECT es.id, es.finess, es.name, coalesce(s.declared_count, 0) AS declared,
           coalesce(s.declared_count - s.documented_count, 0) AS missing, s.last_declared_at,
           coalesce(d.n, 0) AS drafts
      FROM hopen_establishment es
      LEFT JOIN indicators_establishment_state s ON s.establishment_id = es.id AND s.programme_id = %(programme)s
      LEFT JOIN drafts d ON d.establishment_id = es.id
)
SELECT json_build_object(
  'totals', (SELECT json_build_object(
      'establishments', count(*),
      'with_declarations', count(*) FILTER (WHERE declared > 0),
      'complete', count(*) FILTER (WHERE declared >= (SELECT n FROM indicator_count)),
      'declared', coalesce(sum(declared), 0),
      'drafts', coalesce(sum(drafts), 0),
      'missing_documents', coalesce(sum(missing), 0),
      'with_missing_documents', count(*) FILTER (WHERE missing > 0),
      'latest_declaration', to_char(max(last_declared_at) AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US'),
      'expected', count(*) * (SELECT n FROM indicator_count)) FROM rows),
  'page', (SELECT coalesce(json_agg(json_build_array(finess, declared, drafts, missing,
      to_char(last_declared_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US')) ORDER BY name, finess), '[]')
      FROM (SELECT * FROM rows ORDER BY name, finess LIMIT 25) first_page)
)
