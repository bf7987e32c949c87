import base64

import pytest

from shared.config import (
    DatabaseSettings,
    KafkaSettings,
    NotifySettings,
    Settings,
    SettingsError,
    WorkerSettings,
    load_settings,
)
from shared.worker import IN_FLIGHT_SHARE, Worker


class TestLoadSettings:
    def test_defaults_need_no_environment(self, monkeypatch):
        for name in ("DRX_KAFKA_BOOTSTRAP_SERVERS", "DRX_DATABASE_URL", "DRX_LOG_LEVEL"):
            monkeypatch.delenv(name, raising=False)
        settings = load_settings()
        assert settings.kafka.bootstrap_servers == "127.0.0.1:9092"
        assert settings.kafka.topic_prefix == "drx."

    def test_reads_prefixed_variables(self, monkeypatch):
        monkeypatch.setenv("DRX_KAFKA_BOOTSTRAP_SERVERS", "k1:9092, k2:9093")
        monkeypatch.setenv("DRX_KAFKA_PARTITIONS", "12")
        monkeypatch.setenv("DRX_LOG_LEVEL", "debug")
        settings = load_settings()
        assert settings.kafka.bootstrap_servers == "k1:9092,k2:9093"
        assert settings.kafka.partitions == 12
        assert settings.log.level == "DEBUG"

    @pytest.mark.parametrize(
        ("variable", "value"),
        [
            ("DRX_KAFKA_PARTITIONS", "0"),
            ("DRX_KAFKA_PARTITIONS", "many"),
            ("DRX_KAFKA_BOOTSTRAP_SERVERS", "no-port"),
            ("DRX_KAFKA_TOPIC_PREFIX", "has space"),
            ("DRX_DATABASE_URL", "mysql://x/y"),
            ("DRX_LOG_FORMAT", "xml"),
            ("DRX_KAFKA_SECURITY_PROTOCOL", "TLS"),
        ],
    )
    def test_invalid_value_names_the_variable(self, monkeypatch, variable, value):
        monkeypatch.setenv(variable, value)
        with pytest.raises(SettingsError, match=variable):
            load_settings()

    def test_sasl_without_mechanism_is_refused(self, monkeypatch):
        monkeypatch.setenv("DRX_KAFKA_SECURITY_PROTOCOL", "SASL_SSL")
        with pytest.raises(SettingsError, match="DRX_KAFKA_SASL_MECHANISM"):
            load_settings()


class TestKafkaClientOptions:
    def test_plaintext_passes_only_bootstrap(self):
        assert KafkaSettings(bootstrap_servers="a:1").client_options() == {"bootstrap_servers": "a:1"}

    def test_sasl_scram_is_passed_through(self):
        options = KafkaSettings(
            bootstrap_servers="a:1",
            security_protocol="SASL_PLAINTEXT",
            sasl_mechanism="SCRAM-SHA-512",
            sasl_username="ingest",
            sasl_password="s3cret",
        ).client_options()
        assert options["security_protocol"] == "SASL_PLAINTEXT"
        assert options["sasl_mechanism"] == "SCRAM-SHA-512"
        assert options["sasl_plain_username"] == "ingest"
        assert options["sasl_plain_password"] == "s3cret"

    def test_password_never_shows_in_repr(self):
        settings = KafkaSettings(
            security_protocol="SASL_SSL", sasl_mechanism="PLAIN", sasl_username="u", sasl_password="hunter2"
        )
        assert "hunter2" not in repr(settings)


class TestDatabaseUrl:
    @pytest.mark.parametrize("scheme", ["postgresql", "postgres", "postgresql+psycopg"])
    def test_url_uses_psycopg3(self, scheme):
        settings = DatabaseSettings(url=f"{scheme}://u@h:5432/d")
        assert settings.sqlalchemy_url == "postgresql+psycopg://u@h:5432/d"


class TestNotifySettings:
    def test_defaults(self, monkeypatch):
        for name in NotifySettings.model_fields:
            monkeypatch.delenv(f"DRX_NOTIFY_{name.upper()}", raising=False)
        notify = load_settings().notify
        assert (notify.webhook_timeout_s, notify.max_attempts, notify.delivery_concurrency) == (5.0, 8, 20)
        assert (notify.smtp_host, notify.smtp_port, notify.smtp_starttls) == ("127.0.0.1", 25, False)
        assert (notify.backoff_base_s, notify.backoff_max_s) == (2.0, 600.0)
        assert notify.email_from == "drx@localhost"
        assert notify.secrets_key is None
        assert notify.sealing_keys() == ()
        assert notify.public_url is None

    def test_reads_prefixed_variables_and_the_sealing_keys_in_base64(self, monkeypatch):
        monkeypatch.setenv("DRX_NOTIFY_SMTP_PORT", "2525")
        monkeypatch.setenv("DRX_NOTIFY_SMTP_STARTTLS", "true")
        monkeypatch.setenv("DRX_NOTIFY_SECRETS_KEY", base64.b64encode(b"n" * 32).decode())
        monkeypatch.setenv("DRX_NOTIFY_SECRETS_OLD_KEYS", f"{base64.b64encode(b'o' * 32).decode()} ")
        monkeypatch.setenv("DRX_NOTIFY_PUBLIC_URL", "https://drx.example.org/ui")
        notify = load_settings().notify
        assert notify.smtp_port == 2525
        assert notify.smtp_starttls is True
        assert notify.sealing_keys() == (b"n" * 32, b"o" * 32)  # the current key first
        assert notify.public_url == "https://drx.example.org/ui"

    @pytest.mark.parametrize(
        ("variable", "value"),
        [
            ("DRX_NOTIFY_WEBHOOK_TIMEOUT_S", "0"),
            ("DRX_NOTIFY_SMTP_PORT", "70000"),
            ("DRX_NOTIFY_MAX_ATTEMPTS", "0"),
            ("DRX_NOTIFY_DELIVERY_CONCURRENCY", "0"),
            ("DRX_NOTIFY_EMAIL_FROM", "nobody"),
            ("DRX_NOTIFY_PUBLIC_URL", "drx.example.org"),
            ("DRX_NOTIFY_SECRETS_KEY", "not base64!"),
            ("DRX_NOTIFY_SECRETS_KEY", base64.b64encode(b"sixteen-byte-key").decode()),
        ],
    )
    def test_invalid_value_names_the_variable(self, monkeypatch, variable, value):
        monkeypatch.setenv(variable, value)
        with pytest.raises(SettingsError, match=variable):
            load_settings()

    def test_backoff_cap_below_base_is_refused(self, monkeypatch):
        monkeypatch.setenv("DRX_NOTIFY_BACKOFF_BASE_S", "10")
        monkeypatch.setenv("DRX_NOTIFY_BACKOFF_MAX_S", "5")
        with pytest.raises(SettingsError, match="DRX_NOTIFY_BACKOFF_MAX_S must be at least"):
            load_settings()

    def test_smtp_username_needs_a_password(self):
        with pytest.raises(ValueError, match="DRX_NOTIFY_SMTP_PASSWORD"):
            NotifySettings(smtp_username="drx")

    def test_a_sealing_key_error_does_not_quote_the_key(self, monkeypatch):
        monkeypatch.setenv("DRX_NOTIFY_SECRETS_KEY", "c2hvcnQtYnV0LXNlY3JldA==")
        with pytest.raises(SettingsError) as caught:
            load_settings()
        assert "c2hvcnQtYnV0LXNlY3JldA" not in str(caught.value)
        assert "not 32 bytes in base64" in str(caught.value)

    def test_old_keys_need_a_current_key(self):
        with pytest.raises(ValueError, match="DRX_NOTIFY_SECRETS_OLD_KEYS needs DRX_NOTIFY_SECRETS_KEY"):
            NotifySettings(secrets_old_keys=base64.b64encode(b"o" * 32).decode())

    def test_secrets_never_show_in_repr(self):
        key = base64.b64encode(b"k" * 32).decode()
        notify = NotifySettings(smtp_username="drx", smtp_password="hunter2", secrets_key=key)
        assert "hunter2" not in repr(notify)
        assert key not in repr(notify)


class TestWorkerSettings:
    def test_the_shutdown_timeout_is_30_seconds_by_default(self, monkeypatch):
        monkeypatch.delenv("DRX_WORKER_SHUTDOWN_TIMEOUT_S", raising=False)
        assert load_settings().worker.shutdown_timeout_s == 30.0

    def test_reads_the_shutdown_timeout(self, monkeypatch):
        monkeypatch.setenv("DRX_WORKER_SHUTDOWN_TIMEOUT_S", "2.5")
        assert load_settings().worker.shutdown_timeout_s == 2.5

    @pytest.mark.parametrize("value", ["0", "-1", "601", "soon"])
    def test_invalid_value_names_the_variable(self, monkeypatch, value):
        monkeypatch.setenv("DRX_WORKER_SHUTDOWN_TIMEOUT_S", value)
        with pytest.raises(SettingsError, match="DRX_WORKER_SHUTDOWN_TIMEOUT_S"):
            load_settings()

    async def test_the_worker_waits_for_in_flight_work_within_it(self):
        """The broker's graceful timeout and the scheduler's wait both come from the setting."""
        worker = Worker(Settings(worker=WorkerSettings(shutdown_timeout_s=5.0)))
        assert worker.shutdown_timeout == 5.0
        assert worker.graceful_timeout == 5.0 * IN_FLIGHT_SHARE < 5.0
        assert worker.broker.config.broker_config.graceful_timeout == worker.graceful_timeout

        waits: list[float] = []

        class Runner:
            async def stop(self, timeout: float) -> None:
                waits.append(timeout)

        worker._jobs = Runner()  # type: ignore[assignment]
        await worker._stop_jobs()
        assert waits == [worker.graceful_timeout]
        await worker.engine.dispose()
