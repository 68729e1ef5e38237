//! zhifa (执法): the roster, exams, certificates and verification of a region's administrative
//! law-enforcement officers. `lib.rs` builds the actix App from an `AppState`; nothing else.

pub mod audit;
pub mod auth;
pub mod bank;
pub mod cards;
pub mod certs;
pub mod config;
pub mod db;
pub mod error;
pub mod exams;
pub mod jobs;
pub mod pdf;
pub mod reviews;
pub mod roster;
pub mod sheet;
pub mod signing;
pub mod verify;
pub mod web;

use actix_web::{App, HttpServer, middleware, web as aweb};
use std::net::TcpListener;
use std::sync::Arc;

/// Opens the database (migrating it), makes sure an administrator exists, and returns the state.
/// The second value is a generated administrator password, to be printed once.
pub fn prepare(config: config::Config) -> anyhow::Result<(web::AppState, Option<String>)> {
    let (pool, backend) = db::open(&config.database_url, config.pool_size)?;
    let generated = {
        let mut conn = pool.get()?;
        let generated = auth::ensure_admin(&mut conn, config.admin_password.as_deref())
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        if config.seed_question_bank
            && let Some(r) = bank::seed_if_new(&mut conn)
                .map_err(|e| anyhow::anyhow!("载入随附题库失败：{e}"))?
        {
            tracing::info!("新安装：已载入随附题库 {} 道题", r.created);
        }
        generated
    };
    let keyring =
        signing::Keyring::load_or_create(&config.signing_key_file, config.signing_algorithm)?;
    let exam_key = exams::access::ExamKey::load_or_create(&config.exam_key_file)?;
    pdf::fonts::configure(&config.font_fallbacks)?;
    let answers = exams::commit::Committer::new();
    let policy = auth::Policy::from_config(&config);
    let certs = certs::Settings::from_config(&config)?;
    let config_limits = (config.verify_rate_limit, config.api_key_rate_limit);
    Ok((
        web::AppState {
            pool,
            backend,
            config: Arc::new(config),
            policy,
            login_limiter: Arc::new(web::LoginLimiter::new()),
            keyring: Arc::new(keyring),
            exam_key: Arc::new(exam_key),
            papers: exams::Papers::default(),
            answers,
            certs: Arc::new(certs),
            verify_limiter: Arc::new(verify::limiter::Limiter::new("verify:", config_limits.0)),
            key_limiter: Arc::new(verify::limiter::Limiter::new("key:", config_limits.1)),
        },
        generated,
    ))
}

/// Serves the app on an already bound listener (tests bind port 0).
pub fn serve(
    state: web::AppState,
    listener: TcpListener,
) -> std::io::Result<actix_web::dev::Server> {
    let max_upload = state.config.max_upload_bytes;
    let workers = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(2);
    // database work runs on the blocking pool: more threads than connections only queue
    let blocking = (state.config.pool_size as usize).div_ceil(workers).max(2);
    spawn_checkpoints(&state);
    spawn_limit_flush(&state);
    jobs::spawn(&state);
    state.answers.spawn(state.pool.clone());
    let data = aweb::Data::new(state);
    let server = HttpServer::new(move || {
        App::new()
            .app_data(data.clone())
            .app_data(aweb::PayloadConfig::new(max_upload))
            .app_data(aweb::JsonConfig::default().limit(1024 * 1024).error_handler(web::api::json_error))
            .app_data(aweb::FormConfig::default().limit(1024 * 1024).error_handler(|e, _| {
                web::error::PageError(error::Error::BadRequest(format!("表单内容有误：{e}"))).into()
            }))
            .app_data(aweb::QueryConfig::default().error_handler(web::api::query_error))
            .wrap(middleware::ErrorHandlers::new().default_handler(web::error::uniform_errors))
            .wrap(middleware::Compress::default())
            .wrap(
                middleware::DefaultHeaders::new()
                    .add(("X-Content-Type-Options", "nosniff"))
                    .add(("X-Frame-Options", "DENY"))
                    .add(("Referrer-Policy", "same-origin"))
                    .add((
                        "Content-Security-Policy",
                        "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; frame-ancestors 'none'",
                    )),
            )
            .wrap(middleware::Logger::new("%a \"%r\" %s %b %Dms").exclude("/healthz"))
            .configure(web::routes)
    })
    .workers(workers)
    .worker_max_blocking_threads(blocking)
    .listen(listener)?
    .run();
    Ok(server)
}

/// Shares the rate limiters' counts with the other replicas, every second.
fn spawn_limit_flush(state: &web::AppState) {
    let state = state.clone();
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(std::time::Duration::from_secs(1));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            let (v, k) = (state.verify_limiter.clone(), state.key_limiter.clone());
            let done = state
                .db(move |c| {
                    v.flush(c)?;
                    k.flush(c)?;
                    Ok(())
                })
                .await;
            if let Err(e) = done {
                tracing::warn!("限流计数同步失败：{e}");
            }
        }
    });
}

/// Signs the audit chain's head now and then every `checkpoint_seconds` (when it moved), on the
/// blocking pool. Runs on the caller's tokio runtime, until that runtime ends.
fn spawn_checkpoints(state: &web::AppState) {
    let state = state.clone();
    let every = std::time::Duration::from_secs(state.config.checkpoint_seconds.max(1));
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            let s = state.clone();
            let witness = state.config.audit_witness_file();
            let done = state
                .db(move |c| audit::checkpoint(c, &s.keyring, Some(&witness)))
                .await;
            if let Err(e) = done {
                tracing::error!(
                    "审计日志签名检查点失败：{e}{}",
                    std::error::Error::source(&e)
                        .map(|s| format!("（{s}）"))
                        .unwrap_or_default()
                );
            }
        }
    });
}
