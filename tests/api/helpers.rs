//! `spawn_app()`: the real service on port 0 with its own fresh database — a SQLite file in a
//! temporary directory, or a PostgreSQL database created for the test and dropped afterwards.

use diesel::Connection;
use diesel::RunQueryDsl;
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::net::TcpListener;
use zhifa::config::Config;
use zhifa::db::Backend;

pub const ADMIN_PASSWORD: &str = "Zhifa-Test-2026";

/// Runs the body once per backend: `both!(name, |app| async move { … })`, or with the
/// configuration changed first: `both!(name, config = |c| …, |app| async move { … })`.
#[macro_export]
macro_rules! both {
    ($name:ident, config = $tweak:expr, $body:expr) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                if let Some(app) =
                    $crate::helpers::spawn_app_with(zhifa::db::Backend::Sqlite, $tweak).await
                {
                    ($body)(app).await;
                }
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                if let Some(app) =
                    $crate::helpers::spawn_app_with(zhifa::db::Backend::Postgres, $tweak).await
                {
                    ($body)(app).await;
                }
            }
        }
    };
    ($name:ident, $body:expr) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                if let Some(app) = $crate::helpers::spawn_app(zhifa::db::Backend::Sqlite).await {
                    ($body)(app).await;
                }
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                if let Some(app) = $crate::helpers::spawn_app(zhifa::db::Backend::Postgres).await {
                    ($body)(app).await;
                }
            }
        }
    };
}

pub struct TestApp {
    pub address: String,
    pub backend: Backend,
    pub state: zhifa::web::AppState,
    pub client: reqwest::Client,
    _dir: tempfile::TempDir,
    pg_drop: Option<(String, String)>,
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some((admin_url, name)) = self.pg_drop.take()
            && let Ok(mut c) = diesel::PgConnection::establish(&admin_url)
        {
            let _ = diesel::sql_query(format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
                .execute(&mut c);
        }
    }
}

fn pg_base() -> String {
    std::env::var("ZHIFA_TEST_PG").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432".into())
}

/// A fresh database URL for the backend, or None when PostgreSQL is not reachable outside CI.
fn fresh_database(
    backend: Backend,
    dir: &std::path::Path,
) -> Option<(String, Option<(String, String)>)> {
    match backend {
        Backend::Sqlite => Some((format!("sqlite://{}", dir.join("zhifa.db").display()), None)),
        Backend::Postgres => {
            let admin_url = format!("{}/postgres", pg_base());
            let mut c = match diesel::PgConnection::establish(&admin_url) {
                Ok(c) => c,
                Err(e) => {
                    if std::env::var("CI").is_ok() || std::env::var("ZHIFA_REQUIRE_PG").is_ok() {
                        panic!("PostgreSQL 不可用（{admin_url}）：{e}");
                    }
                    eprintln!("跳过 PostgreSQL 测试：无法连接 {admin_url}（{e}）");
                    return None;
                }
            };
            let name = format!(
                "zhifa_test_{}",
                zhifa::auth::rules::new_token().get(..16).unwrap_or("x")
            );
            diesel::sql_query(format!("CREATE DATABASE \"{name}\""))
                .execute(&mut c)
                .expect("create test database");
            Some((format!("{}/{name}", pg_base()), Some((admin_url, name))))
        }
    }
}

pub async fn spawn_app(backend: Backend) -> Option<TestApp> {
    spawn_app_with(backend, |_| {}).await
}

pub async fn spawn_app_with(backend: Backend, tweak: impl FnOnce(&mut Config)) -> Option<TestApp> {
    let dir = tempfile::tempdir().expect("temp dir");
    let (database_url, pg_drop) = fresh_database(backend, dir.path())?;
    Some(start_app(backend, dir, database_url, pg_drop, tweak))
}

impl TestApp {
    /// A second `zhifa serve` on the same database and keys: another replica behind the balancer.
    pub fn replica(&self) -> TestApp {
        self.replica_with(|_| {})
    }

    /// A replica with a setting changed (the same one the first app was started with).
    pub fn replica_with(&self, tweak: impl FnOnce(&mut Config)) -> TestApp {
        let dir = tempfile::tempdir().expect("temp dir");
        let shared = self.state.config.clone();
        start_app(self.backend, dir, shared.database_url.clone(), None, |c| {
            c.exam_key_file = shared.exam_key_file.clone();
            c.signing_key_file = shared.signing_key_file.clone();
            c.signing_algorithm = shared.signing_algorithm;
            tweak(c);
        })
    }
}

fn start_app(
    backend: Backend,
    dir: tempfile::TempDir,
    database_url: String,
    pg_drop: Option<(String, String)>,
    tweak: impl FnOnce(&mut Config),
) -> TestApp {
    let mut config = Config::for_database(database_url.clone(), dir.path().to_path_buf());
    config.admin_password = Some(ADMIN_PASSWORD.into());
    config.pool_size = 4;
    // the bank tests load it themselves; every other test starts faster without it
    config.seed_question_bank = false;
    tweak(&mut config);
    let (state, generated) = zhifa::prepare(config).expect("prepare app");
    assert!(generated.is_none());
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().unwrap().port();
    let server = zhifa::serve(state.clone(), listener).expect("serve");
    tokio::spawn(server);
    let client = reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    TestApp {
        address: format!("http://127.0.0.1:{port}"),
        backend,
        state,
        client,
        _dir: dir,
        pg_drop,
    }
}

/// A response's status and JSON body.
pub struct Resp {
    pub status: StatusCode,
    pub body: Value,
}

impl Resp {
    pub async fn of(r: reqwest::Response) -> Resp {
        let status = r.status();
        let text = r.text().await.unwrap_or_default();
        let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
        Resp { status, body }
    }
    #[track_caller]
    pub fn expect(self, status: u16) -> Value {
        assert_eq!(
            self.status.as_u16(),
            status,
            "unexpected status; body: {}",
            self.body
        );
        self.body
    }
    pub fn error_code(&self) -> &str {
        self.body["error"]["code"].as_str().unwrap_or("")
    }
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.address, path)
    }

    pub fn conn(&self) -> zhifa::db::PooledConn {
        self.state.pool.get().expect("db connection")
    }

    pub async fn token(&self, username: &str, password: &str) -> Resp {
        Resp::of(
            self.client
                .post(self.url("/api/v1/auth/token"))
                .json(&json!({"username": username, "password": password}))
                .send()
                .await
                .unwrap(),
        )
        .await
    }

    pub async fn admin(&self) -> String {
        self.token("admin", ADMIN_PASSWORD).await.expect(201)["token"]
            .as_str()
            .unwrap()
            .to_string()
    }

    pub async fn get(&self, path: &str, token: &str) -> Resp {
        Resp::of(
            self.client
                .get(self.url(path))
                .bearer_auth(token)
                .send()
                .await
                .unwrap(),
        )
        .await
    }

    pub async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        token: &str,
        body: Value,
    ) -> Resp {
        Resp::of(
            self.client
                .request(method, self.url(path))
                .bearer_auth(token)
                .json(&body)
                .send()
                .await
                .unwrap(),
        )
        .await
    }

    pub async fn post(&self, path: &str, token: &str, body: Value) -> Resp {
        self.send(reqwest::Method::POST, path, token, body).await
    }

    pub async fn put(&self, path: &str, token: &str, body: Value) -> Resp {
        self.send(reqwest::Method::PUT, path, token, body).await
    }

    pub async fn patch(&self, path: &str, token: &str, body: Value) -> Resp {
        self.send(reqwest::Method::PATCH, path, token, body).await
    }

    /// A POST that answers with a file: its status, content type and bytes.
    pub async fn download(&self, path: &str, token: &str, body: Value) -> (u16, String, Vec<u8>) {
        file_of(
            self.client
                .post(self.url(path))
                .bearer_auth(token)
                .json(&body),
        )
        .await
    }

    /// A GET that answers with a file: its status, content type and bytes.
    pub async fn get_file(&self, path: &str, token: &str) -> (u16, String, Vec<u8>) {
        file_of(self.client.get(self.url(path)).bearer_auth(token)).await
    }

    pub async fn upload(&self, path: &str, token: &str, bytes: Vec<u8>) -> Resp {
        Resp::of(
            self.client
                .post(self.url(path))
                .bearer_auth(token)
                .body(bytes)
                .send()
                .await
                .unwrap(),
        )
        .await
    }

    /// Creates a unit and returns its id.
    pub async fn unit(
        &self,
        token: &str,
        code: &str,
        name: &str,
        region: &str,
        parent: Option<i64>,
    ) -> i64 {
        self.post(
            "/api/v1/units",
            token,
            json!({"code": code, "name": name, "region_code": region, "parent_id": parent}),
        )
        .await
        .expect(201)["id"]
            .as_i64()
            .unwrap()
    }

    /// Creates an officer and returns its id.
    pub async fn officer(&self, token: &str, name: &str, id_number: &str, unit_id: i64) -> i64 {
        self.post(
            "/api/v1/officers",
            token,
            json!({"name": name, "id_number": id_number, "unit_id": unit_id, "employment_type": "行政编制", "post": "科员"}),
        )
        .await
        .expect(201)["id"]
        .as_i64()
        .unwrap()
    }

    /// Creates an account with a policy-conforming password; returns (id, password).
    pub async fn user(
        &self,
        token: &str,
        username: &str,
        role: &str,
        unit_id: Option<i64>,
        officer_id: Option<i64>,
    ) -> (i64, String) {
        let password = format!("Strong#Pass-{}", 2026 + username.len());
        let body = self
            .post(
                "/api/v1/users",
                token,
                json!({"username": username, "display_name": "测试", "password": password, "role": role, "unit_id": unit_id, "officer_id": officer_id}),
            )
            .await
            .expect(201);
        (body["id"].as_i64().unwrap(), password)
    }

    /// Signs the shared cookie client in through the login form.
    pub async fn browser_login(&self, username: &str, password: &str) -> reqwest::Response {
        let page = self
            .client
            .get(self.url("/login"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        let csrf = csrf_of(&page);
        self.client
            .post(self.url("/login"))
            .form(&[
                ("username", username),
                ("password", password),
                ("csrf", &csrf),
            ])
            .send()
            .await
            .unwrap()
    }

    pub async fn page(&self, path: &str) -> (StatusCode, String) {
        let r = self.client.get(self.url(path)).send().await.unwrap();
        (r.status(), r.text().await.unwrap())
    }

    pub fn sql(&self, sql: &str) {
        let mut c = self.conn();
        diesel::sql_query(sql)
            .execute(&mut *c)
            .unwrap_or_else(|e| panic!("{sql}: {e}"));
    }
}

/// The first CSRF token in a page.
pub fn csrf_of(html: &str) -> String {
    let i = html
        .find("name=\"csrf\" value=\"")
        .expect("page has a csrf field")
        + 19;
    html[i..i + 64].to_string()
}

/// A valid ID number for a region, birth date and sequence.
pub fn id(region: &str, birth: &str, seq: u16) -> String {
    zhifa::roster::rules::make_id_number(
        region,
        chrono::NaiveDate::parse_from_str(birth, "%Y-%m-%d").unwrap(),
        seq,
    )
}

/// The text a PDF reader would copy out of every page.
pub fn pdf_text(pdf: &[u8]) -> String {
    let doc = lopdf::Document::load_mem(pdf).expect("a readable PDF");
    let pages: Vec<u32> = doc.get_pages().keys().copied().collect();
    doc.extract_text(&pages).expect("text")
}

pub fn pdf_pages(pdf: &[u8]) -> usize {
    lopdf::Document::load_mem(pdf)
        .expect("a readable PDF")
        .get_pages()
        .len()
}

async fn file_of(req: reqwest::RequestBuilder) -> (u16, String, Vec<u8>) {
    let r = req.send().await.expect("request");
    let status = r.status().as_u16();
    let ct = r
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    (status, ct, r.bytes().await.expect("body").to_vec())
}

/// A real JPEG photo of `w` × `h` pixels (a grey figure with some grain).
pub fn photo_jpeg(w: u32, h: u32) -> Vec<u8> {
    let img = photo_pixels(w, h);
    let mut out = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 85)
        .encode_image(&img)
        .unwrap();
    out
}

/// The same as a PNG.
pub fn photo_png(w: u32, h: u32) -> Vec<u8> {
    let img = photo_pixels(w, h);
    let mut out = std::io::Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Png).unwrap();
    out.into_inner()
}

fn photo_pixels(w: u32, h: u32) -> image::RgbImage {
    image::RgbImage::from_fn(w, h, |x, y| {
        let inside = ((x as f32 - w as f32 / 2.0) / (w as f32 / 4.0)).powi(2)
            + ((y as f32 - h as f32 / 2.5) / (h as f32 / 5.0)).powi(2)
            <= 1.0;
        let n = ((x * 31 + y * 17) % 13) as u8;
        if inside {
            image::Rgb([220 - n, 180, 150])
        } else {
            image::Rgb([70, 140, 220 - n])
        }
    })
}
