-- SQL limit of the AMI national list /ami/region/ (DGOS: the filed pre-candidatures of the nation, page 1): the
-- number of pre-candidatures, the 25 of the first page with their domain lines and estimates, the estimates per
-- domain and year (all lines and the pre-selected ones), the balance between statuses and activities and the
-- envelope, as one JSON object (keys: bench/limits.py `ami_figures`). Parameters: %(programme)s.
-- The annex-3 estimate is stored on each line (ami_precandidaturedomain.estimated_amount).
WITH
filed AS (
    SELECT p.id, es.id AS establishment_id, es.name, es.finess,
           CASE WHEN es.status = 'public' THEN 'public' WHEN es.is_espic OR es.status = 'clcc' THEN 'espic'
                ELSE 'private' END AS sector,
           es.has_mco, es.has_ssr, es.has_psy, es.has_had
      FROM ami_precandidature p JOIN hopen_establishment es ON es.id = p.establishment_id
     WHERE p.programme_id = %(programme)s AND p.status = 'filed'
),
lines AS (
    SELECT d.pre_candidature_id, d.domain_code, d.decision, d.estimated_amount AS amount,
           left(d.forecast_semester, 4)::int AS year, f.establishment_id, f.sector,
           f.has_mco, f.has_ssr, f.has_psy, f.has_had
      FROM ami_precandidaturedomain d JOIN filed f ON f.id = d.pre_candidature_id
),
estimates AS (
    SELECT (preselected_only) AS preselected_only, json_build_object(
             'total', coalesce(sum(amount), 0)::text,
             'unknown', count(*) FILTER (WHERE amount IS NULL),
             'counts', coalesce((SELECT json_object_agg(domain_code, n) FROM (
                 SELECT domain_code, count(*) AS n FROM lines l2
                  WHERE NOT preselected_only OR l2.decision = 'preselected' GROUP BY domain_code) c), '{}'),
             'by_domain_year', coalesce((SELECT json_object_agg(domain_code || ' ' || year, total) FROM (
                 SELECT domain_code, year, sum(amount)::text AS total FROM lines l3
                  WHERE (NOT preselected_only OR l3.decision = 'preselected') AND amount IS NOT NULL
                  GROUP BY domain_code, year) y), '{}')) AS figures
      FROM (VALUES (false), (true)) k(preselected_only)
      LEFT JOIN lines ON NOT preselected_only OR lines.decision = 'preselected'
     GROUP BY preselected_only
),
first_page AS (SELECT * FROM filed ORDER BY name, finess LIMIT 25)
SELECT json_build_object(
  'count', (SELECT count(*) FROM filed),
  'page', (SELECT coalesce(json_agg(json_build_array(p.id,
      (SELECT coalesce(json_agg(json_build_array(d.domain_code, d.estimated_amount::text) ORDER BY d.priority), '[]')
         FROM ami_precandidaturedomain d WHERE d.pre_candidature_id = p.id))
      ORDER BY p.name, p.finess), '[]') FROM first_page p),
  'totals', (SELECT figures FROM estimates WHERE NOT preselected_only),
  'preselected', (SELECT figures FROM estimates WHERE preselected_only),
  'balance', json_build_object(
      'establishments', (SELECT count(DISTINCT establishment_id) FROM lines),
      'amount', (SELECT coalesce(sum(amount), 0)::text FROM lines),
      'statuses', (SELECT json_object_agg(sector, figures) FROM (
          SELECT k.sector, json_build_array(count(DISTINCT l.establishment_id), count(l.establishment_id),
                                            coalesce(sum(l.amount), 0)::text) AS figures
            FROM (VALUES ('public'), ('private'), ('espic')) k(sector) LEFT JOIN lines l ON l.sector = k.sector
           GROUP BY k.sector) per_sector),
      'activities', (SELECT json_object_agg(activity, figures) FROM (
          SELECT k.activity, json_build_array(count(DISTINCT l.establishment_id), count(l.establishment_id),
                                              coalesce(sum(l.amount), 0)::text) AS figures
            FROM (VALUES ('MCO'), ('SSR'), ('PSY'), ('HAD')) k(activity)
            LEFT JOIN lines l ON CASE k.activity WHEN 'MCO' THEN l.has_mco WHEN 'SSR' THEN l.has_ssr
                                                 WHEN 'PSY' THEN l.has_psy ELSE l.has_had END
           GROUP BY k.activity) per_activity)),
  'envelope', (SELECT CASE WHEN count(DISTINCT e.id) > 0 THEN coalesce(sum(l.amount) FILTER (WHERE l.kind IN
        ('allocation', 'redeployment_in')), 0) - coalesce(sum(l.amount) FILTER (WHERE l.kind IN
        ('redeployment_out', 'refund_deduction')), 0) END::text
      FROM envelopes_envelope e LEFT JOIN envelopes_ledgerentry l ON l.envelope_id = e.id
     WHERE e.programme_id = %(programme)s)
)
