-- SQL limit of the funding dashboard (/pilotage/ for the nation, /pilotage/<region>/ for one region): every figure
-- the page shows, in one statement, as one JSON object (keys: bench/limits.py `dashboard_figures`).
-- Parameters: %(programme)s (programme id), %(region)s (region code, NULL for the nation).
-- Money from the ledger; attainment from the attainment state (indicators_establishment_state, _group_state).
WITH
scope_region AS (SELECT id FROM hopen_region WHERE code = %(region)s),
envelopes AS (
    SELECT e.id, e.region_id FROM envelopes_envelope e
     WHERE e.programme_id = %(programme)s
       AND (%(region)s::text IS NULL OR e.region_id IN (SELECT id FROM scope_region))
),
sums AS (
    SELECT l.envelope_id, l.kind, l.pot, sum(l.amount) AS total
      FROM envelopes_ledgerentry l WHERE l.envelope_id IN (SELECT id FROM envelopes)
     GROUP BY 1, 2, 3
),
balances AS (
    SELECT env.id, env.region_id,
      coalesce(sum(total) FILTER (WHERE pot = 'seed' AND kind IN ('allocation', 'redeployment_in')), 0)
        - coalesce(sum(total) FILTER (WHERE pot = 'seed' AND kind IN ('redeployment_out', 'refund_deduction')), 0)
        AS seed_total,
      coalesce(sum(total) FILTER (WHERE pot = 'usage' AND kind IN ('allocation', 'redeployment_in')), 0)
        - coalesce(sum(total) FILTER (WHERE pot = 'usage' AND kind IN ('redeployment_out', 'refund_deduction')), 0)
        AS usage_total,
      coalesce(sum(total) FILTER (WHERE kind = 'seed_commitment'), 0) AS seed_committed,
      coalesce(sum(total) FILTER (WHERE kind = 'seed_payment'), 0) AS seed_paid,
      coalesce(sum(total) FILTER (WHERE kind = 'usage_commitment'), 0) AS usage_committed,
      coalesce(sum(total) FILTER (WHERE kind = 'usage_payment'), 0) AS usage_paid,
      coalesce(sum(total) FILTER (WHERE kind = 'refund_claim'), 0) AS refunds_claimed,
      coalesce(sum(total) FILTER (WHERE kind = 'refund_received'), 0) AS refunds_received,
      coalesce(sum(total) FILTER (WHERE kind = 'refund_received' AND pot = 'seed'), 0) AS seed_refunds_received,
      coalesce(sum(total) FILTER (WHERE kind = 'refund_received' AND pot = 'usage'), 0) AS usage_refunds_received,
      coalesce(sum(total) FILTER (WHERE kind = 'delegation' AND pot = 'seed'), 0) AS seed_delegations,
      coalesce(sum(total) FILTER (WHERE kind = 'delegation' AND pot = 'usage'), 0) AS usage_delegations,
      coalesce(sum(total) FILTER (WHERE kind = 'refund_deduction' AND pot = 'seed'), 0) AS seed_refunds_deducted,
      coalesce(sum(total) FILTER (WHERE kind = 'refund_deduction' AND pot = 'usage'), 0) AS usage_refunds_deducted
      FROM envelopes env LEFT JOIN sums s ON s.envelope_id = env.id
     GROUP BY env.id, env.region_id
),
money AS (  -- the money movements of the beneficiaries, with the sector of the entry (else the establishment's)
    SELECT l.establishment_id, l.kind, l.amount, es.has_mco, es.has_ssr, es.has_psy, es.has_had,
           CASE WHEN l.sector <> '' THEN l.sector WHEN es.status = 'public' THEN 'public'
                WHEN es.is_espic OR es.status = 'clcc' THEN 'espic' ELSE 'private' END AS sector
      FROM envelopes_ledgerentry l JOIN hopen_establishment es ON es.id = l.establishment_id
     WHERE l.envelope_id IN (SELECT id FROM envelopes)
       AND l.kind IN ('seed_commitment', 'seed_payment', 'usage_commitment', 'usage_payment', 'refund_claim',
                      'refund_received')
),
beneficiaries AS (
    SELECT establishment_id,
           coalesce(sum(amount) FILTER (WHERE kind = 'seed_commitment'), 0) AS seed_committed,
           coalesce(sum(amount) FILTER (WHERE kind = 'seed_payment'), 0) AS seed_paid,
           coalesce(sum(amount) FILTER (WHERE kind = 'usage_commitment'), 0) AS usage_committed,
           coalesce(sum(amount) FILTER (WHERE kind = 'usage_payment'), 0) AS usage_paid,
           coalesce(sum(amount) FILTER (WHERE kind = 'refund_claim'), 0) AS refunds_claimed,
           coalesce(sum(amount) FILTER (WHERE kind = 'refund_received'), 0) AS refunds_received
      FROM money GROUP BY establishment_id
),
money_groups AS (  -- each movement in its sector, and in each activity of its beneficiary
    SELECT 'sector' AS axis, sector AS grp, establishment_id, kind, amount FROM money
    UNION ALL
    SELECT 'activity', a.activity, m.establishment_id, m.kind, m.amount
      FROM money m CROSS JOIN LATERAL (VALUES ('MCO', m.has_mco), ('SSR', m.has_ssr), ('PSY', m.has_psy),
                                              ('HAD', m.has_had)) a(activity, present)
     WHERE a.present
),
group_figures AS (
    SELECT k.axis, k.grp, json_build_object(
        'seed_committed', coalesce(sum(g.amount) FILTER (WHERE g.kind = 'seed_commitment'), 0)::text,
        'seed_paid', coalesce(sum(g.amount) FILTER (WHERE g.kind = 'seed_payment'), 0)::text,
        'usage_committed', coalesce(sum(g.amount) FILTER (WHERE g.kind = 'usage_commitment'), 0)::text,
        'usage_paid', coalesce(sum(g.amount) FILTER (WHERE g.kind = 'usage_payment'), 0)::text,
        'refunds_claimed', coalesce(sum(g.amount) FILTER (WHERE g.kind = 'refund_claim'), 0)::text,
        'refunds_received', coalesce(sum(g.amount) FILTER (WHERE g.kind = 'refund_received'), 0)::text,
        'establishments', count(DISTINCT g.establishment_id)) AS figures
      FROM (VALUES ('sector', 'public'), ('sector', 'private'), ('sector', 'espic'), ('activity', 'MCO'),
                   ('activity', 'SSR'), ('activity', 'PSY'), ('activity', 'HAD')) k(axis, grp)
      LEFT JOIN money_groups g ON g.axis = k.axis AND g.grp = k.grp
     GROUP BY k.axis, k.grp
),
dossiers AS (
    SELECT d.* FROM funding_dossier d
     WHERE d.programme_id = %(programme)s
       AND (%(region)s::text IS NULL OR d.region_id IN (SELECT id FROM scope_region))
),
followed AS (SELECT * FROM dossiers WHERE status NOT IN ('refused', 'closed')),
selected_domains AS (
    SELECT dd.* FROM funding_dossierdomain dd JOIN followed f ON f.id = dd.dossier_id
     WHERE dd.status IN ('selected', 'targets_reached', 'usage_notified', 'paid')
),
selected_dossiers AS (SELECT f.* FROM followed f WHERE EXISTS (SELECT 1 FROM selected_domains s WHERE s.dossier_id = f.id)),
catalogue AS (SELECT id FROM indicators_catalogueversion WHERE programme_id = %(programme)s AND is_current),
candidates AS (  -- (dossier, establishment): its members, or its establishment without members
    SELECT m.dossier_id, m.establishment_id FROM funding_dossiermember m
     WHERE m.dossier_id IN (SELECT id FROM selected_dossiers)
    UNION
    SELECT d.id, d.establishment_id FROM selected_dossiers d
     WHERE NOT EXISTS (SELECT 1 FROM funding_dossiermember m WHERE m.dossier_id = d.id)
),
met AS (SELECT establishment_id FROM indicators_establishment_state
         WHERE programme_id = %(programme)s AND prerequisites_met),
dossier_met AS (
    SELECT c.dossier_id, bool_and(met.establishment_id IS NOT NULL) AS reached
      FROM candidates c LEFT JOIN met ON met.establishment_id = c.establishment_id GROUP BY c.dossier_id
),
domain_reached AS (
    SELECT s.id, bool_and(gs.id IS NOT NULL) AS reached
      FROM selected_domains s JOIN candidates c ON c.dossier_id = s.dossier_id
      LEFT JOIN indicators_indicatorgroup g ON g.code = s.domain_code AND g.catalogue_id IN (SELECT id FROM catalogue)
      LEFT JOIN indicators_group_state gs ON gs.group_id = g.id AND gs.establishment_id = c.establishment_id
                                         AND gs.attainment = 'reached'
     GROUP BY s.id
),
slipped_prerequisites AS (
    SELECT f.id, f.reference, f.region_id, f.establishment_id,
           f.prerequisites_forecast - f.prerequisites_forecast_initial AS slip
      FROM followed f WHERE f.prerequisites_forecast > f.prerequisites_forecast_initial
),
slipped_targets AS (
    SELECT dd.id, f.reference, dd.domain_code, f.region_id, dd.target_deadline - dd.target_deadline_initial AS slip
      FROM funding_dossierdomain dd JOIN followed f ON f.id = dd.dossier_id
     WHERE dd.target_deadline > dd.target_deadline_initial AND dd.status NOT IN ('pending', 'refused')
),
page AS (
    SELECT d.id, d.reference, row_number() OVER (ORDER BY es.name, d.reference) AS position
      FROM selected_dossiers d JOIN hopen_establishment es ON es.id = d.establishment_id
     ORDER BY es.name, d.reference LIMIT 50
),
domain_money AS (
    SELECT l.dossier_domain_id,
           coalesce(sum(l.amount) FILTER (WHERE l.kind IN ('seed_commitment', 'usage_commitment')), 0) AS committed,
           coalesce(sum(l.amount) FILTER (WHERE l.kind IN ('seed_payment', 'usage_payment')), 0) AS paid
      FROM envelopes_ledgerentry l
     WHERE l.dossier_domain_id IN (SELECT s.id FROM selected_domains s WHERE s.dossier_id IN (SELECT id FROM page))
       AND l.kind IN ('seed_commitment', 'seed_payment', 'usage_commitment', 'usage_payment', 'refund_claim',
                      'refund_received')
     GROUP BY l.dossier_domain_id
)
SELECT json_build_object(
  'has_envelope', EXISTS (SELECT 1 FROM envelopes),
  'balances', (SELECT json_build_object(
      'seed_total', coalesce(sum(seed_total), 0)::text, 'usage_total', coalesce(sum(usage_total), 0)::text,
      'seed_committed', coalesce(sum(seed_committed), 0)::text, 'seed_paid', coalesce(sum(seed_paid), 0)::text,
      'usage_committed', coalesce(sum(usage_committed), 0)::text, 'usage_paid', coalesce(sum(usage_paid), 0)::text,
      'refunds_claimed', coalesce(sum(refunds_claimed), 0)::text,
      'refunds_received', coalesce(sum(refunds_received), 0)::text,
      'seed_refunds_received', coalesce(sum(seed_refunds_received), 0)::text,
      'usage_refunds_received', coalesce(sum(usage_refunds_received), 0)::text,
      'seed_delegations', coalesce(sum(seed_delegations), 0)::text,
      'usage_delegations', coalesce(sum(usage_delegations), 0)::text,
      'seed_refunds_deducted', coalesce(sum(seed_refunds_deducted), 0)::text,
      'usage_refunds_deducted', coalesce(sum(usage_refunds_deducted), 0)::text) FROM balances),
  'regions', CASE WHEN %(region)s::text IS NULL THEN (SELECT coalesce(json_object_agg(r.code, json_build_object(
      'total', coalesce(b.seed_total + b.usage_total, 0)::text,
      'committed', coalesce(b.seed_committed + b.usage_committed, 0)::text,
      'paid', coalesce(b.seed_paid + b.usage_paid, 0)::text,
      'available', coalesce(b.seed_total - b.seed_committed + b.seed_refunds_received
                            + b.usage_total - b.usage_committed + b.usage_refunds_received, 0)::text,
      'selected_dossiers', (SELECT count(*) FROM selected_dossiers d WHERE d.region_id = r.id),
      'selected_establishments', (SELECT count(DISTINCT d.establishment_id) FROM selected_dossiers d
                                   WHERE d.region_id = r.id),
      'slipped_prerequisites', (SELECT count(*) FROM slipped_prerequisites s WHERE s.region_id = r.id),
      'slipped_targets', (SELECT count(*) FROM slipped_targets s WHERE s.region_id = r.id))), '{}')
      FROM hopen_region r LEFT JOIN balances b ON b.region_id = r.id) ELSE '{}'::json END,
  'sectors', (SELECT json_object_agg(grp, figures) FROM group_figures WHERE axis = 'sector'),
  'activities', (SELECT json_object_agg(grp, figures) FROM group_figures WHERE axis = 'activity'),
  'establishment_count', (SELECT count(*) FROM beneficiaries),
  'establishments', (SELECT coalesce(json_agg(json_build_array(t.establishment_id, t.seed_committed::text,
      t.seed_paid::text, t.usage_committed::text, t.usage_paid::text, t.refunds_received::text)
      ORDER BY t.committed DESC, t.paid DESC, t.name, t.establishment_id), '[]')
      FROM (SELECT b.*, b.seed_committed + b.usage_committed AS committed, b.seed_paid + b.usage_paid AS paid, es.name
              FROM beneficiaries b JOIN hopen_establishment es ON es.id = b.establishment_id
             ORDER BY committed DESC, paid DESC, es.name, b.establishment_id LIMIT 100) t),
  'selected_dossiers', (SELECT count(*) FROM selected_dossiers),
  'selected_establishments', (SELECT coalesce(sum(n), 0) FROM (SELECT count(DISTINCT establishment_id) AS n
                                FROM selected_dossiers GROUP BY region_id) per_region),
  'domains', (SELECT coalesce(json_object_agg(code, json_build_object('selected', n, 'seed_amount', seed::text,
      'total_amount', total::text, 'targets_recorded', recorded,
      'targets_reached', CASE WHEN EXISTS (SELECT 1 FROM catalogue) THEN reached END)), '{}')
      FROM (SELECT s.domain_code AS code, count(*) AS n, sum(s.seed_amount) AS seed, sum(s.total_amount) AS total,
                   count(*) FILTER (WHERE s.status <> 'selected') AS recorded,
                   count(*) FILTER (WHERE r.reached) AS reached
              FROM selected_domains s JOIN domain_reached r ON r.id = s.id GROUP BY s.domain_code) per_code),
  'attainment', json_build_object(
      'available', EXISTS (SELECT 1 FROM catalogue),
      'establishments', (SELECT count(DISTINCT establishment_id) FROM candidates),
      'prerequisites_reached', CASE WHEN EXISTS (SELECT 1 FROM catalogue) THEN
          (SELECT count(DISTINCT c.establishment_id) FROM candidates c JOIN met ON met.establishment_id = c.establishment_id)
          ELSE 0 END),
  'selected_page', (SELECT coalesce(json_agg(json_build_array(p.reference,
      CASE WHEN EXISTS (SELECT 1 FROM catalogue) THEN dm.reached END,
      (SELECT json_agg(json_build_array(s.domain_code, CASE WHEN EXISTS (SELECT 1 FROM catalogue) THEN r.reached END,
                                        coalesce(mo.committed, 0)::text, coalesce(mo.paid, 0)::text)
                       ORDER BY s.domain_code)
         FROM selected_domains s JOIN domain_reached r ON r.id = s.id
         LEFT JOIN domain_money mo ON mo.dossier_domain_id = s.id WHERE s.dossier_id = p.id))
      ORDER BY p.position), '[]')
      FROM page p JOIN dossier_met dm ON dm.dossier_id = p.id),
  'slipped_prerequisites_count', (SELECT count(*) FROM slipped_prerequisites),
  'slipped_prerequisites', (SELECT coalesce(json_agg(json_build_array(t.reference, t.slip) ORDER BY t.slip DESC,
      t.reference), '[]') FROM (SELECT * FROM slipped_prerequisites ORDER BY slip DESC, reference LIMIT 100) t),
  'slipped_targets_count', (SELECT count(*) FROM slipped_targets),
  'slipped_targets', (SELECT coalesce(json_agg(json_build_array(t.reference, t.domain_code, t.slip)
      ORDER BY t.slip DESC, t.reference, t.domain_code), '[]')
      FROM (SELECT * FROM slipped_targets ORDER BY slip DESC, reference, domain_code LIMIT 100) t)
)
