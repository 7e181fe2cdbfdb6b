"""Logging in through the real login form (the factories' password)."""

PASSWORD = "mot-de-passe-solide-2019"


def log_in(page, base, user, target):
    """Log `user` in from a clean session and land on `target` (the login form's `next`)."""
    page.context.clear_cookies()
    page.goto(f"{base}/compte/connexion/?next={target}")
    page.get_by_label("Adresse électronique").fill(user.email)
    page.get_by_label("Mot de passe").fill(PASSWORD)
    with page.expect_navigation():
        page.get_by_role("button", name="Se connecter").click()
    assert page.url == f"{base}{target}", page.url
