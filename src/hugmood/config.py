"""Typed settings from `HUGMOOD_*` environment variables; refuses default secrets outside dev."""

from __future__ import annotations

import os
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from hugmood.private_files import private_dir

Environment = Literal["development", "production"]


CLIENT_PREFIX = "HUGMOOD_CLIENT_"
"""The local-first client's own variables (vault, server URL, passphrase): not the server's."""


class ConfigError(Exception):
    """A setting is missing or malformed; the message names the variable."""


@dataclass(frozen=True, slots=True)
class Settings:
    env: Environment = "development"
    data_dir: Path = Path.home() / ".local" / "share" / "hugmood"
    database_url: str = "sqlite"
    """`sqlite` (files in `data_dir`), `memory` (nothing kept), or a `postgresql://` URL."""
    postgres_schema: str = "public"
    sqlite_synchronous: Literal["OFF", "NORMAL", "FULL", "EXTRA"] = "FULL"
    host: str = "127.0.0.1"
    port: int = 8000
    secret_key: str = ""
    """Keys the session-token hashes. Generated and kept in `data_dir` in development."""
    master_key: str = ""
    """Wraps every person's data key (32 bytes, URL-safe base64). Empty: the key file
    `data_dir/master.key` (made at first start); required in production with PostgreSQL."""
    erasure_check_s: float = 60.0
    """How often deletions whose grace period is over are looked for (and carried out)."""
    session_ttl_hours: float = 24 * 30
    """How long a session signs a device in, from its sign-in (then: sign in again)."""
    mfa_required: bool = False
    """Every account needs a second factor (an authenticator app or a passkey): one without
    is asked to set up an authenticator app before its sign-in gets a session."""
    webauthn_rp_id: str = ""
    """The passkeys' relying party id (a domain); empty: the host of the public URL."""
    webauthn_origins: str = ""
    """Comma-separated origins passkey answers may come from; empty: the public URL's."""
    oidc_issuer: str = ""
    """Sign-in with another provider (OpenID Connect): its issuer URL (its metadata is at
    `<issuer>/.well-known/openid-configuration`); empty: none."""
    oidc_client_id: str = ""
    oidc_client_secret: str = ""
    oidc_name: str = "your provider"
    """What the app calls the provider ("Sign in with …")."""
    oidc_redirect_url: str = ""
    """Registered at the provider; empty: `<public URL>/oidc/callback`."""
    max_request_bytes: int = 100_000
    graphql_max_depth: int = 6
    graphql_max_aliases: int = 15
    graphql_max_tokens: int = 2000
    graphql_max_cost: int = 1000
    """Fields one operation may resolve, counted with every fragment expanded where it is
    spread; an operation over it is refused before it runs."""
    graphql_max_seconds: float = 10.0
    """An operation still running after this long is stopped before its next field."""
    login_max_failures: int = 5
    login_lockout_s: float = 60.0
    hugs_per_minute: int = 30
    redis_url: str = ""
    """Empty: presence and fan-out stay in this process. `redis://host:port/db` shares them
    between server processes."""
    redis_prefix: str = "hugmood"
    presence_heartbeat_s: float = 30.0
    nats_url: str = ""
    """Empty: the embedded bus (one process, consumers follow the store). `nats://host:port`:
    the log is also relayed to NATS JetStream."""
    nats_stream: str = "HUGMOOD_EVENTS"
    nats_subject_prefix: str = "hugmood"
    nats_storage: str = "file"
    """`file` (survives a restart of NATS) or `memory`."""
    nats_replicas: int = 1
    nats_max_age_s: float = 7 * 24 * 3600.0
    """How long the stream keeps a message (0: forever); the event store keeps every event."""
    nats_duplicate_window_s: float = 120.0
    """A republished event (same `Nats-Msg-Id`) within this window is stored once."""
    relay_lease_ttl_s: float = 3.0
    """A relay process that dies is replaced by another within about this long."""
    role: str = "all"
    """What this process runs: `all`, `edge` (API and sockets; the read models and the relay
    run in workers) or `worker` (`hugmood serve --edge-only` and `hugmood worker` set it)."""
    ws_allowed_origins: str = ""
    """Comma-separated browser origins allowed to open WebSockets (exact match); the server's
    own origin is always allowed. Clients that send no Origin (CLI, SDK) are not browsers."""
    ws_max_message_bytes: int = 65536
    ws_max_subscriptions: int = 20
    ws_messages_per_minute: int = 600
    ws_session_check_s: float = 10.0
    ws_init_timeout_s: float = 10.0
    board_messages_per_s: float = 200.0
    """A board socket may send this many messages a second (twice as many in a burst); one
    that sends more is read more slowly, not closed."""
    board_rebase_min_bytes: int = 64 * 1024
    """A board whose room empties is rebased (history dropped) once its document is at least
    this big and mostly history; 0 rebases any board that would shrink enough."""
    board_image_max_bytes: int = 2 * 1024 * 1024
    """The largest image an editor may upload to a board (`POST /boards/<id>/images`)."""
    age_required: int = 0
    """The verified age (13, 16, 18 or 21) that public check-ins need; 0 turns the check off.
    Proven with `hugmood verify-age` (zero knowledge: no birth date reaches the server)."""
    zk_trusted_issuers: str = ""
    """Age-credential issuers, comma-separated `name=<x hex>:<y hex>` (P-256 keys). The name
    `hugmood-test-issuer` adds the test issuer, whose key is public; development trusts it
    anyway, production only if listed."""
    zk_circuit_dir: str = ""
    """Where the Longfellow circuit (~300 KB, ~30 s to generate) is cached; empty:
    `<data_dir>/zk-circuits`."""
    zk_workers: int = 1
    """Processes verifying age proofs (each ~1.5 s of CPU), off the event loop."""
    community_decryptor_dir: str = ""
    """The decryption service's directory (its socket and the aggregation job's secret);
    empty: no community averages (contributions are refused as unavailable)."""
    community_epsilon: float = 1.0
    """Differential-privacy budget spent on each cohort's one release (OpenDP Laplace)."""
    community_check_s: float = 60.0
    """How often the aggregation job looks for closed cohorts to release."""
    learning_round_s: float = 600.0
    """A federated-learning round's whole life (four phases of a quarter each at most)."""
    learning_noise_multiplier: float = 4.0
    """The Gaussian noise on each round's sum, over the clipping bound (DP; the accountant
    refuses any version past epsilon 8)."""
    log_level: str = "INFO"
    log_json: bool | None = None
    """JSON lines (true) or readable lines (false); unset: readable on a terminal, else JSON."""
    region: str = "eu-west"
    """This server's region: one named in the regions file (start-up stops on any other)."""
    regions: str = ""
    """Regions this one process hosts, comma-separated (`eu-west,us-east`): each with its own
    stores under `<data_dir>/regions/<region>/` (or its own PostgreSQL schema), behind one
    edge that routes every request to the person's home region. Empty: `region` alone."""
    region_urls: str = ""
    """Regions that are deployments of their own, for this edge to pass their people's
    requests on to: `us-east=https://us.hugmood.example,…` (needs `HUGMOOD_DIRECTORY_URL`)."""
    federation_key: str = ""
    """The key regions that are deployments of their own share to sign their calls to one
    another (friends across a border), at least 32 characters; every region named in
    `HUGMOOD_REGION_URLS` must have the same. Empty: no calls between deployments (regions
    hosted in one process call one another directly)."""
    federation_transport: str = "http"
    """How calls between deployments travel: `http` (signed `POST /federation` to the URLs of
    `HUGMOOD_REGION_URLS`) or `nats` (signed requests on `hugmood.federation.<region>`, every
    region of the regions file reached by name through this region's NATS, whose servers
    are joined to the other regions' by a gateway or leaf node; needs `HUGMOOD_NATS_URL`)."""
    directory_url: str = ""
    """The global directory (handle → home region) of a region that is its own deployment:
    a `postgresql://` URL shared by every region. Regions hosted in one process share one
    without it (a SQLite file, or a schema of `HUGMOOD_DATABASE_URL`). Empty: no directory."""
    default_country: str = "IE"
    """The country (ISO 3166-1 alpha-2) of a sign-up that names neither a country nor a
    region: it decides the home region and the rules that apply."""
    age_rules: bool | None = None
    """Gate public profiles, public check-ins, similar minds and community features on the
    verified age the person's country's rule asks (regional policy); unset: on in
    production, off in development. `HUGMOOD_AGE_REQUIRED` is a minimum on top."""
    policy_dir: str = ""
    """A folder of the operator's own `regions.toml` and `<region>.toml` policy files, each
    replacing the one HugMood ships; empty: the shipped rules."""
    crisis_resources: str = ""
    """Where the app points someone having a very hard time, per country: `GB=https://…;
    FR=https://…;*=https://…` (ISO country codes; `*` for every other). Unset or no match:
    an international directory of helplines (https://findahelpline.com/)."""
    public_url: str = ""
    """Where people open HugMood (links in e-mails); empty: `http://<host>:<port>`."""
    smtp_host: str = ""
    """Empty: no e-mail at all (no e-mail reminders, no password reset by e-mail)."""
    smtp_port: int = 587
    smtp_security: str = "starttls"
    """`starttls` (port 587), `tls` (port 465) or `none` (a relay on this machine only)."""
    smtp_username: str = ""
    smtp_password: str = ""
    mail_from: str = "HugMood <hugmood@localhost>"
    push_subject: str = "mailto:hugmood@localhost"
    """The VAPID contact push services see: a `mailto:` or `https:` URL of the operator."""
    push_allow_loopback: bool = False
    """Tests only (refused in production): a push endpoint on 127.0.0.1 or ::1, over http."""
    reminder_check_s: float = 30.0
    """How often the reminder scheduler looks for reminders that are due."""
    retention_check_s: float = 3600.0
    """How often check-ins older than their owner keeps them are looked for and deleted."""
    vapid_key_file: str = ""
    """The Web Push (VAPID) private key, made there once (0600) if missing; empty:
    `<data_dir>/vapid-private.pem`. Every process of one deployment must use the same key,
    or browsers subscribed through one are refused pushes from another."""
    edge_cache: bool = False
    """Cache public profiles (and warm people's own views) in this process, dropped by events
    from the log. Always on for `hugmood serve --edge-only`; true turns it on elsewhere."""
    edge_cache_entries: int = 10000
    """How many entries each of the edge's caches holds at most (least recently used go)."""
    edge_cache_ttl_s: float = 300.0
    """The longest an edge cache entry lives even with no event about it (a backstop)."""
    edge_session_grace_s: float = 900.0
    """While the home region is away, an edge accepts check-ins and hugs from a session the
    region vouched for at most this long ago (0: none; they are refused while it is away)."""

    @property
    def development(self) -> bool:
        return self.env == "development"

    @property
    def applies_age_rules(self) -> bool:
        return not self.development if self.age_rules is None else self.age_rules

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Read every `HUGMOOD_<FIELD>` variable; unknown `HUGMOOD_*` names are errors."""
        environ = os.environ if environ is None else environ
        known = {f"HUGMOOD_{f.name.upper()}": f for f in fields(cls)}
        values: dict[str, object] = {}
        for name, value in environ.items():
            if not name.startswith("HUGMOOD_") or name.startswith(("HUGMOOD_TEST_", CLIENT_PREFIX)):
                continue
            field = known.get(name)
            if field is None:
                raise ConfigError(f"unknown setting {name}; see the README's configuration table")
            values[field.name] = _parse(name, value, str(field.type))
        settings = cls(**values)  # type: ignore[arg-type]
        settings.validate()
        return settings

    def validate(self) -> None:
        if self.env not in ("development", "production"):
            raise ConfigError("HUGMOOD_ENV must be development or production")
        if self.sqlite_synchronous not in ("OFF", "NORMAL", "FULL", "EXTRA"):
            raise ConfigError("HUGMOOD_SQLITE_SYNCHRONOUS must be OFF, NORMAL, FULL or EXTRA")
        scheme = self.database_url.split(":", 1)[0]
        if self.database_url not in ("sqlite", "memory") and scheme not in (
            "postgresql",
            "postgres",
        ):
            raise ConfigError("HUGMOOD_DATABASE_URL must be sqlite, memory or a postgresql:// URL")
        if self.federation_key and len(self.federation_key) < 32:
            raise ConfigError("HUGMOOD_FEDERATION_KEY must be at least 32 random characters")
        if self.federation_transport not in ("http", "nats"):
            raise ConfigError("HUGMOOD_FEDERATION_TRANSPORT must be http or nats")
        if self.federation_transport == "nats" and not (self.federation_key and self.nats_url):
            raise ConfigError(
                "HUGMOOD_FEDERATION_TRANSPORT=nats needs HUGMOOD_FEDERATION_KEY and HUGMOOD_NATS_URL"
            )
        if not self.development and len(self.secret_key) < 32:
            raise ConfigError(
                "HUGMOOD_SECRET_KEY must be set to at least 32 random characters in production"
            )
        if self.edge_cache_entries < 1 or self.edge_cache_ttl_s <= 0:
            raise ConfigError(
                "HUGMOOD_EDGE_CACHE_ENTRIES must be 1 or more and HUGMOOD_EDGE_CACHE_TTL_S "
                "more than 0"
            )
        if not 0 <= self.edge_session_grace_s <= 24 * 3600:
            raise ConfigError("HUGMOOD_EDGE_SESSION_GRACE_S must be between 0 and 86400")
        if not 0 < self.port < 65536:
            raise ConfigError("HUGMOOD_PORT must be between 1 and 65535")
        if self.graphql_max_cost < 1 or self.graphql_max_seconds <= 0:
            raise ConfigError(
                "HUGMOOD_GRAPHQL_MAX_COST must be 1 or more and HUGMOOD_GRAPHQL_MAX_SECONDS "
                "more than 0"
            )
        if self.board_messages_per_s <= 0:
            raise ConfigError("HUGMOOD_BOARD_MESSAGES_PER_S must be more than 0")
        if self.erasure_check_s <= 0:
            raise ConfigError("HUGMOOD_ERASURE_CHECK_S must be more than 0")
        if self.board_rebase_min_bytes < 0:
            raise ConfigError("HUGMOOD_BOARD_REBASE_MIN_BYTES must be 0 or more")
        parse_crisis_resources(self.crisis_resources)
        if not (len(self.default_country) == 2 and self.default_country.isalpha()):
            raise ConfigError("HUGMOOD_DEFAULT_COUNTRY must be an ISO 3166-1 code, such as IE")
        if self.board_image_max_bytes < 1:
            raise ConfigError("HUGMOOD_BOARD_IMAGE_MAX_BYTES must be 1 or more")
        if self.age_required not in (0, 13, 16, 18, 21):
            raise ConfigError("HUGMOOD_AGE_REQUIRED must be 0 (off), 13, 16, 18 or 21")
        if self.age_required and not self.development and not self.zk_trusted_issuers.strip():
            raise ConfigError(
                "HUGMOOD_AGE_REQUIRED needs HUGMOOD_ZK_TRUSTED_ISSUERS in production: with no "
                "trusted issuer nobody could verify, and every age-gated feature would be shut"
            )
        if self.zk_workers < 1:
            raise ConfigError("HUGMOOD_ZK_WORKERS must be 1 or more")
        if not 0 < self.community_epsilon <= 3 or self.community_check_s <= 0:
            raise ConfigError(
                "HUGMOOD_COMMUNITY_EPSILON must be more than 0 and at most 3 (the decryption "
                "service's budget per cohort) and HUGMOOD_COMMUNITY_CHECK_S more than 0"
            )
        if self.learning_round_s < 1 or self.learning_noise_multiplier <= 0:
            raise ConfigError(
                "HUGMOOD_LEARNING_ROUND_S must be 1 or more and "
                "HUGMOOD_LEARNING_NOISE_MULTIPLIER more than 0"
            )
        self._validate_nats()
        self._validate_mail()
        if not 0 < self.session_ttl_hours <= 24 * 366:
            raise ConfigError("HUGMOOD_SESSION_TTL_HOURS must be more than 0 and at most 8784")
        if any(not o.startswith(("https://", "http://")) for o in self.passkey_origins()):
            raise ConfigError("HUGMOOD_WEBAUTHN_ORIGINS must be http:// or https:// origins")
        self._validate_oidc()

    def _validate_oidc(self) -> None:
        if not self.oidc_issuer:
            return
        if not self.oidc_client_id or not self.oidc_client_secret:
            raise ConfigError(
                "HUGMOOD_OIDC_ISSUER needs HUGMOOD_OIDC_CLIENT_ID and HUGMOOD_OIDC_CLIENT_SECRET"
            )
        schemes = ("https://",) if not self.development else ("https://", "http://")
        if not self.oidc_issuer.startswith(schemes):
            raise ConfigError("HUGMOOD_OIDC_ISSUER must be an https:// URL in production")
        if self.oidc_redirect_url and not self.oidc_redirect_url.startswith(schemes):
            raise ConfigError("HUGMOOD_OIDC_REDIRECT_URL must be an https:// URL in production")

    def oidc_redirect(self) -> str:
        return self.oidc_redirect_url or self.app_url() + "oidc/callback"

    def _validate_mail(self) -> None:
        if self.smtp_security not in ("starttls", "tls", "none"):
            raise ConfigError("HUGMOOD_SMTP_SECURITY must be starttls, tls or none")
        if not 0 < self.smtp_port < 65536:
            raise ConfigError("HUGMOOD_SMTP_PORT must be between 1 and 65535")
        if "@" not in self.mail_from:
            raise ConfigError("HUGMOOD_MAIL_FROM must be an address, such as HugMood <a@b.org>")
        if not self.push_subject.startswith(("mailto:", "https://")):
            raise ConfigError("HUGMOOD_PUSH_SUBJECT must be a mailto: or https:// URL")
        if self.push_allow_loopback and not self.development:
            raise ConfigError("HUGMOOD_PUSH_ALLOW_LOOPBACK is for tests; not in production")
        if self.reminder_check_s <= 0:
            raise ConfigError("HUGMOOD_REMINDER_CHECK_S must be more than 0")
        if self.retention_check_s <= 0:
            raise ConfigError("HUGMOOD_RETENTION_CHECK_S must be more than 0")
        if self.public_url and not self.public_url.startswith(("https://", "http://")):
            raise ConfigError("HUGMOOD_PUBLIC_URL must be an http:// or https:// URL")

    def passkey_rp_id(self) -> str:
        return self.webauthn_rp_id or urlsplit(self.app_url()).hostname or "localhost"

    def passkey_origins(self) -> list[str]:
        if self.webauthn_origins.strip():
            return [o.strip().rstrip("/") for o in self.webauthn_origins.split(",") if o.strip()]
        return [self.app_url().rstrip("/")]

    def app_url(self) -> str:
        """Where people open HugMood, for links in e-mails."""
        return (self.public_url or f"http://{self.host}:{self.port}").rstrip("/") + "/"

    def _validate_nats(self) -> None:
        if self.role not in ("all", "edge", "worker"):
            raise ConfigError("HUGMOOD_ROLE must be all, edge or worker")
        if self.role != "all" and self.database_url in ("memory", "sqlite"):
            raise ConfigError(
                "edges and workers share the log and the read models: set HUGMOOD_DATABASE_URL "
                "to a postgresql:// URL to run them apart"
            )
        if self.nats_url and not self.nats_url.startswith(("nats://", "tls://")):
            raise ConfigError("HUGMOOD_NATS_URL must be empty or a nats:// or tls:// URL")
        if self.nats_storage not in ("file", "memory"):
            raise ConfigError("HUGMOOD_NATS_STORAGE must be file or memory")
        if not re.fullmatch(r"[A-Za-z0-9_-]+", self.nats_stream):
            raise ConfigError("HUGMOOD_NATS_STREAM may hold only letters, digits, _ and -")
        if not re.fullmatch(r"[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*", self.nats_subject_prefix):
            raise ConfigError("HUGMOOD_NATS_SUBJECT_PREFIX must be subject tokens joined by dots")
        if self.nats_replicas not in (1, 3, 5):
            raise ConfigError("HUGMOOD_NATS_REPLICAS must be 1, 3 or 5")
        if self.nats_max_age_s < 0 or self.nats_duplicate_window_s <= 0:
            raise ConfigError(
                "HUGMOOD_NATS_MAX_AGE_S must be 0 or more, HUGMOOD_NATS_DUPLICATE_WINDOW_S more than 0"
            )
        if 0 < self.nats_max_age_s < self.nats_duplicate_window_s:
            raise ConfigError(
                "HUGMOOD_NATS_DUPLICATE_WINDOW_S must not exceed HUGMOOD_NATS_MAX_AGE_S"
            )
        if self.relay_lease_ttl_s < 1:
            raise ConfigError("HUGMOOD_RELAY_LEASE_TTL_S must be at least 1")

    def crisis_resource(self, country: str | None) -> str:
        """The helpline page for someone in `country` (ISO 3166 alpha-2, any case)."""
        lines = parse_crisis_resources(self.crisis_resources)
        found = lines.get((country or "").strip().upper()) or lines.get("*")
        return found or DEFAULT_CRISIS_RESOURCE

    def allowed_origins(self) -> frozenset[str]:
        own = {f"http://{h}:{self.port}" for h in (self.host, "localhost", "127.0.0.1")}
        extra = {o.strip().rstrip("/") for o in self.ws_allowed_origins.split(",") if o.strip()}
        return frozenset(own | extra)

    def with_secret(self) -> Settings:
        """In development, a generated key kept in `data_dir` so sessions survive restarts."""
        if self.secret_key or not self.development:
            return self
        if self.database_url == "memory":
            return replace(self, secret_key=secrets.token_urlsafe(48))
        path = self.data_dir / "secret.key"
        if not path.exists():
            private_dir(self.data_dir)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as f:
                f.write(secrets.token_urlsafe(48))
        return replace(self, secret_key=path.read_text().strip())


DEFAULT_CRISIS_RESOURCE = "https://findahelpline.com/"


def parse_crisis_resources(text: str) -> dict[str, str]:
    """`GB=https://…;*=https://…` → {"GB": …, "*": …}; ConfigError for anything else."""
    lines: dict[str, str] = {}
    for part in filter(None, (p.strip() for p in text.split(";"))):
        country, _, url = part.partition("=")
        country, url = country.strip().upper(), url.strip()
        if not (country == "*" or (len(country) == 2 and country.isalpha())):
            raise ConfigError(
                f"HUGMOOD_CRISIS_RESOURCES: {country[:10]!r} is not a two-letter country code or *"
            )
        if not url.startswith("https://"):
            raise ConfigError(f"HUGMOOD_CRISIS_RESOURCES: the page for {country} must be https://")
        lines[country] = url
    return lines


def _parse(name: str, value: str, kind: str) -> object:
    try:
        if kind == "int":
            return int(value)
        if kind == "float":
            return float(value)
        if kind in ("bool", "bool | None"):
            if value.lower() not in ("1", "0", "true", "false", "yes", "no"):
                raise ValueError(value)
            return value.lower() in ("1", "true", "yes")
        if kind == "Path":
            return Path(value).expanduser()
    except ValueError:
        raise ConfigError(f"{name}={value!r} is not a valid {kind}") from None
    if "Literal" in kind and name == "HUGMOOD_SQLITE_SYNCHRONOUS":
        return value.upper()
    return value
