//! One `Config`: defaults, then an optional `zhifa.toml`, then `ZHIFA_*` / `DATABASE_URL` variables.

use serde::Deserialize;
use std::path::{Path, PathBuf};

#[derive(Debug, Clone)]
pub struct Config {
    /// `sqlite://…` / a plain file path, or `postgres://…`.
    pub database_url: String,
    pub data_dir: PathBuf,
    pub bind: String,
    pub admin_password: Option<String>,
    /// Browser sessions end after this many idle minutes.
    pub session_idle_minutes: i64,
    /// API tokens end after this many idle minutes.
    pub token_idle_minutes: i64,
    /// Failed logins before an account is locked, and for how long.
    pub max_failed_logins: i32,
    pub lockout_minutes: i64,
    /// Largest accepted photo, in bytes.
    pub max_photo_bytes: usize,
    /// Largest accepted import file, in bytes.
    pub max_upload_bytes: usize,
    /// Connections in the pool (per replica).
    pub pool_size: u32,
    /// Set the `Secure` attribute on the session cookie (turn on behind HTTPS).
    pub secure_cookies: bool,
    /// Reverse proxies whose `X-Forwarded-For` is believed (the audit log records the client
    /// behind them). Empty: the peer address is the client, and the header is ignored.
    pub trusted_proxies: Vec<std::net::IpAddr>,
    /// The bureau's signing keys (Ed25519), kept outside the database; created on first use.
    /// Replicas on one database must share this file.
    pub signing_key_file: PathBuf,
    /// How often the server signs the audit chain's head (a checkpoint), in seconds.
    pub checkpoint_seconds: u64,
    /// The key exam access codes are sealed with (shared by every replica).
    pub exam_key_file: PathBuf,
    /// Load the shipped question bank when the database has no question yet (first start).
    pub seed_question_bank: bool,
    /// The authority printed on tickets, reports and cards (e.g. 某某市司法局).
    pub bureau_name: String,
    /// Fonts tried after the shipped ones for characters they lack (TrueType/OpenType files).
    pub font_fallbacks: Vec<PathBuf>,
    /// What the public listing shows besides name and unit: some of number, category, region,
    /// valid_until (行政执法公示: the bureau chooses).
    pub public_fields: Vec<String>,
    /// The pattern of new certificate numbers (`certs::rules::Pattern`).
    pub cert_number_pattern: String,
    /// Years a new certificate is valid.
    pub cert_valid_years: i32,
    /// Years after a revocation before the person may be issued a certificate again.
    pub revocation_ban_years: i32,
    /// What signs the cards' QR codes and the status list: Ed25519 (default) or SM2.
    pub signing_algorithm: crate::signing::Algorithm,
    /// The address the public reaches this service at, printed into each card's QR code
    /// (e.g. `https://zfz.sfj.example.gov.cn`).
    pub public_url: String,
    /// Public verifications (page, API, status list) per client address per minute; 0 = no limit.
    pub verify_rate_limit: u32,
    /// Batch verification calls per API key per minute; 0 = no limit.
    pub api_key_rate_limit: u32,
    /// The line at the foot of each card's back, e.g. 吉林省人民政府监制.
    pub card_supervisor: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    database_url: Option<String>,
    data_dir: Option<PathBuf>,
    bind: Option<String>,
    admin_password: Option<String>,
    session_idle_minutes: Option<i64>,
    token_idle_minutes: Option<i64>,
    max_failed_logins: Option<i32>,
    lockout_minutes: Option<i64>,
    max_photo_bytes: Option<usize>,
    max_upload_bytes: Option<usize>,
    pool_size: Option<u32>,
    secure_cookies: Option<bool>,
    trusted_proxies: Option<Vec<String>>,
    signing_key_file: Option<PathBuf>,
    checkpoint_seconds: Option<u64>,
    seed_question_bank: Option<bool>,
    bureau_name: Option<String>,
    font_fallbacks: Option<Vec<PathBuf>>,
    public_fields: Option<Vec<String>>,
    cert_number_pattern: Option<String>,
    cert_valid_years: Option<i32>,
    revocation_ban_years: Option<i32>,
    signing_algorithm: Option<String>,
    public_url: Option<String>,
    verify_rate_limit: Option<u32>,
    api_key_rate_limit: Option<u32>,
    card_supervisor: Option<String>,
}

impl Config {
    /// Reads `zhifa.toml` (or the file named by `ZHIFA_CONFIG`) if present, then the environment.
    pub fn load() -> anyhow::Result<Config> {
        let path = std::env::var("ZHIFA_CONFIG").unwrap_or_else(|_| "zhifa.toml".into());
        let file = if Path::new(&path).exists() {
            let text = std::fs::read_to_string(&path)?;
            toml::from_str::<FileConfig>(&text)
                .map_err(|e| anyhow::anyhow!("配置文件 {path} 有误：{e}"))?
        } else {
            FileConfig::default()
        };
        let env = |k: &str| std::env::var(k).ok().filter(|v| !v.trim().is_empty());
        let parse = |k: &str| -> anyhow::Result<Option<i64>> {
            env(k)
                .map(|v| {
                    v.parse::<i64>()
                        .map_err(|_| anyhow::anyhow!("环境变量 {k} 应为整数：{v}"))
                })
                .transpose()
        };
        let data_dir = env("ZHIFA_DATA_DIR")
            .map(PathBuf::from)
            .or(file.data_dir)
            .unwrap_or_else(|| "data".into());
        let database_url = env("DATABASE_URL")
            .or(file.database_url)
            .unwrap_or_else(|| format!("sqlite://{}", data_dir.join("zhifa.db").display()));
        let checkpoint_seconds = match parse("ZHIFA_CHECKPOINT_SECONDS")? {
            Some(v) => u64::try_from(v).ok().filter(|v| *v > 0).ok_or_else(|| {
                anyhow::anyhow!("环境变量 ZHIFA_CHECKPOINT_SECONDS 应为正整数：{v}")
            })?,
            None => file.checkpoint_seconds.unwrap_or(60),
        };
        if checkpoint_seconds == 0 {
            anyhow::bail!("配置项 checkpoint_seconds 应为正整数");
        }
        let algorithm = env("ZHIFA_SIGNING_ALGORITHM").or(file.signing_algorithm);
        let signing_algorithm = match algorithm {
            None => crate::signing::Algorithm::Ed25519,
            Some(a) => crate::signing::Algorithm::parse(&a).ok_or_else(|| {
                anyhow::anyhow!("ZHIFA_SIGNING_ALGORITHM 只能是 ed25519 或 sm2：{a}")
            })?,
        };
        let bind = env("ZHIFA_BIND")
            .or(file.bind)
            .unwrap_or_else(|| "127.0.0.1:8080".into());
        let public_url = env("ZHIFA_PUBLIC_URL")
            .or(file.public_url)
            .unwrap_or_else(|| format!("http://{bind}"))
            .trim_end_matches('/')
            .to_string();
        if !(public_url.starts_with("http://") || public_url.starts_with("https://")) {
            anyhow::bail!("ZHIFA_PUBLIC_URL 应以 http:// 或 https:// 开头：{public_url}");
        }
        let limit = |k: &str, file: Option<u32>, default: u32| -> anyhow::Result<u32> {
            Ok(match parse(k)? {
                Some(v) => u32::try_from(v)
                    .map_err(|_| anyhow::anyhow!("环境变量 {k} 应为不小于 0 的整数：{v}"))?,
                None => file.unwrap_or(default),
            })
        };
        Ok(Config {
            signing_algorithm,
            public_url,
            verify_rate_limit: limit("ZHIFA_VERIFY_RATE_LIMIT", file.verify_rate_limit, 60)?,
            api_key_rate_limit: limit("ZHIFA_API_KEY_RATE_LIMIT", file.api_key_rate_limit, 120)?,
            card_supervisor: env("ZHIFA_CARD_SUPERVISOR")
                .or(file.card_supervisor)
                .unwrap_or_default(),
            signing_key_file: env("ZHIFA_SIGNING_KEY_FILE")
                .map(PathBuf::from)
                .or(file.signing_key_file)
                .unwrap_or_else(|| data_dir.join("signing.key")),
            exam_key_file: env("ZHIFA_EXAM_KEY_FILE")
                .map(PathBuf::from)
                .unwrap_or_else(|| data_dir.join("exam.key")),
            checkpoint_seconds,
            seed_question_bank: env("ZHIFA_SEED_QUESTION_BANK")
                .map(|v| v != "0" && v != "false")
                .or(file.seed_question_bank)
                .unwrap_or(true),
            bureau_name: env("ZHIFA_BUREAU_NAME")
                .or(file.bureau_name)
                .unwrap_or_else(|| "司法局".into()),
            font_fallbacks: env("ZHIFA_FONT_FALLBACKS")
                .map(|v| std::env::split_paths(&v).collect())
                .or(file.font_fallbacks)
                .unwrap_or_default(),
            public_fields: env("ZHIFA_PUBLIC_FIELDS")
                .map(|v| v.split(',').map(|s| s.trim().to_string()).collect())
                .or(file.public_fields)
                .unwrap_or_else(crate::certs::public::default_fields),
            cert_number_pattern: env("ZHIFA_CERT_NUMBER_PATTERN")
                .or(file.cert_number_pattern)
                .unwrap_or_else(|| crate::certs::rules::DEFAULT_PATTERN.into()),
            cert_valid_years: parse("ZHIFA_CERT_VALID_YEARS")?
                .map(|v| v as i32)
                .or(file.cert_valid_years)
                .unwrap_or(5),
            revocation_ban_years: parse("ZHIFA_REVOCATION_BAN_YEARS")?
                .map(|v| v as i32)
                .or(file.revocation_ban_years)
                .unwrap_or(2),
            database_url,
            data_dir,
            bind,
            admin_password: env("ZHIFA_ADMIN_PASSWORD").or(file.admin_password),
            session_idle_minutes: parse("ZHIFA_SESSION_IDLE_MINUTES")?
                .or(file.session_idle_minutes)
                .unwrap_or(30),
            token_idle_minutes: parse("ZHIFA_TOKEN_IDLE_MINUTES")?
                .or(file.token_idle_minutes)
                .unwrap_or(8 * 60),
            max_failed_logins: parse("ZHIFA_MAX_FAILED_LOGINS")?
                .map(|v| v as i32)
                .or(file.max_failed_logins)
                .unwrap_or(5),
            lockout_minutes: parse("ZHIFA_LOCKOUT_MINUTES")?
                .or(file.lockout_minutes)
                .unwrap_or(15),
            max_photo_bytes: file.max_photo_bytes.unwrap_or(2 * 1024 * 1024),
            max_upload_bytes: file.max_upload_bytes.unwrap_or(64 * 1024 * 1024),
            pool_size: parse("ZHIFA_POOL_SIZE")?
                .map(|v| v as u32)
                .or(file.pool_size)
                .unwrap_or(16),
            trusted_proxies: parse_ips(
                env("ZHIFA_TRUSTED_PROXIES")
                    .map(|v| v.split(',').map(str::to_string).collect())
                    .or(file.trusted_proxies)
                    .unwrap_or_default(),
            )?,
            secure_cookies: env("ZHIFA_SECURE_COOKIES")
                .map(|v| v == "1" || v == "true")
                .or(file.secure_cookies)
                .unwrap_or(false),
        })
    }

    /// A configuration for tests and tools: everything default except the database.
    pub fn for_database(database_url: String, data_dir: PathBuf) -> Config {
        Config {
            signing_key_file: data_dir.join("signing.key"),
            checkpoint_seconds: 60,
            exam_key_file: data_dir.join("exam.key"),
            seed_question_bank: true,
            bureau_name: "司法局".into(),
            font_fallbacks: Vec::new(),
            public_fields: crate::certs::public::default_fields(),
            cert_number_pattern: crate::certs::rules::DEFAULT_PATTERN.into(),
            cert_valid_years: 5,
            revocation_ban_years: 2,
            signing_algorithm: crate::signing::Algorithm::Ed25519,
            public_url: "http://127.0.0.1:8080".into(),
            verify_rate_limit: 60,
            api_key_rate_limit: 120,
            card_supervisor: String::new(),
            database_url,
            data_dir,
            bind: "127.0.0.1:0".into(),
            admin_password: None,
            session_idle_minutes: 30,
            token_idle_minutes: 8 * 60,
            max_failed_logins: 5,
            lockout_minutes: 15,
            max_photo_bytes: 2 * 1024 * 1024,
            max_upload_bytes: 64 * 1024 * 1024,
            pool_size: 8,
            secure_cookies: false,
            trusted_proxies: Vec::new(),
        }
    }
}

impl Config {
    /// Where signed audit checkpoints are also appended, one JSON line each: a witness outside
    /// the database (per machine).
    pub fn audit_witness_file(&self) -> PathBuf {
        self.data_dir.join("audit-witness.log")
    }
}

fn parse_ips(list: Vec<String>) -> anyhow::Result<Vec<std::net::IpAddr>> {
    list.iter()
        .map(|s| s.trim())
        .filter(|s| !s.is_empty())
        .map(|s| {
            s.parse()
                .map_err(|_| anyhow::anyhow!("ZHIFA_TRUSTED_PROXIES 中的“{s}”不是 IP 地址"))
        })
        .collect()
}
