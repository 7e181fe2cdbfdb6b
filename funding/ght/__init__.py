"""GHT IT governance entered by the GHT itself (§5.3.1 « Pour les GHT », annex 1 « déclinaison GHT »).

A Django app of its own (label `ght`, migrations in `funding/ght/migrations/`): the master plan (SDSI) deposited
by the support establishment through the private-document path, the GHT CIO named then validated by the support
establishment's director (`funding.eligibility.models.GhtItGovernance`), and the GHT-level values of the annex-1
indicators declined at GHT level. `funding.eligibility.selectors` reads them (`selectors.governance_facts`).
"""
