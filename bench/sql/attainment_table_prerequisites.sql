-- SQL limit of the attainment table /indicateurs/etablissements/?prerequisites=oui (DGOS: every establishment whose
-- 15 prerequisites are reached, page 1): how many, and the 25 rows of the first page with the prerequisites and
-- each group's attainment, as one JSON object (keys: bench/limits.py `attainment_table_figures`).
-- Parameters: %(programme)s (programme id). Read from the attainment state.
WITH
catalogue AS (SELECT id FROM indicators_catalogueversion WHERE programme_id = %(programme)s AND is_current),
reached AS (
    SELECT es.id, es.finess, es.name, s.prerequisites
      FROM hopen_establishment es
      JOIN indicators_establishment_state s ON s.establishment_id = es.id AND s.programme_id = %(programme)s
     WHERE s.prerequisites = 'reached'
),
first_page AS (SELECT * FROM reached ORDER BY name, finess LIMIT 25)
SELECT json_build_object(
  'count', (SELECT count(*) FROM reached),
  'page', (SELECT coalesce(json_agg(json_build_array(p.finess, p.prerequisites,
      (SELECT json_object_agg(g.code, coalesce(gs.attainment, 'missing') ORDER BY g.position)
         FROM indicators_indicatorgroup g
         LEFT JOIN indicators_group_state gs ON gs.group_id = g.id AND gs.establishment_id = p.id
        WHERE g.catalogue_id IN (SELECT id FROM catalogue)))
      ORDER BY p.name, p.finess), '[]') FROM first_page p)
)
