from tests.funding.dossier_scene import world  # noqa: F401  (the dossiers' scene: regions, envelopes, eligible establishments)
