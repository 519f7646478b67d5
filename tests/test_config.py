"""Settings: working defaults, environment overrides, and what production refuses."""

import pytest

from backend.config import Config, derive_key


def test_defaults_need_no_environment(monkeypatch):
    for name in ("DATABASE_URL", "SECRET_KEY", "TRAO_ENV"):
        monkeypatch.delenv(name, raising=False)
    config = Config()
    assert config.SQLALCHEMY_DATABASE_URI.startswith("sqlite:///")
    assert config.SQLALCHEMY_DATABASE_URI.endswith("instance/trao.db")
    assert config.TIMEZONE == "Asia/Ho_Chi_Minh"
    assert config.BABEL_DEFAULT_LOCALE == "vi"
    config.check()


def test_postgres_urls_use_psycopg3(monkeypatch):
    monkeypatch.setenv("DATABASE_URL", "postgres://u@db/trao")
    assert Config().SQLALCHEMY_DATABASE_URI == "postgresql+psycopg://u@db/trao"


def test_production_refuses_the_development_secret(monkeypatch):
    monkeypatch.setenv("TRAO_ENV", "production")
    monkeypatch.delenv("SECRET_KEY", raising=False)
    monkeypatch.setenv("DATABASE_URL", "postgresql://u@db/trao")
    with pytest.raises(RuntimeError, match="SECRET_KEY"):
        Config().check()


def test_production_wants_postgresql_and_secure_cookies(monkeypatch):
    monkeypatch.setenv("TRAO_ENV", "production")
    monkeypatch.setenv("SECRET_KEY", "x" * 40)
    monkeypatch.delenv("DATABASE_URL", raising=False)
    with pytest.raises(RuntimeError, match="PostgreSQL"):
        Config().check()
    monkeypatch.setenv("DATABASE_URL", "postgresql://u@db/trao")
    monkeypatch.setenv("RATELIMIT_STORAGE_URI", "redis://cache:6379")
    config = Config()
    config.check()
    assert config.SESSION_COOKIE_SECURE and not config.demo_logins_allowed


def test_production_counts_log_ins_in_a_shared_store(monkeypatch):
    """memory:// counts per worker: with four workers a guesser gets four times the tries."""
    monkeypatch.setenv("TRAO_ENV", "production")
    monkeypatch.setenv("SECRET_KEY", "x" * 40)
    monkeypatch.setenv("DATABASE_URL", "postgresql://u@db/trao")
    monkeypatch.delenv("RATELIMIT_STORAGE_URI", raising=False)
    monkeypatch.delenv("TRAO_ALLOW_MEMORY_RATELIMIT", raising=False)
    with pytest.raises(RuntimeError, match="RATELIMIT_STORAGE_URI.*redis://"):
        Config().check()
    monkeypatch.setenv("TRAO_ALLOW_MEMORY_RATELIMIT", "1")  # one worker, on purpose
    Config().check()
    monkeypatch.delenv("TRAO_ALLOW_MEMORY_RATELIMIT")
    monkeypatch.setenv("RATELIMIT_STORAGE_URI", "redis://cache:6379")
    Config().check()


def test_trusted_proxies_default_to_none(monkeypatch):
    monkeypatch.delenv("TRAO_TRUSTED_PROXIES", raising=False)
    assert Config().TRAO_TRUSTED_PROXIES == 0
    monkeypatch.setenv("TRAO_TRUSTED_PROXIES", "2")
    assert Config().TRAO_TRUSTED_PROXIES == 2


def test_keys_are_derived_per_purpose_unless_set(monkeypatch):
    monkeypatch.setenv("SECRET_KEY", "s" * 40)
    monkeypatch.delenv("TRAO_QR_KEY", raising=False)
    config = Config()
    assert derive_key("s" * 40, "envelope-qr") == config.QR_SIGNING_KEY
    assert config.QR_SIGNING_KEY != config.ID_HASH_KEY
    monkeypatch.setenv("TRAO_QR_KEY", "explicit-key")
    assert Config().QR_SIGNING_KEY == b"explicit-key"


def test_database_errors_do_not_carry_personal_data_into_logs(app, factory):
    """SQL parameters (names, phones) are hidden from error messages that reach the log."""
    import sqlalchemy as sa

    from backend.extensions import db

    with pytest.raises(sa.exc.DBAPIError) as raised:
        db.session.execute(
            sa.text("INSERT INTO post_office (id, code) VALUES (:id, :code)"),
            {"id": None, "code": "Nguyễn Văn An 0912345678"},
        )
    assert "0912345678" not in str(raised.value)
    db.session.rollback()


def test_delivery_rules_are_settings_with_the_regulations_defaults(monkeypatch):
    from backend.domain.policy import DEFAULT_POLICY

    for name in ("TRAO_MAX_HOME_ATTEMPTS", "TRAO_HOLD_WORKING_DAYS", "TRAO_GEOFENCE_METRES"):
        monkeypatch.delenv(name, raising=False)
    assert Config().DELIVERY_POLICY == DEFAULT_POLICY
    monkeypatch.setenv("TRAO_MAX_HOME_ATTEMPTS", "3")
    monkeypatch.setenv("TRAO_HOLD_WORKING_DAYS", "15")
    monkeypatch.setenv("TRAO_GEOFENCE_METRES", "150")
    policy = Config().DELIVERY_POLICY
    assert (policy.max_home_attempts, policy.hold_working_days, policy.geofence_metres) == (
        3,
        15,
        150,
    )
