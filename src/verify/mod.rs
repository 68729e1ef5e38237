//! Verification: anyone checks a certificate — on the public page, by the JSON API, by an
//! agency's bulk call with an API key, or offline from the card's signed QR code and the signed
//! status list.
//!
//! Online answers are read from the register on every request (no cache), so a change of state
//! is what every verifier sees at once, on every replica. They show only what a verifier needs
//! (masked name, unit, category, region, state, validity, latest review).

pub mod db;
pub mod limiter;
pub mod loadtest;
pub mod rules;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use chrono::NaiveDate;
use diesel::Connection;
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::audit::{self, Change};
use crate::auth::{Capability, Grant};
use crate::certs::rules::{CertState, NumberKind};
use crate::db::DbConn;
use crate::error::{Error, Result};
use crate::roster::Scope;
use crate::signing::{Algorithm, Keyring};

pub use rules::{Claims, StatusList, Verdict};

/// At most this many numbers in one bulk call.
pub const MAX_BATCH: usize = 1000;

/// The latest decided annual review.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct LatestReview {
    /// The reviewed year.
    pub year: i32,
    /// 合格, 不合格 or 未年审.
    pub result: String,
}

/// What a verifier learns of a certificate.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Checked {
    /// The certificate number, as registered.
    pub number: String,
    /// Whether the certificate may be used today (state 有效 and within its validity).
    pub valid: bool,
    /// 有效, 暂扣, 吊销, 注销 or 过期 (a certificate past its date reads 过期 at once, even
    /// before the nightly job marks it).
    pub state: String,
    /// The holder's name, masked (张*三).
    pub name: String,
    /// Whether the name the verifier typed is the holder's (absent when none was typed).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name_matches: Option<bool>,
    /// 工作单位.
    pub unit: String,
    /// 执法类别.
    pub category: String,
    /// 执法区域.
    pub region: String,
    /// 发证机关.
    pub issuer: String,
    #[schema(value_type = Option<String>, format = Date)]
    pub issued_on: Option<NaiveDate>,
    #[schema(value_type = Option<String>, format = Date)]
    pub valid_until: Option<NaiveDate>,
    /// The latest decided annual review, if any.
    pub latest_review: Option<LatestReview>,
    /// When the register was read (UTC, RFC 3339).
    pub checked_at: String,
}

/// One number of a bulk call: what was found, or why not.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct BatchItem {
    /// The number as sent.
    pub number: String,
    /// `found`, `not_found` or `invalid`.
    pub status: String,
    /// Why, for `not_found` and `invalid`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub certificate: Option<Checked>,
}

/// How a typed number is looked up: Err when it is of the bureau's pattern with a wrong check
/// character, or is no number at all.
pub fn normalise(pattern: &crate::certs::rules::Pattern, raw: &str) -> Result<String> {
    let number: String = raw
        .trim()
        .chars()
        .map(|c| match c {
            // full-width digits and letters, as typed on a phone
            '０'..='９' | 'Ａ'..='Ｚ' | 'ａ'..='ｚ' => {
                char::from_u32(c as u32 - 0xFEE0).unwrap_or(c)
            }
            _ => c,
        })
        .collect();
    if number.is_empty() {
        return Err(Error::invalid("number", "请输入执法证号"));
    }
    if number.chars().count() > 100 || number.chars().any(char::is_control) {
        return Err(Error::invalid("number", "不是有效的执法证号"));
    }
    match pattern.classify(&number) {
        NumberKind::Valid => Ok(number.to_uppercase()),
        NumberKind::BadCheck => Err(Error::invalid(
            "number",
            "不是有效的执法证号：校验位不符，请核对证号是否抄错",
        )),
        NumberKind::Other => Ok(number),
    }
}

const NOT_FOUND: &str = "未查到该执法证：请核对证号。如确认证号无误，该证件可能不是本机关颁发的";

fn checked(
    found: db::Found,
    review: Option<(i32, String)>,
    name: Option<&str>,
    today: NaiveDate,
    at: &str,
) -> Checked {
    let mut state = found.state.clone();
    let expired = found.valid_until.is_some_and(|d| d < today);
    if state == CertState::Valid.label() && expired {
        state = CertState::Expired.label().to_string();
    }
    Checked {
        valid: state == CertState::Valid.label(),
        state,
        name: rules::mask_name(&found.name),
        name_matches: name
            .map(str::trim)
            .filter(|n| !n.is_empty())
            .map(|n| n == found.name.trim()),
        number: found.number,
        unit: found.unit,
        category: found.category,
        region: found.region,
        issuer: found.issuer,
        issued_on: found.issued_on,
        valid_until: found.valid_until,
        latest_review: review.map(|(year, result)| LatestReview { year, result }),
        checked_at: at.to_string(),
    }
}

fn now_text() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// How many ordinary lookups a lookup counts as against the rate limit: one with a typed name
/// tells whether the name is right, so it is a guess at the middle of a masked name (张*三),
/// and guesses are made ten times as dear (six a minute at the default limit).
pub fn lookup_cost(name: Option<&str>) -> u32 {
    if name.is_some_and(|n| !n.trim().is_empty()) {
        10
    } else {
        1
    }
}

/// Looks one certificate up (the public page and `GET /api/v1/verify/{number}`).
pub fn lookup(
    conn: &mut DbConn,
    pattern: &crate::certs::rules::Pattern,
    number: &str,
    name: Option<&str>,
) -> Result<Checked> {
    let number = normalise(pattern, number)?;
    let Some((found, review)) = db::by_number_with_review(conn, &number)? else {
        return Err(Error::NotFound(NOT_FOUND.into()));
    };
    Ok(checked(
        found,
        review,
        name,
        crate::db::now().date(),
        &now_text(),
    ))
}

/// Looks up to [`MAX_BATCH`] numbers up at once, in the order sent.
pub fn lookup_many(
    conn: &mut DbConn,
    pattern: &crate::certs::rules::Pattern,
    numbers: &[String],
) -> Result<Vec<BatchItem>> {
    if numbers.is_empty() {
        return Err(Error::invalid("numbers", "请至少给出一个执法证号"));
    }
    if numbers.len() > MAX_BATCH {
        return Err(Error::invalid(
            "numbers",
            format!(
                "一次最多核验 {MAX_BATCH} 个证号，本次 {} 个：请分批提交",
                numbers.len()
            ),
        ));
    }
    let normalised: Vec<Result<String>> = numbers.iter().map(|n| normalise(pattern, n)).collect();
    let wanted: Vec<String> = normalised
        .iter()
        .filter_map(|n| n.as_ref().ok().cloned())
        .collect();
    let found = db::by_numbers(conn, &wanted)?;
    let ids: Vec<i64> = found.iter().map(|f| f.id).collect();
    // oldest first, so each certificate's entry ends as its latest
    let reviews: std::collections::HashMap<i64, (i32, String)> = db::decided_reviews(conn, &ids)?
        .into_iter()
        .map(|(id, y, r)| (id, (y, r)))
        .collect();
    let by_number: std::collections::HashMap<String, db::Found> =
        found.into_iter().map(|f| (f.number.clone(), f)).collect();
    let today = crate::db::now().date();
    let at = now_text();
    Ok(numbers
        .iter()
        .zip(normalised)
        .map(|(sent, n)| match n {
            Err(e) => BatchItem {
                number: sent.clone(),
                status: "invalid".into(),
                message: Some(e.to_string()),
                certificate: None,
            },
            Ok(n) => match by_number.get(&n).cloned() {
                None => BatchItem {
                    number: sent.clone(),
                    status: "not_found".into(),
                    message: Some(NOT_FOUND.into()),
                    certificate: None,
                },
                Some(f) => {
                    let review = reviews.get(&f.id).cloned();
                    BatchItem {
                        number: sent.clone(),
                        status: "found".into(),
                        message: None,
                        certificate: Some(checked(f, review, None, today, &at)),
                    }
                }
            },
        })
        .collect())
}

/// The status-list index of a certificate: its id.
pub fn status_index(certificate_id: i64) -> u32 {
    u32::try_from(certificate_id).unwrap_or(u32::MAX)
}

/// The signed revocation and suspension list, read now.
pub fn status_list(
    conn: &mut DbConn,
    keyring: &Keyring,
    algorithm: Algorithm,
    issuer: &str,
) -> Result<StatusList> {
    let (max, revoked, suspended) = conn.transaction(|conn| {
        Ok::<_, diesel::result::Error>((
            db::max_id(conn)?,
            db::ids_in_states(
                conn,
                &[CertState::Revoked.label(), CertState::Cancelled.label()],
            )?,
            db::ids_in_states(conn, &[CertState::Suspended.label()])?,
        ))
    })?;
    let size = rules::list_size(max.map(status_index));
    let mut list = StatusList {
        version: 1,
        issuer: issuer.to_string(),
        issued_at: now_text(),
        size,
        revoked: rules::encode_bits(size, revoked.into_iter().map(status_index)),
        suspended: rules::encode_bits(size, suspended.into_iter().map(status_index)),
        key_id: String::new(),
        algorithm: algorithm.as_str().into(),
        signature: String::new(),
    };
    let (key_id, signature) = sign(keyring, algorithm, &list.message())?;
    list.key_id = key_id;
    list.signature = B64.encode(signature);
    Ok(list)
}

fn sign(keyring: &Keyring, algorithm: Algorithm, message: &[u8]) -> Result<(String, Vec<u8>)> {
    keyring
        .sign_with(algorithm, message)
        .map(|(id, sig)| (id.to_string(), sig))
        .ok_or_else(|| no_key(algorithm))
}

fn no_key(algorithm: Algorithm) -> Error {
    Error::Internal(anyhow::anyhow!(
        "签名密钥文件中没有 {} 密钥：请重启服务以生成",
        algorithm.label()
    ))
}

/// The signed QR payloads of these certificates, and the link each card's QR code holds.
pub fn card_links(
    keyring: &Keyring,
    algorithm: Algorithm,
    public_url: &str,
    found: &[db::Found],
) -> Result<Vec<String>> {
    let key_id = keyring.signer(algorithm).ok_or_else(|| no_key(algorithm))?;
    Ok(found
        .iter()
        .map(|f| {
            let claims = Claims {
                key_id: key_id.to_string(),
                index: status_index(f.id),
                number: f.number.clone(),
                masked_name: rules::mask_name(&f.name),
                unit_code: f.unit_code.clone(),
                category: f.category.clone(),
                valid_from: f.issued_on,
                valid_until: f.valid_until,
            };
            // the key is there (checked above), so the signature is
            let payload = rules::encode(&claims, |m| {
                keyring
                    .sign_with(algorithm, m)
                    .map(|(_, sig)| sig)
                    .unwrap_or_default()
            });
            format!("{public_url}/v/{payload}")
        })
        .collect())
}

/// A published key, as `GET /api/v1/keys` lists it.
#[derive(Debug, Clone, Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct PublishedKey {
    /// 16 hex digits: what QR payloads and status lists name.
    pub key_id: String,
    /// `ed25519` or `sm2`.
    pub algorithm: String,
    /// Hex: 32 bytes for Ed25519, the 65-byte uncompressed point for SM2.
    pub public_key: String,
    /// `current` (signs now) or `retired` (verifies what it signed before).
    pub status: String,
}

/// The keys that verify cards and status lists.
#[derive(Debug, Clone, Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct PublishedKeys {
    pub issuer: String,
    /// The algorithm new cards and lists are signed with.
    pub algorithm: String,
    pub keys: Vec<PublishedKey>,
}

pub fn published_keys(keyring: &Keyring, algorithm: Algorithm, issuer: &str) -> PublishedKeys {
    PublishedKeys {
        issuer: issuer.to_string(),
        algorithm: algorithm.as_str().into(),
        keys: keyring
            .public_keys()
            .iter()
            .map(|(id, k)| PublishedKey {
                key_id: id.to_string(),
                algorithm: k.algorithm().as_str().into(),
                public_key: hex::encode(k.to_bytes()),
                status: if keyring.is_current(id) {
                    "current"
                } else {
                    "retired"
                }
                .into(),
            })
            .collect(),
    }
}

impl PublishedKeys {
    /// The keys as a verifier holds them (entries it cannot read are skipped).
    pub fn to_public_keys(&self) -> crate::signing::PublicKeys {
        let mut keys = crate::signing::PublicKeys::new();
        for k in &self.keys {
            if let (Some(alg), Ok(bytes)) =
                (Algorithm::parse(&k.algorithm), hex::decode(&k.public_key))
                && let Some(key) = crate::signing::PublicKey::from_bytes(alg, &bytes)
                && key.id() == k.key_id
            {
                keys.add(key);
            }
        }
        keys
    }
}

// ---- API keys for agencies ----

/// An agency's API key, as the bureau sees it (never the key itself).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ApiKey {
    pub id: i64,
    /// The agency.
    pub name: String,
    pub contact: String,
    /// The key's first characters, to recognise it.
    pub prefix: String,
    pub created_by: String,
    pub created_at: String,
    pub revoked_at: Option<String>,
    pub revoked_by: String,
    /// Calls made with the key.
    pub calls: i64,
    /// Certificate numbers checked with it.
    pub numbers: i64,
    pub last_used_at: Option<String>,
}

fn time(t: chrono::NaiveDateTime) -> String {
    t.and_utc()
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

impl From<db::KeyRow> for ApiKey {
    fn from(r: db::KeyRow) -> ApiKey {
        ApiKey {
            id: r.id,
            name: r.name,
            contact: r.contact,
            prefix: r.prefix,
            created_by: r.created_by,
            created_at: time(r.created_at),
            revoked_at: r.revoked_at.map(time),
            revoked_by: r.revoked_by,
            calls: r.calls,
            numbers: r.numbers,
            last_used_at: r.last_used_at.map(time),
        }
    }
}

const KEY_PREFIX: &str = "zfk_";

fn hash_key(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.trim().as_bytes()))
}

fn bureau_only(grant: &Grant) -> Result<()> {
    grant.require(Capability::ManageCerts)?;
    match grant.scope() {
        Scope::All => Ok(()),
        _ => Err(Error::Forbidden(
            "只有司法局管理员可以管理核验接口密钥".into(),
        )),
    }
}

/// Issues a key to an agency: the key itself is returned once and only its hash is kept.
pub fn issue_key(
    conn: &mut DbConn,
    grant: &Grant,
    name: &str,
    contact: &str,
) -> Result<(ApiKey, String)> {
    bureau_only(grant)?;
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 100 {
        return Err(Error::invalid(
            "name",
            "请填写使用单位名称（不超过 100 字）",
        ));
    }
    let contact = contact.trim();
    if contact.chars().count() > 100 {
        return Err(Error::invalid("contact", "联系人不超过 100 字"));
    }
    let mut bytes = [0u8; 32];
    {
        use rand::TryRngCore;
        rand::rngs::OsRng
            .try_fill_bytes(&mut bytes)
            .map_err(|e| Error::Internal(anyhow::anyhow!("无法取得系统随机数：{e}")))?;
    }
    let secret = format!("{KEY_PREFIX}{}", B64.encode(bytes));
    let prefix: String = secret.chars().take(KEY_PREFIX.len() + 6).collect();
    let actor = grant.actor();
    let row = audit::transaction(conn, actor, |conn, rec| {
        let id = db::insert_key(
            conn,
            &db::NewKey {
                name,
                contact,
                prefix: &prefix,
                secret_hash: &hash_key(&secret),
                created_by: &actor.name,
                created_at: crate::db::now(),
            },
        )?;
        rec.record(
            conn,
            Change::new(
                "verify.key_issue",
                "api_key",
                id,
                format!("向“{name}”发放核验接口密钥 {prefix}…"),
            ),
        )?;
        db::key(conn, id)?.ok_or_else(|| Error::not_found("密钥"))
    })?;
    Ok((row.into(), secret))
}

pub fn list_keys(conn: &mut DbConn, grant: &Grant) -> Result<Vec<ApiKey>> {
    bureau_only(grant)?;
    Ok(db::keys(conn)?.into_iter().map(ApiKey::from).collect())
}

pub fn revoke_key(conn: &mut DbConn, grant: &Grant, id: i64) -> Result<ApiKey> {
    bureau_only(grant)?;
    let actor = grant.actor();
    audit::transaction(conn, actor, |conn, rec| {
        let key = db::key(conn, id)?.ok_or_else(|| Error::not_found("密钥"))?;
        if key.revoked_at.is_some() {
            return Err(Error::conflict("id", "该密钥已经作废"));
        }
        db::revoke_key(conn, id, &actor.name, crate::db::now())?;
        rec.record(
            conn,
            Change::new(
                "verify.key_revoke",
                "api_key",
                id,
                format!("作废“{}”的核验接口密钥 {}…", key.name, key.prefix),
            ),
        )?;
        Ok(db::key(conn, id)?
            .ok_or_else(|| Error::not_found("密钥"))?
            .into())
    })
}

/// The key a bulk call presents, if it is one in force.
pub fn authenticate(conn: &mut DbConn, secret: &str) -> Result<db::KeyRow> {
    let refused = || Error::WrongCredentials("核验接口密钥无效或已作废，请向司法局申请".into());
    if !secret.trim().starts_with(KEY_PREFIX) {
        return Err(refused());
    }
    match db::key_by_hash(conn, &hash_key(secret))? {
        Some(k) if k.revoked_at.is_none() => Ok(k),
        _ => Err(refused()),
    }
}

/// Counts a call and the numbers it checked.
pub fn count_use(conn: &mut DbConn, key: &db::KeyRow, numbers: usize) -> Result<()> {
    db::count_use(conn, key.id, numbers as i64, crate::db::now())?;
    Ok(())
}
