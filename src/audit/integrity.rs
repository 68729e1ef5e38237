//! Anchoring the chain outside the database, and checking it.
//!
//! The hash chain alone shows a changed entry, but not one changed by someone who also recomputed
//! every later hash and the head. So the head is signed now and then ([`checkpoint`]) with the
//! bureau's key, which lives outside the database, and each signed head is also appended to a
//! witness file outside the database. [`verify`] walks the chain and checks that every signed
//! head is still on it, that no signed entry is gone, and that the append-only triggers are in
//! place.

use super::db::{self, Checkpoint, Entry};
use super::rules;
use crate::db::schema::audit_head;
use crate::db::{Backend, DbConn};
use crate::error::{Error, Result};
use crate::signing::Keyring;
use diesel::prelude::*;
use serde::Serialize;
use std::io::{BufRead, Write};
use std::path::Path;

const CHUNK: i64 = 5000;
/// How many findings of one kind are listed before the rest are only counted.
const LIST_AT_MOST: usize = 20;

/// Signs the chain's head and stores the checkpoint, when the head moved since the last one;
/// then appends it to the `witness` file (best effort: a failure there is logged, not returned).
///
/// Refuses to sign a head that does not extend the last checkpoint through intact entries, so a
/// signature never covers a rewritten chain.
pub fn checkpoint(
    conn: &mut DbConn,
    keyring: &Keyring,
    witness: Option<&Path>,
) -> Result<Option<Checkpoint>> {
    let last = db::latest_checkpoint(conn)?;
    if let Some(c) = &last
        && !signature_valid(keyring, c)
    {
        return Err(refuse(format!(
            "最近的签名检查点（第 {} 条，密钥 {}）无法用本机的签名密钥验证：若密钥已轮换，请把旧公钥列入签名密钥文件或其 .pub 文件；否则检查点是伪造的。拒绝在其上继续签名，请运行 zhifa audit verify",
            c.seq, c.key_id
        )));
    }
    let (head_seq, head_hash) = db::head(conn)?;
    let (from_seq, from_hash) = last
        .as_ref()
        .map(|c| (c.seq, c.hash.clone()))
        .unwrap_or((0, rules::GENESIS.to_string()));
    if head_seq == from_seq && head_hash == from_hash {
        return Ok(None);
    }
    if head_seq <= from_seq {
        return Err(refuse(format!(
            "审计日志的链头（第 {head_seq} 条）不在最近的签名检查点（第 {from_seq} 条）之后：日志可能被截断或改写，拒绝签名，请运行 zhifa audit verify"
        )));
    }
    // the entries since the last checkpoint must link it to the head: read outside the lock.
    // Only the links are followed (what is signed is the head's hash, and a content edit that
    // left a hash stale is what `verify` finds); re-hashing every entry of a 73,450-row import
    // here cost a second and added nothing a forger who recomputes hashes couldn't pass.
    let mut prev = from_hash;
    let mut next = from_seq + 1;
    while next <= head_seq {
        let rows = db::links_from(conn, next, CHUNK.min(head_seq - next + 1))?;
        if rows.is_empty() {
            break;
        }
        for (seq, prev_hash, hash) in rows {
            if seq != next || prev_hash != prev {
                return Err(refuse(format!(
                    "审计日志第 {} 条与哈希链不符，拒绝签名：请运行 zhifa audit verify",
                    seq.min(next)
                )));
            }
            prev = hash;
            next = seq + 1;
        }
    }
    if next != head_seq + 1 || prev != head_hash {
        return Err(refuse(format!(
            "审计日志的链头（第 {head_seq} 条）与日志记录不符，拒绝签名：请运行 zhifa audit verify"
        )));
    }
    let signed = conn.transaction(|conn| {
        // the head row's lock orders checkpoints of concurrent signers (replicas, the CLI)
        diesel::update(audit_head::table.find(1))
            .set(audit_head::seq.eq(audit_head::seq))
            .execute(conn)?;
        if db::latest_checkpoint(conn)?.is_some_and(|c| c.seq >= head_seq) {
            return Ok::<_, Error>(None);
        }
        let signed_at = crate::db::now();
        let message = rules::checkpoint_message(head_seq, &head_hash, &signed_at);
        let cp = Checkpoint {
            seq: head_seq,
            hash: head_hash,
            signed_at,
            key_id: keyring.key_id().to_string(),
            signature: hex::encode(keyring.sign(&message)),
        };
        db::insert_checkpoint(conn, &cp)?;
        Ok(Some(cp))
    })?;
    if let (Some(cp), Some(path)) = (&signed, witness)
        && let Err(e) = append_witness(path, cp)
    {
        tracing::warn!("无法写入审计见证文件 {}：{e}", path.display());
    }
    Ok(signed)
}

/// The signed head furthest along the chain, if any.
pub fn latest_checkpoint(conn: &mut DbConn) -> Result<Option<Checkpoint>> {
    Ok(db::latest_checkpoint(conn)?)
}

fn signature_valid(keyring: &Keyring, cp: &Checkpoint) -> bool {
    let message = rules::checkpoint_message(cp.seq, &cp.hash, &cp.signed_at);
    hex::decode(&cp.signature)
        .map(|sig| keyring.verify(&cp.key_id, &message, &sig))
        .unwrap_or(false)
}

fn refuse(message: String) -> Error {
    Error::Conflict {
        message,
        fields: Default::default(),
    }
}

fn append_witness(path: &Path, cp: &Checkpoint) -> std::io::Result<()> {
    if let Some(dir) = path.parent()
        && !dir.as_os_str().is_empty()
    {
        std::fs::create_dir_all(dir)?;
    }
    let mut line = serde_json::to_string(cp).map_err(std::io::Error::other)?;
    line.push('\n');
    // one write of a short line in append mode: lines of concurrent writers don't interleave
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)?
        .write_all(line.as_bytes())
}

/// What `zhifa audit verify` found.
#[derive(Debug, Default, Serialize, utoipa::ToSchema)]
pub struct Verification {
    /// Entries in the log.
    pub entries: i64,
    /// No problem found.
    pub intact: bool,
    /// Signs of tampering, in Chinese.
    pub problems: Vec<String>,
    /// Signed checkpoints checked.
    pub checkpoints: i64,
    /// The last entry whose signed hash is still on the chain (0: none), and when it was signed.
    pub signed_seq: i64,
    #[schema(value_type = Option<String>, example = "2026-03-01T08:30:00")]
    pub signed_at: Option<chrono::NaiveDateTime>,
    /// Entries after the newest validly signed checkpoint, not yet signed (normal; not tampering).
    pub unsigned_tail: i64,
    /// Lines of the witness file checked.
    pub witness_lines: i64,
    /// Information that is not tampering, in Chinese.
    pub notes: Vec<String>,
}

/// Walks the whole chain and recomputes every hash; checks every signed checkpoint and every
/// line of the `witness` file against it, and the append-only triggers.
///
/// Reads one snapshot of the database, and of the witness file the lines written before it, so
/// entries and checkpoints written meanwhile don't look like tampering.
pub fn verify(
    conn: &mut DbConn,
    keyring: &Keyring,
    witness: Option<&Path>,
) -> Result<Verification> {
    let witness = witness.map(|path| {
        let written = match std::fs::metadata(path) {
            Ok(m) => Some(m.len()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            // let opening it say what is wrong
            Err(_) => Some(0),
        };
        (path, written)
    });
    conn.transaction(|conn| {
        if crate::db::backend_of(conn) == Backend::Postgres {
            // SQLite's read transaction is a snapshot already (WAL)
            diesel::sql_query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
                .execute(conn)?;
        }
        verify_snapshot(conn, keyring, witness)
    })
}

fn verify_snapshot(
    conn: &mut DbConn,
    keyring: &Keyring,
    witness: Option<(&Path, Option<u64>)>,
) -> Result<Verification> {
    let mut v = Verification::default();
    let last_seq = walk(conn, &mut v)?;
    let (head_seq, _) = db::head(conn)?;
    let chain_end = head_seq.min(last_seq);

    let mut signed = Tally::default();
    let mut after_id = 0i64;
    let mut newest_seq = 0i64;
    // the furthest validly signed head, matching or not: what lies beyond it is unsigned
    let mut newest_valid = 0i64;
    let mut regressions = Vec::new();
    loop {
        let rows = db::checkpoints_after(conn, after_id, 1000)?;
        let Some((last_id, _)) = rows.last() else {
            break;
        };
        after_id = *last_id;
        let seqs: Vec<i64> = rows.iter().map(|(_, c)| c.seq).collect();
        let hashes = db::hashes_at(conn, &seqs)?;
        for (_, cp) in &rows {
            v.checkpoints += 1;
            let label = format!("{} 签名的检查点", when(&cp.signed_at));
            if !signed.check(keyring, cp, &label, &hashes, chain_end) {
                continue;
            }
            if cp.seq < newest_seq {
                regressions.push(format!(
                    "签名检查点倒退：{} 签名的第 {} 条早于此前已签名的第 {newest_seq} 条（检查点被篡改，或日志被截断后又重新签名）",
                    when(&cp.signed_at),
                    cp.seq
                ));
            }
            newest_seq = newest_seq.max(cp.seq);
            newest_valid = newest_valid.max(cp.seq);
            if cp.seq <= chain_end
                && hashes.get(&cp.seq) == Some(&cp.hash)
                && cp.seq >= v.signed_seq
            {
                v.signed_seq = cp.seq;
                v.signed_at = Some(cp.signed_at);
            }
        }
    }
    signed.report(&mut v.problems, "签名检查点", chain_end);
    list(&mut v.problems, regressions);

    if let Some((path, written)) = witness {
        witness_check(conn, keyring, path, written, chain_end, &mut v)?;
    }

    v.problems.extend(trigger_problems(conn)?);

    if v.checkpoints == 0 && last_seq > 0 {
        v.unsigned_tail = last_seq;
        v.notes.push(format!(
            "尚无签名检查点：全部 {last_seq} 条记录尚未签名（服务运行后会定期签名，也可运行 zhifa audit checkpoint）"
        ));
    } else if last_seq > newest_valid {
        v.unsigned_tail = last_seq - newest_valid;
        let which = if v.unsigned_tail == 1 {
            format!("第 {last_seq} 条")
        } else {
            format!("第 {} 至 {last_seq} 条", newest_valid + 1)
        };
        v.notes.push(format!(
            "最近 {} 条尚未签名（{which}，将在下一个签名检查点签入）",
            v.unsigned_tail
        ));
    }
    v.intact = v.problems.is_empty();
    Ok(v)
}

/// Walks the chain, recomputing every hash; returns the last entry's seq (0 when empty).
fn walk(conn: &mut DbConn, v: &mut Verification) -> Result<i64> {
    let mut problems = Vec::new();
    let mut expected_seq = 1i64;
    let mut prev_hash = rules::GENESIS.to_string();
    loop {
        let rows: Vec<Entry> = db::entries_from(conn, expected_seq.min(i64::MAX - 1), CHUNK)?;
        if rows.is_empty() {
            break;
        }
        for row in &rows {
            v.entries += 1;
            if row.seq != expected_seq {
                problems.push(format!("第 {} 至 {} 条记录缺失", expected_seq, row.seq - 1));
            }
            if row.prev_hash != prev_hash {
                problems.push(format!("第 {} 条记录与前一条的链接不符", row.seq));
            }
            if rules::hash_of(row) != row.hash {
                problems.push(format!(
                    "第 {} 条记录的内容与其哈希不符（已被改动）",
                    row.seq
                ));
            }
            prev_hash = row.hash.clone();
            expected_seq = row.seq + 1;
        }
    }
    let last_seq = expected_seq - 1;
    let (head_seq, head_hash) = db::head(conn)?;
    if head_seq != last_seq || head_hash != prev_hash {
        problems.push(format!(
            "链尾不符：登记的最后一条是第 {head_seq} 条，实际为第 {last_seq} 条（记录被删除或截断）"
        ));
    }
    problems.truncate(100);
    v.problems.extend(problems);
    Ok(last_seq)
}

/// Signed heads (checkpoints or witness lines) compared with the chain.
#[derive(Default)]
struct Tally {
    /// (seq, matches the chain, signed at) of each validly signed head within the chain.
    compared: Vec<(i64, bool, chrono::NaiveDateTime)>,
    /// The furthest validly signed head past the chain's end, and how many are past it.
    beyond: Option<(i64, chrono::NaiveDateTime)>,
    beyond_count: usize,
    bad_signatures: Vec<String>,
}

impl Tally {
    /// Checks one signed head; true when its signature is valid.
    fn check(
        &mut self,
        keyring: &Keyring,
        cp: &Checkpoint,
        label: &str,
        hashes: &std::collections::HashMap<i64, String>,
        chain_end: i64,
    ) -> bool {
        if !keyring.knows(&cp.key_id) {
            self.bad_signatures.push(format!(
                "{label}（第 {} 条）由未知的密钥 {} 签名：若是已退役的密钥，请把它的公钥列入签名密钥文件或其 .pub 文件；否则检查点是伪造的",
                cp.seq, cp.key_id
            ));
            return false;
        }
        if !signature_valid(keyring, cp) {
            self.bad_signatures.push(format!(
                "{label}（第 {} 条）的签名无效（检查点被伪造或改动）",
                cp.seq
            ));
            return false;
        }
        if cp.seq > chain_end {
            self.beyond_count += 1;
            if self.beyond.is_none_or(|(s, _)| cp.seq > s) {
                self.beyond = Some((cp.seq, cp.signed_at));
            }
        } else if let Some(hash) = hashes.get(&cp.seq) {
            self.compared.push((cp.seq, *hash == cp.hash, cp.signed_at));
        }
        // an entry missing inside the chain is reported by the walk
        true
    }

    fn report(mut self, problems: &mut Vec<String>, source: &str, chain_end: i64) {
        list(problems, std::mem::take(&mut self.bad_signatures));
        self.compared.sort_by_key(|(seq, _, _)| *seq);
        if let Some(&(seq, _, at)) = self.compared.iter().find(|(_, ok, _)| !ok) {
            let intact_to = self
                .compared
                .iter()
                .filter(|(s, ok, _)| *ok && *s < seq)
                .map(|(s, _, _)| *s)
                .max()
                .unwrap_or(0);
            let range = if intact_to + 1 == seq {
                format!("第 {seq} 条记录")
            } else {
                format!("第 {} 至 {seq} 条之间的记录", intact_to + 1)
            };
            let more = self.compared.iter().filter(|(_, ok, _)| !ok).count() - 1;
            let more = if more > 0 {
                format!("；另有 {more} 个较晚的{source}也不符")
            } else {
                String::new()
            };
            problems.push(format!(
                "{range}被改写：链上第 {seq} 条的哈希与{source}（{} 签名）不符，说明改写后重新计算了哈希{more}",
                when(&at)
            ));
        }
        if let Some((seq, at)) = self.beyond {
            problems.push(format!(
                "日志末尾被截断：{source}（{} 签名）已签到第 {seq} 条，而日志现在只到第 {chain_end} 条（第 {} 条起的记录被删除，链头被移回）{}",
                when(&at),
                chain_end + 1,
                if self.beyond_count > 1 {
                    format!("；共 {} 个{source}指向已不存在的记录", self.beyond_count)
                } else {
                    String::new()
                }
            ));
        }
    }
}

/// Each line of the witness file is a signed head (one JSON [`Checkpoint`]): each must still be on
/// the chain. This finds a truncation that also removed the checkpoints from the database.
fn witness_check(
    conn: &mut DbConn,
    keyring: &Keyring,
    path: &Path,
    written: Option<u64>,
    chain_end: i64,
    v: &mut Verification,
) -> Result<()> {
    let file = match written.map(|_| std::fs::File::open(path)) {
        Some(Ok(f)) => f,
        None => {
            v.notes.push(format!(
                "未找到见证文件 {}（本机尚未签名过检查点，或文件已被移走）",
                path.display()
            ));
            return Ok(());
        }
        Some(Err(e)) => {
            v.problems
                .push(format!("无法读取见证文件 {}：{e}", path.display()));
            return Ok(());
        }
    };
    let mut tally = Tally::default();
    let mut unreadable = Vec::new();
    let mut batch: Vec<(usize, Checkpoint)> = Vec::new();
    let mut flush = |batch: &mut Vec<(usize, Checkpoint)>, tally: &mut Tally| -> Result<()> {
        let seqs: Vec<i64> = batch.iter().map(|(_, c)| c.seq).collect();
        let hashes = db::hashes_at(conn, &seqs)?;
        for (n, cp) in batch.drain(..) {
            let label = format!("见证文件第 {n} 行（{} 签名）", when(&cp.signed_at));
            tally.check(keyring, &cp, &label, &hashes, chain_end);
        }
        Ok(())
    };
    // only the lines written before the snapshot: later ones may sign entries it doesn't hold
    let mut reader = std::io::BufReader::new(std::io::Read::take(file, written.unwrap_or(0)));
    let mut line = String::new();
    let mut n = 0usize;
    loop {
        line.clear();
        match reader.read_line(&mut line) {
            Ok(0) => break,
            Ok(_) => {}
            Err(e) => {
                v.problems
                    .push(format!("无法读取见证文件 {}：{e}", path.display()));
                break;
            }
        }
        n += 1;
        if line.trim().is_empty() {
            continue;
        }
        match serde_json::from_str::<Checkpoint>(line.trim()) {
            Ok(cp) => {
                v.witness_lines += 1;
                batch.push((n, cp));
                if batch.len() >= 1000 {
                    flush(&mut batch, &mut tally)?;
                }
            }
            Err(_) => unreadable.push(n),
        }
    }
    flush(&mut batch, &mut tally)?;
    tally.report(&mut v.problems, "见证文件中的签名记录", chain_end);
    if !unreadable.is_empty() {
        v.notes.push(format!(
            "见证文件 {} 有 {} 行无法解析，已跳过（第 {} 行{}）",
            path.display(),
            unreadable.len(),
            unreadable[0],
            if unreadable.len() > 1 { "等" } else { "" }
        ));
    }
    Ok(())
}

/// The append-only triggers the migrations create, by backend: (name, table, definition).
fn expected_triggers(backend: Backend) -> Vec<(&'static str, &'static str, String)> {
    match backend {
        Backend::Sqlite => [
            ("audit_log_no_update", "audit_log", "UPDATE"),
            ("audit_log_no_delete", "audit_log", "DELETE"),
            ("audit_checkpoints_no_update", "audit_checkpoints", "UPDATE"),
            ("audit_checkpoints_no_delete", "audit_checkpoints", "DELETE"),
        ]
        .into_iter()
        .map(|(name, table, event)| {
            (
                name,
                table,
                format!(
                    "CREATE TRIGGER {name} BEFORE {event} ON {table} BEGIN SELECT RAISE(ABORT, '{table} is append-only'); END"
                ),
            )
        })
        .collect(),
        // tgtype bits: 1 row, 2 before, 8 delete, 16 update, 32 truncate
        Backend::Postgres => [
            ("audit_log_no_change", "audit_log", 27),
            ("audit_log_no_truncate", "audit_log", 34),
            ("audit_checkpoints_no_change", "audit_checkpoints", 27),
            ("audit_checkpoints_no_truncate", "audit_checkpoints", 34),
        ]
        .into_iter()
        .map(|(name, table, kind)| {
            (
                name,
                table,
                format!(
                    "{table} type={kind} {table}_append_only(): BEGIN RAISE EXCEPTION '{table} is append-only'; END;"
                ),
            )
        })
        .collect(),
    }
}

/// One finding per append-only trigger that is missing, disabled or changed.
fn trigger_problems(conn: &mut DbConn) -> Result<Vec<String>> {
    let found = db::audit_triggers(conn)?;
    let mut problems = Vec::new();
    for (name, table, definition) in expected_triggers(crate::db::backend_of(conn)) {
        match found.iter().find(|t| t.name == name && t.table == table) {
            None => problems.push(format!(
                "防篡改触发器 {name}（{table} 表）不存在：该表的记录可被直接改写或删除"
            )),
            Some(t) if !t.enabled => problems.push(format!(
                "防篡改触发器 {name}（{table} 表）已被停用：该表的记录可被直接改写或删除"
            )),
            Some(t) if t.definition != definition => problems.push(format!(
                "防篡改触发器 {name}（{table} 表）已被改动，不再可靠地阻止改写或删除"
            )),
            Some(_) => {}
        }
    }
    Ok(problems)
}

/// Appends the first findings of a kind, and a count of the rest.
fn list(problems: &mut Vec<String>, mut found: Vec<String>) {
    if found.len() > LIST_AT_MOST {
        let rest = found.len() - LIST_AT_MOST;
        found.truncate(LIST_AT_MOST);
        found.push(format!("……另有 {rest} 处同类问题"));
    }
    problems.extend(found);
}

/// A UTC time as local wall-clock time, for messages.
fn when(t: &chrono::NaiveDateTime) -> String {
    chrono::DateTime::<chrono::Utc>::from_naive_utc_and_offset(*t, chrono::Utc)
        .with_timezone(&chrono::Local)
        .format("%Y-%m-%d %H:%M:%S")
        .to_string()
}
