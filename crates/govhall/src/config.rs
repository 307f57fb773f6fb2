//! Configuration in layers: defaults in code, then an optional TOML file, then `GOVHALL_…`
//! environment variables (`GOVHALL_JOBS__CONCURRENCY` sets `[jobs] concurrency`), then
//! `DATABASE_URL`, then command-line flags. An unknown key anywhere is an error.

use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use govhall_applications::ApplicationSettings;
use govhall_booking::BookingSettings;
use govhall_cases::CaseSettings;
use govhall_catalog::CatalogSettings;
use govhall_core::serde_lenient;
use govhall_db::housekeeping::RetentionSettings;
use govhall_db::jobs::JobSettings;
use govhall_identity::IdentitySettings;
use govhall_messaging::MessagingSettings;
use govhall_search::SearchSettings;
use govhall_web::{SiteSettings, WebSettings};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::path::{Path, PathBuf};

/// The format of log lines.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Readable lines, for a terminal.
    Text,
    /// One JSON object a line, for a log collector.
    Json,
}

/// Every setting of a GovHall node.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Settings {
    /// Where a hall keeps its state: the SQLite database, files, the search index.
    pub data_dir: PathBuf,
    /// Address and port to listen on; port 0 picks a free one.
    #[serde(deserialize_with = "serde_lenient::string")]
    pub bind: String,
    /// `postgres://…` to run on PostgreSQL; unset for SQLite in `data_dir`. Also read from
    /// `DATABASE_URL`.
    pub database_url: Option<DatabaseUrl>,
    /// Connections in the database pool.
    pub database_max_connections: u32,
    /// Whether `serve` also runs the job worker (turn off when `govhall worker` runs apart).
    pub run_worker: bool,
    /// `text` or `json`.
    pub log_format: LogFormat,
    /// A tracing filter, e.g. `info` or `govhall=debug,info`; `RUST_LOG` overrides it.
    #[serde(deserialize_with = "serde_lenient::string")]
    pub log_level: String,
    /// The portal's name, operator, hotline.
    pub site: SiteSettings,
    /// The web layer: the metrics token.
    pub web: WebSettings,
    /// The job workers.
    pub jobs: JobSettings,
    /// How long finished records are kept.
    pub retention: RetentionSettings,
    /// The message center: channels, limits, quiet hours, verification codes.
    pub messaging: MessagingSettings,
    /// Identity: the master key, session lifetimes, login throttling.
    pub identity: IdentitySettings,
    /// The catalogue: whether the first start imports the bundled catalogues.
    pub catalog: CatalogSettings,
    /// Search: where this node keeps its index, how often counts are written.
    pub search: SearchSettings,
    /// Cases: this hall's service number, warnings, progress look-up limits, attachment size.
    pub cases: CaseSettings,
    /// Appointments: bookable days, cancellation, limits, no-shows, check-in, reminders.
    pub booking: BookingSettings,
    /// Online applications: file sizes and counts, idle drafts, printing.
    pub applications: ApplicationSettings,
    /// The file store uploads go to, and the optional virus scanner.
    pub files: FilesConfig,
    /// Payments: expiry, reminders, the collecting unit, the fiscal payment gateway.
    pub payments: govhall_payments::PaymentSettings,
    /// Electronic licences: the SM2 signing key.
    pub licences: govhall_licences::LicenceSettings,
    /// Logistics: the courier results are sent by.
    pub logistics: govhall_logistics::LogisticsSettings,
    /// 好差评 (`[feedback]`).
    pub feedback: govhall_feedback::FeedbackSettings,
    /// The exchange with department systems (`[exchange]`).
    pub exchange: govhall_exchange::ExchangeSettings,
}

/// `[files]`: where uploads are kept and whether they are scanned.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct FilesConfig {
    /// The folder files are kept in; `<data_dir>/files` when empty. Nodes sharing a database
    /// must share this folder (a network mount).
    pub dir: String,
    /// clamd's address (`127.0.0.1:3310`) to scan every upload; no scanning when empty.
    pub clamd: String,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            data_dir: PathBuf::from("./data"),
            bind: "127.0.0.1:8080".to_owned(),
            database_url: None,
            database_max_connections: 10,
            run_worker: true,
            log_format: LogFormat::Text,
            log_level: "info".to_owned(),
            site: SiteSettings::default(),
            web: WebSettings::default(),
            jobs: JobSettings::default(),
            retention: RetentionSettings::default(),
            messaging: MessagingSettings::default(),
            identity: IdentitySettings::default(),
            catalog: CatalogSettings::default(),
            search: SearchSettings::default(),
            cases: CaseSettings::default(),
            booking: BookingSettings::default(),
            applications: ApplicationSettings::default(),
            files: FilesConfig::default(),
            payments: govhall_payments::PaymentSettings::default(),
            licences: govhall_licences::LicenceSettings::default(),
            logistics: govhall_logistics::LogisticsSettings::default(),
            feedback: govhall_feedback::FeedbackSettings::default(),
            exchange: govhall_exchange::ExchangeSettings::default(),
        }
    }
}

/// Values given on the command line, which win over everything else.
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    /// `--data-dir`.
    pub data_dir: Option<PathBuf>,
    /// `--bind`.
    pub bind: Option<String>,
}

/// A configuration that cannot be used: says where and what, in Chinese.
#[derive(Debug, thiserror::Error)]
#[error("配置有误：{0}")]
pub struct ConfigError(String);

impl Settings {
    /// Reads the layers: `file` (when given, it must exist), the environment, then `overrides`.
    pub fn load(file: Option<&Path>, overrides: &Overrides) -> Result<Settings, ConfigError> {
        let mut figment = Figment::from(Serialized::defaults(Settings::default()));
        if let Some(file) = file {
            if !file.is_file() {
                return Err(ConfigError(format!("找不到配置文件 {}", file.display())));
            }
            figment = figment.merge(Toml::file_exact(file));
        }
        figment = figment
            .merge(Env::prefixed("GOVHALL_").ignore(&["CONFIG"]).split("__"))
            .merge(Env::raw().only(&["DATABASE_URL"]).map(|_| "database_url".into()));
        if let Some(dir) = &overrides.data_dir {
            figment = figment.merge(Serialized::default("data_dir", dir));
        }
        if let Some(bind) = &overrides.bind {
            figment = figment.merge(Serialized::default("bind", bind));
        }
        let mut settings: Settings = figment.extract().map_err(|e| ConfigError(e.to_string()))?;
        if settings.database_url.as_ref().is_some_and(|u| u.expose().trim().is_empty()) {
            settings.database_url = None;
        }
        if let Err(e) = tracing_subscriber::EnvFilter::try_new(&settings.log_level) {
            return Err(ConfigError(format!("log_level“{}”无效：{e}", settings.log_level)));
        }
        Ok(settings)
    }

    /// The database URL itself, for the one place that connects.
    pub fn database_url(&self) -> Option<String> {
        self.database_url.as_ref().map(|u| u.expose().to_owned())
    }

    /// The effective settings as TOML, secrets hidden (`govhall config`).
    pub fn to_redacted_toml(&self) -> String {
        let mut text = toml::to_string(self).unwrap_or_else(|e| format!("# {e}\n"));
        if self.database_url.is_none() {
            text = format!("# database_url unset: SQLite in data_dir\n{text}");
        }
        text
    }
}

/// The database URL. It prints and serializes with its password hidden.
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(transparent)]
pub struct DatabaseUrl(#[serde(deserialize_with = "serde_lenient::string")] String);

impl DatabaseUrl {
    /// Wraps a URL.
    pub fn new(url: impl Into<String>) -> Self {
        Self(url.into())
    }

    /// The URL with its password, for connecting.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&redact_url(&self.0))
    }
}

impl Serialize for DatabaseUrl {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&redact_url(&self.0))
    }
}

/// `postgres://user:secret@host/db` → `postgres://user:******@host/db`.
fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else { return url.to_owned() };
    let (authority, tail) = rest.split_once('/').map_or((rest, None), |(a, t)| (a, Some(t)));
    let masked_authority = match authority.rsplit_once('@') {
        Some((userinfo, host)) => match userinfo.split_once(':') {
            Some((user, _password)) => format!("{user}:******@{host}"),
            None => format!("{userinfo}@{host}"),
        },
        None => authority.to_owned(),
    };
    let tail =
        tail.map(|t| {
            // A password may also come as a query parameter.
            t.split('&')
                .map(|kv| {
                    if kv.starts_with("password=") || kv.contains("?password=") {
                        mask_param(kv)
                    } else {
                        kv.to_owned()
                    }
                })
                .collect::<Vec<_>>()
                .join("&")
        });
    match tail {
        Some(t) => format!("{scheme}://{masked_authority}/{t}"),
        None => format!("{scheme}://{masked_authority}"),
    }
}

fn mask_param(kv: &str) -> String {
    match kv.rsplit_once("password=") {
        Some((before, _)) => format!("{before}password=******"),
        None => kv.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_hidden() {
        assert_eq!(redact_url("postgres://u:p%40ss@db:5432/hall"), "postgres://u:******@db:5432/hall");
        assert_eq!(redact_url("postgres://u@db/hall"), "postgres://u@db/hall");
        assert_eq!(redact_url("postgres://db/hall?user=u&password=x"), "postgres://db/hall?user=u&password=******");
        assert_eq!(redact_url("postgres://db/hall?password=x"), "postgres://db/hall?password=******");
        let url = DatabaseUrl("postgres://u:pw@db/hall".to_owned());
        assert_eq!(format!("{url:?}"), "postgres://u:******@db/hall");
        let settings = Settings { database_url: Some(url), ..Settings::default() };
        assert!(!format!("{settings:?}").contains("pw@"));
    }
}
