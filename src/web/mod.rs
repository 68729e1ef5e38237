//! HTTP: thin handlers over the domain modules. `api` answers JSON under /api/v1, `pages` renders
//! the Chinese UI; both share the state, the sign-in extractors and the error mapping.

pub mod api;
pub mod error;
pub mod pages;

use crate::auth::{self, Policy, Principal, SessionKind};
use crate::config::Config;
use crate::db::{Backend, DbConn, Pool};
use crate::error::{Error, Result};
use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpRequest, web};
use error::{ApiError, PageError};
use futures_util::future::LocalBoxFuture;
use std::sync::Arc;

pub const SESSION_COOKIE: &str = "zhifa_session";

#[derive(Clone)]
pub struct AppState {
    pub pool: Pool,
    pub backend: Backend,
    pub config: Arc<Config>,
    pub policy: Policy,
    pub login_limiter: Arc<LoginLimiter>,
    /// The bureau's signing keys (audit checkpoints).
    pub keyring: Arc<crate::signing::Keyring>,
    /// The key exam access codes are sealed with.
    pub exam_key: Arc<crate::exams::access::ExamKey>,
    /// Batches' papers, loaded once per process.
    pub papers: crate::exams::Papers,
    /// The group-commit writer of exam answers.
    pub answers: crate::exams::commit::Committer,
    /// Numbering, validity and revocation-ban rules of certificates.
    pub certs: Arc<crate::certs::Settings>,
    /// Public verifications per client address and minute, across replicas.
    pub verify_limiter: Arc<crate::verify::limiter::Limiter>,
    /// Bulk verification calls per API key and minute, across replicas.
    pub key_limiter: Arc<crate::verify::limiter::Limiter>,
}

/// An exam-room request's bearer token (`POST /api/v1/exam/login` issues it) and where it
/// came from. The handler looks the candidate up in the same database call as its work.
pub struct ExamUser(pub String, pub crate::exams::Client);

impl FromRequest for ExamUser {
    type Error = ApiError;
    type Future = std::future::Ready<std::result::Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let token = req
            .headers()
            .get("Authorization")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(|t| t.trim().to_string())
            .filter(|t| !t.is_empty());
        std::future::ready(match token {
            Some(t) => Ok(ExamUser(t, exam_client(req))),
            None => Err(ApiError(Error::SessionEnded(
                "请先用准考证号、身份证号和访问码登录".into(),
            ))),
        })
    }
}

/// The address and browser of an exam-room request, for the attempt's log.
pub fn exam_client(req: &HttpRequest) -> crate::exams::Client {
    crate::exams::Client {
        ip: client_ip(req),
        device: req
            .headers()
            .get("User-Agent")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .chars()
            .take(200)
            .collect(),
    }
}

/// Failed logins per client address: the per-account lock-out stops guessing one account's
/// password, this stops one address trying many accounts. Only failures count, so a whole office
/// behind one NAT address still signs in freely. Kept per replica, in memory.
pub struct LoginLimiter {
    failures: governor::DefaultKeyedRateLimiter<std::net::IpAddr>,
    blocked: std::sync::Mutex<std::collections::HashMap<std::net::IpAddr, std::time::Instant>>,
}

impl LoginLimiter {
    /// 30 failures at once, then one every 2 seconds.
    pub fn new() -> Self {
        let quota = governor::Quota::with_period(std::time::Duration::from_secs(2))
            .expect("non-zero period")
            .allow_burst(std::num::NonZeroU32::new(30).expect("non-zero"));
        LoginLimiter {
            failures: governor::RateLimiter::keyed(quota),
            blocked: Default::default(),
        }
    }

    fn ip(req: &HttpRequest) -> Option<std::net::IpAddr> {
        client_ip(req).parse().ok()
    }

    /// Refuses an attempt from an address that is waiting out its failures.
    pub fn check(&self, req: &HttpRequest) -> Result<()> {
        let Some(ip) = Self::ip(req) else {
            return Ok(());
        };
        let mut blocked = self.blocked.lock().unwrap_or_else(|e| e.into_inner());
        match blocked.get(&ip) {
            Some(until) if *until > std::time::Instant::now() => Err(Error::too_many(
                "登录失败次数过多，请稍后再试",
                until
                    .saturating_duration_since(std::time::Instant::now())
                    .as_secs()
                    + 1,
            )),
            Some(_) => {
                blocked.remove(&ip);
                Ok(())
            }
            None => Ok(()),
        }
    }

    /// Counts a failed attempt; past the quota the address waits.
    pub fn failed(&self, req: &HttpRequest) {
        let Some(ip) = Self::ip(req) else { return };
        if self.failures.len() > 100_000 {
            self.failures.retain_recent();
        }
        if let Err(not_until) = self.failures.check_key(&ip) {
            let wait = not_until.wait_time_from(governor::clock::Clock::now(
                &governor::clock::DefaultClock::default(),
            ));
            let mut blocked = self.blocked.lock().unwrap_or_else(|e| e.into_inner());
            if blocked.len() > 100_000 {
                let now = std::time::Instant::now();
                blocked.retain(|_, until| *until > now);
            }
            blocked.insert(ip, std::time::Instant::now() + wait);
        }
    }
}

impl Default for LoginLimiter {
    fn default() -> Self {
        Self::new()
    }
}

impl AppState {
    /// What prints cards: the keys, the algorithm, the public address, the supervisor line.
    pub fn press(&self) -> crate::cards::Press<'_> {
        crate::cards::Press {
            keyring: &self.keyring,
            algorithm: self.config.signing_algorithm,
            public_url: &self.config.public_url,
            supervisor: &self.config.card_supervisor,
        }
    }

    /// Counts a public request against its client's rate limit: 429 when it is over.
    fn limit(
        &self,
        req: &HttpRequest,
        cost: u32,
    ) -> impl FnOnce(&mut DbConn) -> Result<()> + Send + 'static {
        let limiter = self.verify_limiter.clone();
        let client = crate::verify::limiter::client_key(&client_ip(req));
        move |c| {
            limiter.hit_weighted(c, &client, cost).map_err(|wait| {
                Error::too_many(
                    "查询过于频繁，请稍后再试（如需批量核验，请向司法局申请核验接口密钥）",
                    wait,
                )
            })
        }
    }

    /// Runs a public request's short read (a lookup by number) once the client's rate limit
    /// allows it, on the request's thread where it can ([`AppState::read_now`]). `cost`: how
    /// many ordinary requests it counts as.
    pub async fn public_read<T, F>(&self, req: &HttpRequest, cost: u32, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut DbConn) -> Result<T> + Send + 'static,
    {
        let limit = self.limit(req, cost);
        self.read_now(move |c| {
            limit(c)?;
            f(c)
        })
        .await
    }

    /// Runs a public request's heavier work (a listing, the status list) on the blocking pool
    /// once the client's rate limit allows it.
    pub async fn public_db<T, F>(&self, req: &HttpRequest, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut DbConn) -> Result<T> + Send + 'static,
    {
        let limit = self.limit(req, 1);
        self.db(move |c| {
            limit(c)?;
            f(c)
        })
        .await
    }

    /// A short read (point lookups by index, tens of microseconds) run on the request's own
    /// thread when it is SQLite and a connection is free at once: cheaper than the hop to the
    /// blocking pool and back, which costs more than the read itself. In WAL mode a read never
    /// waits for a writer. On PostgreSQL (a network round trip), or when every connection is
    /// busy, it goes to the blocking pool like any other database work.
    pub async fn read_now<T, F>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut DbConn) -> Result<T> + Send + 'static,
    {
        if self.backend == Backend::Sqlite
            && let Some(mut conn) = self.pool.try_get()
        {
            return f(&mut conn);
        }
        self.db(f).await
    }

    /// Runs blocking database work on the thread pool with a pooled connection.
    pub async fn db<T, F>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut DbConn) -> Result<T> + Send + 'static,
    {
        let pool = self.pool.clone();
        web::block(move || {
            let mut conn = pool.get()?;
            f(&mut conn)
        })
        .await
        .map_err(|e| Error::Internal(anyhow::anyhow!("后台任务失败：{e}")))?
    }

    /// The audit log's whole check: the chain, its signed checkpoints, this machine's witness
    /// file and the append-only triggers.
    pub async fn verify_audit(&self) -> Result<crate::audit::Verification> {
        let keyring = self.keyring.clone();
        let witness = self.config.audit_witness_file();
        self.db(move |c| crate::audit::verify(c, &keyring, Some(&witness)))
            .await
    }
}

/// The client's address: the peer, unless the peer is a configured trusted proxy, in which case
/// the right-most `X-Forwarded-For` entry that is not itself a trusted proxy. A client can't
/// forge its address by sending the header directly.
pub fn client_ip(req: &HttpRequest) -> String {
    let Some(peer) = req.peer_addr().map(|a| a.ip()) else {
        return "未知".into();
    };
    let Some(state) = req.app_data::<web::Data<AppState>>() else {
        return peer.to_string();
    };
    let trusted = &state.config.trusted_proxies;
    if !trusted.contains(&peer) {
        return peer.to_string();
    }
    let forwarded: Vec<std::net::IpAddr> = req
        .headers()
        .get_all("X-Forwarded-For")
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|s| s.trim().parse().ok())
        .collect();
    forwarded
        .into_iter()
        .rev()
        .find(|ip| !trusted.contains(ip))
        .unwrap_or(peer)
        .to_string()
}

/// The client's User-Agent, for the session record.
pub fn user_agent(req: &HttpRequest) -> String {
    req.headers()
        .get("User-Agent")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string()
}

/// An officer's photo as an HTTP answer (private: never cached by shared caches).
pub fn photo_response((content_type, data): (String, Vec<u8>)) -> actix_web::HttpResponse {
    actix_web::HttpResponse::Ok()
        .content_type(content_type)
        .insert_header(("Cache-Control", "private, no-cache"))
        .body(data)
}

fn credentials(req: &HttpRequest) -> Option<(String, SessionKind)> {
    if let Some(h) = req
        .headers()
        .get("Authorization")
        .and_then(|v| v.to_str().ok())
        && let Some(t) = h
            .strip_prefix("Bearer ")
            .or_else(|| h.strip_prefix("bearer "))
    {
        return Some((t.trim().to_string(), SessionKind::Api));
    }
    req.cookie(SESSION_COOKIE)
        .map(|c| (c.value().to_string(), SessionKind::Browser))
}

async fn principal(req: HttpRequest) -> Result<Principal> {
    let state = req
        .app_data::<web::Data<AppState>>()
        .ok_or(Error::Unauthenticated)?
        .clone();
    let (token, presented) = credentials(&req).ok_or(Error::Unauthenticated)?;
    let ip = client_ip(&req);
    let policy = state.policy;
    let p = state
        .db(move |c| auth::authenticate(c, &policy, &token, &ip))
        .await?
        .ok_or(Error::Unauthenticated)?;
    // a browser session's cookie must not be replayed as a bearer token, nor the reverse
    if p.kind != presented {
        return Err(Error::Unauthenticated);
    }
    Ok(p)
}

/// The signed-in user of an API call. Cookie-authenticated calls that change something must
/// carry the session's CSRF token in `X-CSRF-Token`.
pub struct ApiUser(pub Principal);

impl FromRequest for ApiUser {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, std::result::Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move {
            let p = principal(req.clone()).await?;
            let safe = matches!(req.method().as_str(), "GET" | "HEAD" | "OPTIONS");
            if !safe && p.kind == SessionKind::Browser {
                let header = req
                    .headers()
                    .get("X-CSRF-Token")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("");
                p.check_csrf(header)?;
            }
            Ok(ApiUser(p))
        })
    }
}

/// The signed-in user of a page; without one, the page redirects to the login form.
pub struct PageUser(pub Principal);

impl FromRequest for PageUser {
    type Error = PageError;
    type Future = LocalBoxFuture<'static, std::result::Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move {
            let p = principal(req).await?;
            if p.kind != SessionKind::Browser {
                return Err(PageError(Error::Unauthenticated));
            }
            Ok(PageUser(p))
        })
    }
}

/// A browser form from the signed-in user, its CSRF token (the `csrf` field) checked before
/// the handler runs: `PageForm(p, form): PageForm<T>`. A missing or wrong token is 403, a
/// body that isn't the form is 400 — always as a page.
pub struct PageForm<T>(pub Principal, pub T);

/// The most a plain form may carry (file uploads are multipart, read elsewhere).
const MAX_FORM_BYTES: usize = 1024 * 1024;

impl<T: serde::de::DeserializeOwned + 'static> FromRequest for PageForm<T> {
    type Error = PageError;
    type Future = LocalBoxFuture<'static, std::result::Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let req = req.clone();
        let mut payload = payload.take();
        Box::pin(async move {
            use futures_util::StreamExt;
            let p = principal(req).await?;
            if p.kind != SessionKind::Browser {
                return Err(PageError(Error::Unauthenticated));
            }
            let mut body = Vec::new();
            while let Some(chunk) = payload.next().await {
                let chunk = chunk.map_err(|e| Error::BadRequest(format!("表单无法读取：{e}")))?;
                if body.len() + chunk.len() > MAX_FORM_BYTES {
                    return Err(Error::TooLarge("表单内容过大".into()).into());
                }
                body.extend_from_slice(&chunk);
            }
            #[derive(serde::Deserialize)]
            struct Token {
                #[serde(default)]
                csrf: String,
            }
            let token: Token = serde_urlencoded::from_bytes(&body).unwrap_or(Token {
                csrf: String::new(),
            });
            p.check_csrf(&token.csrf)?;
            let form = serde_urlencoded::from_bytes(&body)
                .map_err(|e| Error::BadRequest(format!("表单内容有误：{e}")))?;
            Ok(PageForm(p, form))
        })
    }
}

/// Every route of the service.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/healthz").route(web::get().to(api::healthz)));
    api::routes(cfg);
    pages::routes(cfg);
}
