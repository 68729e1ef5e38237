//! `zhifa loadtest exam`: drives the pinned exam-room API the way an exam day does, from the
//! tickets `zhifa exam demo` writes: every candidate logs in and starts within the ramp, saves
//! an answer every few seconds, then hands in; then it checks in the database that every answer
//! the server acknowledged is there.

use crate::db::DbConn;
use rand::Rng;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

#[derive(Debug, Clone)]
pub struct Options {
    pub url: String,
    pub tickets: Vec<(String, String, String)>,
    /// Seconds over which logins and starts are spread (and hand-ins).
    pub ramp: u64,
    /// Seconds of answering after the last start.
    pub answering: u64,
    /// Mean seconds between one candidate's saves.
    pub interval: f64,
}

#[derive(Default)]
struct Phase {
    latencies_ms: Vec<f64>,
    errors: HashMap<String, usize>,
}

impl Phase {
    fn record(&mut self, started: Instant, outcome: Result<(), String>) {
        match outcome {
            Ok(()) => self
                .latencies_ms
                .push(started.elapsed().as_secs_f64() * 1000.0),
            Err(e) => *self.errors.entry(e).or_default() += 1,
        }
    }

    fn report(&mut self, name: &str, seconds: f64) -> String {
        self.latencies_ms.sort_by(|a, b| a.total_cmp(b));
        let n = self.latencies_ms.len();
        let pct = |p: f64| -> f64 {
            if n == 0 {
                0.0
            } else {
                self.latencies_ms[((n as f64 * p).ceil() as usize).clamp(1, n) - 1]
            }
        };
        let errors: usize = self.errors.values().sum();
        let mut s = format!(
            "{name}: {n} ok, {errors} errors, {:.0}/s over {seconds:.1} s; p50 {:.1} ms, p95 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
            n as f64 / seconds.max(0.001),
            pct(0.50),
            pct(0.95),
            pct(0.99),
            pct(1.0)
        );
        for (e, k) in &self.errors {
            s.push_str(&format!("\n  {k} × {e}"));
        }
        s
    }

    fn errors(&self) -> usize {
        self.errors.values().sum()
    }
}

/// What the server acknowledged: ticket → position → (the save's sequence number, answer).
type Acked = HashMap<String, HashMap<i64, (i64, String)>>;

struct Shared {
    start: Mutex<Phase>,
    save: Mutex<Phase>,
    submit: Mutex<Phase>,
    acked: Mutex<Acked>,
}

async fn call(
    client: &reqwest::Client,
    req: reqwest::RequestBuilder,
) -> Result<serde_json::Value, String> {
    let _ = client;
    let r = req.send().await.map_err(|e| {
        if e.is_timeout() {
            "timeout".to_string()
        } else {
            format!("connection: {}", e.without_url())
        }
    })?;
    let status = r.status();
    let body: serde_json::Value = r.json().await.unwrap_or_default();
    if status.is_success() {
        Ok(body)
    } else {
        Err(format!(
            "{} {}",
            status.as_u16(),
            body["error"]["code"].as_str().unwrap_or("")
        ))
    }
}

/// When one candidate does what, from the run's start.
struct Plan {
    t0: Instant,
    start_at: Duration,
    answer_until: Duration,
    submit_at: Duration,
}

async fn candidate(
    client: reqwest::Client,
    o: Arc<Options>,
    shared: Arc<Shared>,
    ticket: (String, String, String),
    plan: Plan,
) {
    let Plan {
        t0,
        start_at,
        answer_until,
        submit_at,
    } = plan;
    tokio::time::sleep_until((t0 + start_at).into()).await;
    let started = Instant::now();
    let login = call(
        &client,
        client
            .post(format!("{}/api/v1/exam/login", o.url))
            .json(&serde_json::json!({"ticket_no": ticket.0, "id_number": ticket.1, "access_code": ticket.2})),
    )
    .await;
    let token = match login {
        Ok(v) => v["token"].as_str().unwrap_or_default().to_string(),
        Err(e) => {
            shared
                .start
                .lock()
                .unwrap()
                .record(started, Err(format!("login {e}")));
            return;
        }
    };
    let attempt = call(
        &client,
        client
            .post(format!("{}/api/v1/exam/attempt", o.url))
            .bearer_auth(&token),
    )
    .await;
    let questions: Vec<(i64, String, usize)> = match attempt {
        Ok(v) => {
            shared.start.lock().unwrap().record(started, Ok(()));
            v["questions"]
                .as_array()
                .map(|qs| {
                    qs.iter()
                        .map(|q| {
                            (
                                q["position"].as_i64().unwrap_or(1),
                                q["type"].as_str().unwrap_or("").to_string(),
                                q["options"].as_array().map(|o| o.len()).unwrap_or(2),
                            )
                        })
                        .collect()
                })
                .unwrap_or_default()
        }
        Err(e) => {
            shared
                .start
                .lock()
                .unwrap()
                .record(started, Err(format!("attempt {e}")));
            return;
        }
    };
    if questions.is_empty() {
        return;
    }
    let mut seq = 0i64;
    loop {
        let wait = {
            let mut rng = rand::rng();
            // exponential gaps with the given mean
            -o.interval * (1.0 - rng.random::<f64>()).ln()
        };
        let next = Instant::now() + Duration::from_secs_f64(wait);
        if next >= t0 + answer_until {
            break;
        }
        tokio::time::sleep_until(next.into()).await;
        let (position, kind, options, keys) = {
            let mut rng = rand::rng();
            let (p, k, n) = questions[rng.random_range(0..questions.len())].clone();
            let n = n.clamp(2, 6);
            let first = (b'A' + rng.random_range(0..n as u8)) as char;
            let keys: Vec<String> = if k == "多选" {
                let second = (b'A' + ((first as u8 - b'A' + 1) % n as u8)) as char;
                let mut v = vec![first.to_string(), second.to_string()];
                v.sort();
                v
            } else {
                vec![first.to_string()]
            };
            (p, k, n, keys)
        };
        let _ = options;
        seq += 1;
        let body = if kind == "多选" {
            serde_json::json!({"answer": keys, "seq": seq})
        } else {
            serde_json::json!({"answer": keys[0], "seq": seq})
        };
        let started = Instant::now();
        let r = call(
            &client,
            client
                .put(format!("{}/api/v1/exam/attempt/answers/{position}", o.url))
                .bearer_auth(&token)
                .json(&body),
        )
        .await;
        match r {
            Ok(v) => {
                shared.save.lock().unwrap().record(started, Ok(()));
                shared
                    .acked
                    .lock()
                    .unwrap()
                    .entry(ticket.0.clone())
                    .or_default()
                    .insert(
                        position,
                        (seq, v["answer"].as_str().unwrap_or("").to_string()),
                    );
            }
            Err(e) => shared.save.lock().unwrap().record(started, Err(e)),
        }
    }
    tokio::time::sleep_until((t0 + submit_at).into()).await;
    let started = Instant::now();
    let r = call(
        &client,
        client
            .post(format!("{}/api/v1/exam/attempt/submit", o.url))
            .bearer_auth(&token),
    )
    .await;
    shared.submit.lock().unwrap().record(started, r.map(|_| ()));
}

/// Runs the load and prints the report; returns the number of errors plus missing answers.
pub fn run(o: Options, conn: Option<&mut DbConn>) -> anyhow::Result<usize> {
    let n = o.tickets.len();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let o = Arc::new(o);
    let shared = Arc::new(Shared {
        start: Mutex::new(Phase::default()),
        save: Mutex::new(Phase::default()),
        submit: Mutex::new(Phase::default()),
        acked: Mutex::new(HashMap::new()),
    });
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .pool_max_idle_per_host(256)
        // below the server's keep-alive (5 s), so an idle connection isn't reused just as the
        // server closes it (browsers retry such a request; this client would count an error)
        .pool_idle_timeout(Duration::from_secs(3))
        .build()?;
    let ramp = Duration::from_secs(o.ramp);
    let answer_until = ramp + Duration::from_secs(o.answering);
    let t0 = Instant::now() + Duration::from_millis(200);
    println!(
        "{n} candidates: starts spread over {} s, answering until {} s (a save every {:.0} s each, ≈ {:.0}/s), hand-ins over the next {} s",
        o.ramp,
        answer_until.as_secs(),
        o.interval,
        n as f64 / o.interval,
        o.ramp
    );
    rt.block_on(async {
        let mut tasks = Vec::with_capacity(n);
        for (i, t) in o.tickets.iter().cloned().enumerate() {
            let frac = i as f64 / n.max(1) as f64;
            let start_at = ramp.mul_f64(frac);
            let submit_at = answer_until + ramp.mul_f64(frac);
            tasks.push(tokio::spawn(candidate(
                client.clone(),
                o.clone(),
                shared.clone(),
                t,
                Plan {
                    t0,
                    start_at,
                    answer_until,
                    submit_at,
                },
            )));
        }
        for t in tasks {
            let _ = t.await;
        }
    });
    let answering = o.answering as f64;
    let ramp_s = o.ramp as f64;
    let mut errors = 0;
    for (name, phase, secs) in [
        ("start (login + attempt)", &shared.start, ramp_s),
        ("save", &shared.save, answering + ramp_s),
        ("submit", &shared.submit, ramp_s),
    ] {
        let mut p = phase.lock().unwrap();
        errors += p.errors();
        println!("{}", p.report(name, secs));
    }
    let acked = shared.acked.lock().unwrap();
    let total: usize = acked.values().map(|m| m.len()).sum();
    let mut missing = 0;
    if let Some(conn) = conn {
        missing = verify(conn, &acked)?;
        println!(
            "checked in the database: {total} acknowledged answers (the last per question), {missing} missing or different"
        );
    } else {
        println!("{total} acknowledged answers (not checked: no database given)");
    }
    Ok(errors + missing)
}

/// Every acknowledged answer (the last one per question) is stored, or superseded by a later save
/// of the same candidate that the server committed after the client had stopped waiting (a
/// timeout): the stored sequence number tells which.
fn verify(conn: &mut DbConn, acked: &Acked) -> anyhow::Result<usize> {
    use crate::db::schema::{exam_answers as ea, exam_attempts as at, exam_candidates as ec};
    use diesel::prelude::*;
    let mut missing = 0;
    let tickets: Vec<&String> = acked.keys().collect();
    for chunk in tickets.chunks(500) {
        let rows: Vec<(String, i32, i64, String)> = ec::table
            .inner_join(at::table.on(at::candidate_id.eq(ec::id)))
            .inner_join(ea::table.on(ea::attempt_id.eq(at::id)))
            .filter(ec::ticket_no.eq_any(chunk.iter().map(|s| s.as_str())))
            .select((ec::ticket_no, ea::position, ea::seq, ea::answer))
            .load(conn)?;
        let stored: HashMap<(String, i64), (i64, String)> = rows
            .into_iter()
            .map(|(t, p, q, a)| ((t, p as i64), (q, a)))
            .collect();
        for t in chunk {
            for (p, (seq, a)) in &acked[*t] {
                let ok = match stored.get(&((*t).clone(), *p)) {
                    Some((q, stored)) => q > seq || (q == seq && stored == a),
                    None => false,
                };
                if !ok {
                    missing += 1;
                }
            }
        }
    }
    Ok(missing)
}
