//! Group commit for answers. Every save waits for the transaction that carries it; one thread
//! writes whatever saves have queued up while the previous transaction committed, so a thousand
//! candidates saving at once cost a handful of commits, and each is told "saved" only after its
//! commit. The transaction writes only into attempts still open at that moment, so nothing lands
//! after a deadline or a hand-in.

use super::db;
use crate::db::Pool;
use crate::error::{Error, Result};
use chrono::NaiveDateTime;
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use tokio::sync::{mpsc, oneshot};

/// The most saves one transaction takes.
const MAX_BATCH: usize = 2000;

struct Save {
    attempt_id: i64,
    position: i32,
    answer: String,
    seq: i64,
    reply: oneshot::Sender<Result<NaiveDateTime>>,
}

enum Job {
    Save(Save),
    /// Answers once every job queued before it is committed.
    Barrier(oneshot::Sender<()>),
}

/// The handle handlers send saves to (cheap to clone). The writer runs as a task on the
/// server's runtime (started by `spawn`), its transactions on the blocking pool, so it ends with
/// the runtime and never outlives the process's database connections.
#[derive(Clone)]
pub struct Committer {
    tx: mpsc::UnboundedSender<Job>,
    rx: Arc<Mutex<Option<mpsc::UnboundedReceiver<Job>>>>,
}

impl std::fmt::Debug for Committer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Committer")
    }
}

impl Default for Committer {
    fn default() -> Self {
        Self::new()
    }
}

impl Committer {
    pub fn new() -> Committer {
        let (tx, rx) = mpsc::unbounded_channel();
        Committer {
            tx,
            rx: Arc::new(Mutex::new(Some(rx))),
        }
    }

    /// Starts the writer on the current runtime (once; later calls do nothing).
    pub fn spawn(&self, pool: Pool) {
        let rx = self.rx.lock().unwrap_or_else(|e| e.into_inner()).take();
        if let Some(rx) = rx {
            tokio::spawn(run(pool, rx));
        }
    }

    /// Saves an answer; returns when it is durable (or why it was refused).
    pub async fn save(
        &self,
        attempt_id: i64,
        position: i32,
        answer: String,
        seq: i64,
    ) -> Result<NaiveDateTime> {
        let (reply, rx) = oneshot::channel();
        self.tx
            .send(Job::Save(Save {
                attempt_id,
                position,
                answer,
                seq,
                reply,
            }))
            .map_err(|_| stopped())?;
        rx.await.map_err(|_| stopped())?
    }

    /// Waits until every save queued so far is committed (before a hand-in is graded).
    pub async fn flush(&self) -> Result<()> {
        let (reply, rx) = oneshot::channel();
        self.tx.send(Job::Barrier(reply)).map_err(|_| stopped())?;
        rx.await.map_err(|_| stopped())
    }
}

/// The writer is gone (the server is shutting down): try again on another replica.
fn stopped() -> Error {
    Error::too_many("服务正在重启，答案未保存，请稍后重试", 2)
}

async fn run(pool: Pool, mut rx: mpsc::UnboundedReceiver<Job>) {
    while let Some(first) = rx.recv().await {
        let mut saves = Vec::new();
        let mut barriers = Vec::new();
        let mut next = Some(first);
        while let Some(j) = next.take() {
            match j {
                Job::Save(s) => saves.push(s),
                Job::Barrier(b) => barriers.push(b),
            }
            if saves.len() < MAX_BATCH {
                next = rx.try_recv().ok();
            }
        }
        if !saves.is_empty() {
            let pool = pool.clone();
            let keys: Vec<(i64, i32, String, i64)> = saves
                .iter()
                .map(|s| (s.attempt_id, s.position, s.answer.clone(), s.seq))
                .collect();
            let outcome = tokio::task::spawn_blocking(move || write(&pool, &keys))
                .await
                .unwrap_or_else(|e| Err(Error::Internal(anyhow::anyhow!("answer writer: {e}"))));
            for s in saves {
                let r = match &outcome {
                    Ok((open, at)) if open.contains(&s.attempt_id) => Ok(*at),
                    Ok(_) => Err(Error::Closed(
                        "考试时间已到或已交卷，这个答案没有保存".into(),
                    )),
                    Err(e) => Err(match e {
                        Error::Busy(_) | Error::Unavailable(_) => {
                            Error::too_many("系统繁忙，答案未保存，请重试", 1)
                        }
                        _ => Error::Internal(anyhow::anyhow!("保存答案失败：{e}")),
                    }),
                };
                let _ = s.reply.send(r);
            }
        }
        for b in barriers {
            let _ = b.send(());
        }
    }
}

/// One transaction: which attempts are open, then every save into those (the newest per
/// question when one batch holds several).
fn write(pool: &Pool, saves: &[(i64, i32, String, i64)]) -> Result<(HashSet<i64>, NaiveDateTime)> {
    let mut conn = pool.get().map_err(Error::Unavailable)?;
    let now = crate::db::now();
    // the newest per question when one batch holds several
    let mut newest: HashMap<(i64, i32), &(i64, i32, String, i64)> = HashMap::new();
    for s in saves {
        newest
            .entry((s.0, s.1))
            .and_modify(|e| {
                if s.3 >= e.3 {
                    *e = s
                }
            })
            .or_insert(s);
    }
    let mut ids: Vec<i64> = saves.iter().map(|s| s.0).collect();
    ids.sort_unstable();
    ids.dedup();
    // Read before the transaction, so its first statement is a write (SQLite then waits for the
    // lock instead of failing a read-to-write upgrade). An attempt closed in between has had its
    // hand-in wait for this batch (`flush`), and a deadline is checked at this instant.
    let mut open = HashSet::new();
    for chunk in ids.chunks(500) {
        open.extend(db::open_attempts(&mut conn, chunk, now)?);
    }
    let rows: Vec<db::NewAnswer> = newest
        .values()
        .filter(|s| open.contains(&s.0))
        .map(|s| db::NewAnswer {
            attempt_id: s.0,
            position: s.1,
            answer: s.2.clone(),
            seq: s.3,
            saved_at: now,
        })
        .collect();
    use diesel::Connection;
    conn.transaction(|c| -> Result<()> { Ok(db::upsert_answers(c, &rows)?) })?;
    Ok((open, now))
}
