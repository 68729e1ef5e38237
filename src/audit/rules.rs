//! How an entry is chained: the hash covers every stored field and the previous entry's hash.

use super::db::Entry;
use super::{Actor, Change};
use sha2::{Digest, Sha256};

pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// The fields an entry's hash covers, borrowed from a new or a stored entry.
struct Canonical<'a> {
    seq: i64,
    at: &'a chrono::NaiveDateTime,
    actor_id: Option<i64>,
    actor: &'a str,
    ip: &'a str,
    action: &'a str,
    entity_type: &'a str,
    entity_id: &'a str,
    summary: &'a str,
    before: Option<&'a str>,
    after: Option<&'a str>,
    prev_hash: &'a str,
}

fn canonical(e: &Entry) -> Canonical<'_> {
    Canonical {
        seq: e.seq,
        at: &e.at,
        actor_id: e.actor_id,
        actor: &e.actor,
        ip: &e.ip,
        action: &e.action,
        entity_type: &e.entity_type,
        entity_id: &e.entity_id,
        summary: &e.summary,
        before: e.before_json.as_deref(),
        after: e.after_json.as_deref(),
        prev_hash: &e.prev_hash,
    }
}

impl Canonical<'_> {
    fn digest(&self) -> String {
        // A JSON array is an unambiguous encoding of the fields (no separator can be forged).
        let canonical = serde_json::json!([
            self.seq,
            self.at.format("%Y-%m-%dT%H:%M:%S%.6f").to_string(),
            self.actor_id,
            self.actor,
            self.ip,
            self.action,
            self.entity_type,
            self.entity_id,
            self.summary,
            self.before,
            self.after,
            self.prev_hash
        ]);
        hex::encode(Sha256::digest(canonical.to_string().as_bytes()))
    }
}

pub fn chain(
    seq: i64,
    at: chrono::NaiveDateTime,
    actor: &Actor,
    change: Change,
    prev_hash: String,
) -> Entry {
    let mut e = Entry {
        seq,
        at,
        actor_id: actor.user_id,
        actor: actor.name.clone(),
        ip: actor.ip.clone(),
        action: change.action.to_string(),
        entity_type: change.entity_type.to_string(),
        entity_id: change.entity_id,
        summary: change.summary,
        before_json: change.before.map(|v| v.to_string()),
        after_json: change.after.map(|v| v.to_string()),
        prev_hash,
        hash: String::new(),
    };
    e.hash = canonical(&e).digest();
    e
}

pub fn hash_of(e: &Entry) -> String {
    canonical(e).digest()
}

/// Separates checkpoint signatures from anything else the same key signs (certificates, lists).
pub const CHECKPOINT_DOMAIN: &[u8] = b"zhifa audit checkpoint v1\0";

/// What a checkpoint's signature covers: the domain prefix, then the head's seq (8 bytes, big
/// endian), the length of its hash (8 bytes) and the hash, and the signing time in microseconds
/// since 1970 UTC (8 bytes). Fixed widths and a length prefix: no two heads give the same bytes.
pub fn checkpoint_message(seq: i64, hash: &str, signed_at: &chrono::NaiveDateTime) -> Vec<u8> {
    let mut m = Vec::with_capacity(CHECKPOINT_DOMAIN.len() + 24 + hash.len());
    m.extend_from_slice(CHECKPOINT_DOMAIN);
    m.extend_from_slice(&seq.to_be_bytes());
    m.extend_from_slice(&(hash.len() as u64).to_be_bytes());
    m.extend_from_slice(hash.as_bytes());
    m.extend_from_slice(&signed_at.and_utc().timestamp_micros().to_be_bytes());
    m
}

/// The Chinese label of an action code, for the audit page.
pub fn action_label(action: &str) -> &str {
    match action {
        "unit.create" => "新建单位",
        "unit.update" => "修改单位",
        "unit.move" => "调整上级单位",
        "unit.deactivate" => "停用单位",
        "unit.activate" => "启用单位",
        "officer.create" => "新增人员",
        "officer.update" => "修改人员",
        "officer.transfer" => "人员调动",
        "officer.photo" => "上传照片",
        "import.apply" => "批量导入",
        "user.create" => "新建账号",
        "user.update" => "修改账号",
        "user.password" => "修改密码",
        "user.reset_password" => "重置密码",
        "user.lock" => "账号锁定",
        "user.login" | "session.login" => "登录",
        "user.login_failed" | "session.login_failed" => "登录失败",
        "session.logout" => "退出登录",
        "import.upload" => "上传导入文件",
        "officer.export" => "导出名录",
        "question.create" => "新增试题",
        "question.update" => "修改试题",
        "question.retire" => "停用试题",
        "question.restore" => "恢复试题",
        "exam.schedule" => "排考",
        "exam.start" => "开考",
        "exam.submit" => "交卷",
        "exam.close" => "到时收卷",
        "exam.regrade" => "重新评分",
        "exam.extra_time" => "考生延时",
        "exam.extend" => "场次延时",
        "exam.plan_submit" => "申报考试计划",
        "exam.plan_decide" => "审批考试计划",
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn any_field_change_breaks_the_hash() {
        let actor = Actor {
            user_id: Some(1),
            name: "admin".into(),
            ip: "127.0.0.1".into(),
        };
        let at = crate::db::now();
        let e = chain(
            1,
            at,
            &actor,
            Change::new("unit.create", "unit", 7, "新建单位 松原市"),
            GENESIS.into(),
        );
        let mut row = Entry {
            seq: e.seq,
            at: e.at,
            actor_id: e.actor_id,
            actor: e.actor.clone(),
            ip: e.ip.clone(),
            action: e.action.clone(),
            entity_type: e.entity_type.clone(),
            entity_id: e.entity_id.clone(),
            summary: e.summary.clone(),
            before_json: None,
            after_json: None,
            prev_hash: e.prev_hash.clone(),
            hash: e.hash.clone(),
        };
        assert_eq!(hash_of(&row), e.hash);
        row.summary = "新建单位 长春市".into();
        assert_ne!(hash_of(&row), e.hash);
    }

    #[test]
    fn checkpoint_message_covers_every_field() {
        let at = chrono::NaiveDate::from_ymd_opt(2026, 11, 22)
            .unwrap()
            .and_hms_micro_opt(8, 0, 0, 123_456)
            .unwrap();
        let m = checkpoint_message(42, GENESIS, &at);
        assert!(m.starts_with(CHECKPOINT_DOMAIN));
        assert_eq!(m.len(), CHECKPOINT_DOMAIN.len() + 8 + 8 + 64 + 8);
        assert_ne!(m, checkpoint_message(43, GENESIS, &at));
        assert_ne!(m, checkpoint_message(42, &GENESIS.replace('0', "1"), &at));
        let later = at + chrono::TimeDelta::microseconds(1);
        assert_ne!(m, checkpoint_message(42, GENESIS, &later));
    }
}
