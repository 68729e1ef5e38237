//! The public endpoints' rate limit: so many requests per client per minute, held across every
//! replica on one database, without a database write per request.
//!
//! Each replica counts locally and, once a second, adds what it counted to the shared row of
//! each client and minute (`rate_counts`) and reads back the total. A client is refused when the
//! last known total plus what this replica counted since is over the limit. The first time a
//! replica sees a client in a minute it reads the client's total first, so a client moving to
//! another replica carries its count with it. Between two flushes a client could overshoot by
//! what the other replicas let through in that second; within one replica it never does.
//! (Global limiters in front of large services — Envoy's, for one — make the same trade: a
//! shared count, synchronised often, never consulted on the hot path.)

use std::collections::HashMap;
use std::sync::Mutex;

use diesel::prelude::*;

use crate::db::DbConn;
use crate::db::schema::rate_counts as rc;

const WINDOW_SECONDS: i64 = 60;
/// Clients tracked per replica before the oldest minute is dropped early.
const MAX_CLIENTS: usize = 500_000;

#[derive(Debug, Clone, Copy)]
struct Entry {
    window: i64,
    /// The shared total as last read.
    known: i64,
    /// Counted here since then.
    pending: i64,
}

/// A per-client limit per minute (0: none).
pub struct Limiter {
    /// Distinguishes what is counted (`verify:`, `key:`) in the shared table.
    prefix: &'static str,
    limit: u32,
    entries: Mutex<HashMap<String, Entry>>,
    /// The minute the table was last pruned of finished minutes.
    pruned: std::sync::atomic::AtomicI64,
}

fn window_now() -> i64 {
    chrono::Utc::now().timestamp().div_euclid(WINDOW_SECONDS)
}

fn seconds_left() -> u64 {
    let now = chrono::Utc::now().timestamp();
    (WINDOW_SECONDS - now.rem_euclid(WINDOW_SECONDS)) as u64
}

impl Limiter {
    pub fn new(prefix: &'static str, limit: u32) -> Limiter {
        Limiter {
            prefix,
            limit,
            entries: Mutex::new(HashMap::new()),
            pruned: std::sync::atomic::AtomicI64::new(0),
        }
    }

    pub fn limit(&self) -> u32 {
        self.limit
    }

    fn key(&self, client: &str) -> String {
        format!("{}{client}", self.prefix)
    }

    /// Counts a request of `client`; Err(seconds to wait) if it is over the limit. `conn` is used
    /// only the first time this replica sees the client in a minute.
    pub fn hit(&self, conn: &mut DbConn, client: &str) -> Result<(), u64> {
        self.hit_weighted(conn, client, 1)
    }

    /// Counts a request that weighs `cost` ordinary ones (a lookup that checks a typed name:
    /// each is a guess, so guesses are made dear).
    pub fn hit_weighted(&self, conn: &mut DbConn, client: &str, cost: u32) -> Result<(), u64> {
        if self.limit == 0 {
            return Ok(());
        }
        // never dearer than the whole limit (a limit below the cost still allows one a minute)
        let cost = i64::from(cost.clamp(1, self.limit));
        let window = window_now();
        let key = self.key(client);
        let seen = {
            let entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
            entries.get(&key).is_some_and(|e| e.window == window)
        };
        let shared = if seen {
            None
        } else {
            // a database hiccup must not lock the public out: count from zero then
            Some(total(conn, &key, window).unwrap_or(0))
        };
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        if entries.len() >= MAX_CLIENTS && !entries.contains_key(&key) {
            // finished minutes go at most once a minute; a table still full of this minute's
            // clients (an attack from a vast address range) takes no new ones until it ends
            let pruned = self
                .pruned
                .swap(window, std::sync::atomic::Ordering::Relaxed);
            if pruned != window {
                entries.retain(|_, e| e.window == window);
            }
            if entries.len() >= MAX_CLIENTS {
                return Err(seconds_left());
            }
        }
        let entry = entries.entry(key).or_insert(Entry {
            window,
            known: 0,
            pending: 0,
        });
        if entry.window != window {
            *entry = Entry {
                window,
                known: 0,
                pending: 0,
            };
        }
        if let Some(shared) = shared {
            entry.known = entry.known.max(shared);
        }
        if entry.known + entry.pending + cost > i64::from(self.limit) {
            return Err(seconds_left());
        }
        entry.pending += cost;
        Ok(())
    }

    /// Adds what this replica counted to the shared totals and reads them back; forgets
    /// finished minutes (here and, now and then, in the table).
    pub fn flush(&self, conn: &mut DbConn) -> QueryResult<()> {
        if self.limit == 0 {
            return Ok(());
        }
        let window = window_now();
        let mut due: Vec<(String, Entry)> = {
            let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
            entries.retain(|_, e| e.window >= window - 1);
            entries
                .iter()
                .filter(|(_, e)| e.pending > 0)
                .map(|(k, e)| (k.clone(), *e))
                .collect()
        };
        // every replica writes the same rows in the same order: no deadlock between flushes
        due.sort_by(|a, b| (a.1.window, &a.0).cmp(&(b.1.window, &b.0)));
        if due.is_empty() {
            return Ok(());
        }
        let totals = conn.transaction(|conn| {
            due.iter()
                .map(|(key, e)| add(conn, key, e.window, e.pending))
                .collect::<QueryResult<Vec<i64>>>()
        })?;
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        for ((key, flushed), total) in due.iter().zip(totals) {
            if let Some(e) = entries.get_mut(key)
                && e.window == flushed.window
            {
                e.pending -= flushed.pending;
                e.known = total;
            }
        }
        drop(entries);
        // old minutes: once in a while is enough
        if window % 10 == 0 {
            diesel::delete(rc::table.filter(rc::window_start.lt(window - 1))).execute(conn)?;
        }
        Ok(())
    }
}

fn total(conn: &mut DbConn, key: &str, window: i64) -> QueryResult<i64> {
    rc::table
        .find((key, window))
        .select(rc::hits)
        .first(conn)
        .optional()
        .map(|n| n.unwrap_or(0))
}

/// Adds `n` to a client's minute and returns the new total (one statement on both backends).
fn add(conn: &mut DbConn, key: &str, window: i64, n: i64) -> QueryResult<i64> {
    use diesel::sql_types::{BigInt, Text};
    #[derive(QueryableByName)]
    struct Hits {
        #[diesel(sql_type = BigInt)]
        hits: i64,
    }
    let hits: Hits = match conn {
        DbConn::Sqlite(c) => diesel::sql_query(
            "INSERT INTO rate_counts (client, window_start, hits) VALUES (?, ?, ?) \
             ON CONFLICT (client, window_start) DO UPDATE SET hits = rate_counts.hits + excluded.hits \
             RETURNING hits",
        )
        .bind::<Text, _>(key)
        .bind::<BigInt, _>(window)
        .bind::<BigInt, _>(n)
        .get_result(c)?,
        DbConn::Postgres(c) => diesel::sql_query(
            "INSERT INTO rate_counts (client, window_start, hits) VALUES ($1, $2, $3) \
             ON CONFLICT (client, window_start) DO UPDATE SET hits = rate_counts.hits + excluded.hits \
             RETURNING hits",
        )
        .bind::<Text, _>(key)
        .bind::<BigInt, _>(window)
        .bind::<BigInt, _>(n)
        .get_result(c)?,
    };
    Ok(hits.hits)
}

/// The client a limit counts: the address, or for IPv6 its /64 (one subscriber's whole block,
/// which a scraper could otherwise walk through).
pub fn client_key(ip: &str) -> String {
    match ip.parse::<std::net::IpAddr>() {
        Ok(std::net::IpAddr::V6(v6)) if v6.to_ipv4_mapped().is_none() => {
            let s = v6.segments();
            format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
        }
        Ok(std::net::IpAddr::V6(v6)) => v6
            .to_ipv4_mapped()
            .map(|v4| v4.to_string())
            .unwrap_or_default(),
        _ => ip.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ipv6_clients_are_counted_by_their_64() {
        assert_eq!(client_key("2001:db8:1:2:3:4:5:6"), "2001:db8:1:2::/64");
        assert_eq!(client_key("2001:db8:1:2:ffff::1"), "2001:db8:1:2::/64");
        assert_eq!(client_key("::ffff:10.0.0.1"), "10.0.0.1");
        assert_eq!(client_key("10.0.0.1"), "10.0.0.1");
    }
}
