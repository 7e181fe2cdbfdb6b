"""Production settings pass Django's deployment checklist with zero warnings."""

import os
import subprocess
import sys

from django.conf import settings


def run_manage(*args, **env):
    environment = {**os.environ, **env}
    # pytest may run with DJANGO_ALLOW_ASYNC_UNSAFE for the browser tests; production never does.
    environment.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=settings.BASE_DIR, env=environment, capture_output=True, text=True
    )


PRODUCTION = {
    "DJANGO_SETTINGS_MODULE": "hopen.settings.production",
    "SECRET_KEY": "x7$k2!q9-production-like-secret-key-for-the-deploy-check-0123456789",
    "ALLOWED_HOSTS": "hopen.sante.gouv.fr",
    "CLAMD_HOST": "clamav",  # required in production (tests/security/test_files.py checks the error without it)
}


def test_check_deploy_has_no_warning_in_production_settings():
    result = run_manage("check", "--deploy", "--fail-level", "WARNING", **PRODUCTION)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues (0 silenced)." in result.stdout


def test_production_refuses_the_development_secret_key():
    result = run_manage("check", **{**PRODUCTION, "SECRET_KEY": "dev-only-insecure-key-change-me"})
    assert result.returncode != 0
    assert "SECRET_KEY" in result.stderr


def test_production_refuses_demo_accounts():
    result = run_manage("seed_demo", **PRODUCTION)
    assert result.returncode != 0
    assert "interdits" in result.stderr


def test_french_locale_and_paris_time():
    assert settings.LANGUAGE_CODE == "fr-fr"
    assert settings.TIME_ZONE == "Europe/Paris"
    assert settings.USE_THOUSAND_SEPARATOR


def test_content_security_policy_forbids_inline_code():
    directives = settings.CONTENT_SECURITY_POLICY["DIRECTIVES"]
    for directive in ("script-src", "style-src", "default-src"):
        assert "'unsafe-inline'" not in directives[directive]


def test_production_styles_are_not_refused_by_subresource_integrity():
    """Under the manifest storage the DSFR stylesheet is rewritten (its url() point to hashed names), so django-dsfr's
    integrity hash of the original file would make browsers refuse it (seen on the national bench: pages without
    their design). Production serves it without the integrity attribute."""
    from pathlib import Path

    import dsfr

    stylesheet = Path(dsfr.__file__).parent / "static" / "dsfr" / "dist" / "dsfr" / "dsfr.min.css"
    assert b"url(" in stylesheet.read_bytes()  # what the manifest storage rewrites
    result = run_manage(
        "shell", "-c",
        "from django.conf import settings; print(settings.STORAGES['staticfiles']['BACKEND'], "
        "settings.DSFR_USE_INTEGRITY_CHECKSUMS)",
        **PRODUCTION,
    )
    assert result.returncode == 0, result.stderr
    backend, checksums = result.stdout.splitlines()[-1].split()
    assert "Manifest" in backend
    assert checksums == "False"
