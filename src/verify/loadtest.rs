//! `zhifa loadtest verify`: how many public verifications a server answers, and how fast.
//!
//! Phase 1 sends `GET /api/v1/verify/{number}` for random registered numbers over N kept-alive
//! connections for D seconds; phase 2 does the same to `/healthz`, so the report can say what
//! share of the bare server's rate verification keeps; phase 3 times bulk calls
//! (`POST /api/v1/verify` with 1,000 numbers), one after another.
//!
//! The client is a few lines of HTTP/1.1 over tokio's TCP stream, not a general HTTP library:
//! it runs on the same two cores as the server, and every cycle it spends is one the server
//! does not get.

use rand::Rng;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

#[derive(Debug, Clone)]
pub struct Options {
    /// `http://host:port`
    pub url: String,
    pub numbers: Vec<String>,
    pub connections: usize,
    pub seconds: u64,
    /// Bulk calls to time (0: none).
    pub batches: usize,
    pub api_key: Option<String>,
}

#[derive(Default)]
struct Tally {
    latencies_us: Vec<u32>,
    statuses: BTreeMap<u16, usize>,
    errors: BTreeMap<String, usize>,
}

impl Tally {
    fn merge(&mut self, other: Tally) {
        self.latencies_us.extend(other.latencies_us);
        for (k, v) in other.statuses {
            *self.statuses.entry(k).or_default() += v;
        }
        for (k, v) in other.errors {
            *self.errors.entry(k).or_default() += v;
        }
    }
}

/// One phase's figures.
#[derive(Debug, Clone)]
pub struct Figures {
    pub name: String,
    pub requests: usize,
    pub ok: usize,
    pub seconds: f64,
    pub rps: f64,
    pub p50_ms: f64,
    pub p90_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
    pub statuses: BTreeMap<u16, usize>,
    pub errors: BTreeMap<String, usize>,
}

impl std::fmt::Display for Figures {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}: {} requests in {:.1} s = {:.0}/s; p50 {:.2} ms, p90 {:.2} ms, p99 {:.2} ms, max {:.1} ms; status {:?}",
            self.name,
            self.requests,
            self.seconds,
            self.rps,
            self.p50_ms,
            self.p90_ms,
            self.p99_ms,
            self.max_ms,
            self.statuses
        )?;
        for (e, n) in &self.errors {
            write!(f, "\n  {n} × {e}")?;
        }
        Ok(())
    }
}

fn figures(name: &str, mut t: Tally, seconds: f64) -> Figures {
    t.latencies_us.sort_unstable();
    let n = t.latencies_us.len();
    let pct = |p: f64| -> f64 {
        if n == 0 {
            0.0
        } else {
            f64::from(t.latencies_us[((n as f64 * p).ceil() as usize).clamp(1, n) - 1]) / 1000.0
        }
    };
    let ok = t.statuses.get(&200).copied().unwrap_or(0);
    Figures {
        name: name.into(),
        requests: n,
        ok,
        seconds,
        rps: n as f64 / seconds.max(0.001),
        p50_ms: pct(0.50),
        p90_ms: pct(0.90),
        p99_ms: pct(0.99),
        max_ms: pct(1.0),
        statuses: t.statuses,
        errors: t.errors,
    }
}

/// `host:port` of an `http://` address.
fn authority(url: &str) -> anyhow::Result<String> {
    let rest = url
        .trim_end_matches('/')
        .strip_prefix("http://")
        .ok_or_else(|| anyhow::anyhow!("只支持 http:// 地址：{url}"))?;
    let host = rest.split('/').next().unwrap_or(rest);
    Ok(if host.contains(':') {
        host.to_string()
    } else {
        format!("{host}:80")
    })
}

/// A kept-alive HTTP/1.1 connection that sends one request at a time.
struct Conn {
    stream: tokio::net::TcpStream,
    buf: Vec<u8>,
}

impl Conn {
    async fn open(addr: &str) -> std::io::Result<Conn> {
        let stream = tokio::net::TcpStream::connect(addr).await?;
        stream.set_nodelay(true)?;
        Ok(Conn {
            stream,
            buf: Vec::with_capacity(64 * 1024),
        })
    }

    /// Sends a request and reads the whole answer: its status and body.
    async fn call(&mut self, request: &[u8]) -> std::io::Result<(u16, Vec<u8>)> {
        self.stream.write_all(request).await?;
        self.buf.clear();
        let bad =
            |what: &str| std::io::Error::new(std::io::ErrorKind::InvalidData, what.to_string());
        let head_end = loop {
            if let Some(i) = self.buf.windows(4).position(|w| w == b"\r\n\r\n") {
                break i + 4;
            }
            let mut chunk = [0u8; 16 * 1024];
            let n = self.stream.read(&mut chunk).await?;
            if n == 0 {
                return Err(bad("连接被服务器关闭"));
            }
            self.buf.extend_from_slice(&chunk[..n]);
        };
        let head = std::str::from_utf8(&self.buf[..head_end]).map_err(|_| bad("响应头不是文本"))?;
        let status: u16 = head
            .split(' ')
            .nth(1)
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| bad("无法读取状态码"))?;
        let mut length = None;
        let mut chunked = false;
        for line in head.lines() {
            let lower = line.to_ascii_lowercase();
            if let Some(v) = lower.strip_prefix("content-length:") {
                length = v.trim().parse::<usize>().ok();
            }
            if lower.starts_with("transfer-encoding:") && lower.contains("chunked") {
                chunked = true;
            }
        }
        if chunked {
            while !self.buf[head_end..].windows(5).any(|w| w == b"0\r\n\r\n") {
                let mut chunk = [0u8; 16 * 1024];
                let n = self.stream.read(&mut chunk).await?;
                if n == 0 {
                    return Err(bad("连接被服务器关闭"));
                }
                self.buf.extend_from_slice(&chunk[..n]);
            }
            return Ok((status, self.buf[head_end..].to_vec()));
        }
        let length = length.unwrap_or(0);
        while self.buf.len() < head_end + length {
            let mut chunk = [0u8; 64 * 1024];
            let n = self.stream.read(&mut chunk).await?;
            if n == 0 {
                return Err(bad("连接被服务器关闭"));
            }
            self.buf.extend_from_slice(&chunk[..n]);
        }
        Ok((status, self.buf[head_end..head_end + length].to_vec()))
    }
}

/// Makes the next request's bytes.
type MakeRequest = dyn Fn(&mut rand::rngs::SmallRng) -> Vec<u8> + Send + Sync;

/// Drives `connections` connections for `seconds`, each sending `make(rng)` in turn.
async fn hammer(
    addr: &str,
    connections: usize,
    seconds: u64,
    make: Arc<MakeRequest>,
) -> (Tally, f64) {
    let started = Instant::now();
    let deadline = started + Duration::from_secs(seconds);
    let mut tasks = Vec::new();
    for i in 0..connections {
        let addr = addr.to_string();
        let make = make.clone();
        tasks.push(tokio::spawn(async move {
            use rand::SeedableRng;
            let mut rng = rand::rngs::SmallRng::seed_from_u64(i as u64 + 1);
            let mut tally = Tally::default();
            let mut conn = None;
            while Instant::now() < deadline {
                if conn.is_none() {
                    match Conn::open(&addr).await {
                        Ok(c) => conn = Some(c),
                        Err(e) => {
                            *tally.errors.entry(format!("连接失败：{e}")).or_default() += 1;
                            tokio::time::sleep(Duration::from_millis(100)).await;
                            continue;
                        }
                    }
                }
                let request = make(&mut rng);
                let t = Instant::now();
                let Some(c) = conn.as_mut() else { continue };
                match c.call(&request).await {
                    Ok((status, _)) => {
                        tally
                            .latencies_us
                            .push(t.elapsed().as_micros().min(u32::MAX as u128) as u32);
                        *tally.statuses.entry(status).or_default() += 1;
                    }
                    Err(e) => {
                        *tally.errors.entry(e.to_string()).or_default() += 1;
                        conn = None;
                    }
                }
            }
            tally
        }));
    }
    let mut all = Tally::default();
    for t in tasks {
        if let Ok(t) = t.await {
            all.merge(t);
        }
    }
    (all, started.elapsed().as_secs_f64())
}

/// The three phases' figures.
pub struct Report {
    pub verify: Figures,
    pub healthz: Figures,
    pub batch: Option<Figures>,
}

impl std::fmt::Display for Report {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(f, "{}", self.verify)?;
        writeln!(f, "{}", self.healthz)?;
        writeln!(
            f,
            "verify / healthz = {:.0}%",
            100.0 * self.verify.rps / self.healthz.rps.max(0.001)
        )?;
        if let Some(b) = &self.batch {
            writeln!(f, "{b}")?;
        }
        if self.verify.statuses.contains_key(&429) {
            writeln!(
                f,
                "注意：核验被限流（429）。压测时请以 ZHIFA_VERIFY_RATE_LIMIT=0 或足够大的值启动服务。"
            )?;
        }
        Ok(())
    }
}

pub fn run(o: Options) -> anyhow::Result<Report> {
    if o.numbers.is_empty() {
        anyhow::bail!("没有可核验的证号：请先生成或导入执法证（zhifa demo-data --certificates）");
    }
    let addr = authority(&o.url)?;
    let host = addr.clone();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        let paths: Arc<Vec<Vec<u8>>> = Arc::new(
            o.numbers
                .iter()
                .map(|n| {
                    format!(
                        "GET /api/v1/verify/{} HTTP/1.1\r\nHost: {host}\r\n\r\n",
                        urlencoding::encode(n)
                    )
                    .into_bytes()
                })
                .collect(),
        );
        let verify_paths = paths.clone();
        let (t, s) = hammer(
            &addr,
            o.connections,
            o.seconds,
            Arc::new(move |rng| verify_paths[rng.random_range(0..verify_paths.len())].clone()),
        )
        .await;
        let verify = figures("GET /api/v1/verify/{number}", t, s);
        let health = format!("GET /healthz HTTP/1.1\r\nHost: {host}\r\n\r\n").into_bytes();
        let (t, s) = hammer(
            &addr,
            o.connections,
            o.seconds,
            Arc::new(move |_| health.clone()),
        )
        .await;
        let healthz = figures("GET /healthz", t, s);
        let batch = match (&o.api_key, o.batches) {
            (Some(key), n) if n > 0 => {
                let mut conn = Conn::open(&addr).await?;
                let mut tally = Tally::default();
                let mut rng = rand::rng();
                let started = Instant::now();
                for _ in 0..n {
                    let numbers: Vec<&String> = (0..1000)
                        .map(|_| &o.numbers[rng.random_range(0..o.numbers.len())])
                        .collect();
                    let body = serde_json::to_vec(&serde_json::json!({ "numbers": numbers }))?;
                    let mut request = format!(
                        "POST /api/v1/verify HTTP/1.1\r\nHost: {host}\r\nX-API-Key: {key}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
                        body.len()
                    )
                    .into_bytes();
                    request.extend_from_slice(&body);
                    let t = Instant::now();
                    let (status, _) = conn.call(&request).await?;
                    tally
                        .latencies_us
                        .push(t.elapsed().as_micros().min(u32::MAX as u128) as u32);
                    *tally.statuses.entry(status).or_default() += 1;
                }
                Some(figures(
                    "POST /api/v1/verify (1000 numbers, one call at a time)",
                    tally,
                    started.elapsed().as_secs_f64(),
                ))
            }
            _ => None,
        };
        Ok(Report {
            verify,
            healthz,
            batch,
        })
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn addresses_are_read() {
        assert_eq!(
            super::authority("http://127.0.0.1:8080/").unwrap(),
            "127.0.0.1:8080"
        );
        assert_eq!(
            super::authority("http://example.org").unwrap(),
            "example.org:80"
        );
        assert!(super::authority("https://example.org").is_err());
    }
}
