//! Pure account rules: roles, the password policy, tokens.

use rand::Rng;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// 司法局管理员: everything.
    Admin,
    /// 单位联络员: their own unit and the units under it.
    Liaison,
    /// 执法人员: only themselves.
    Officer,
    /// 审计员: reads everything, including the audit log; changes nothing.
    Auditor,
}

impl Role {
    pub const ALL: [Role; 4] = [Role::Admin, Role::Liaison, Role::Officer, Role::Auditor];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Liaison => "liaison",
            Role::Officer => "officer",
            Role::Auditor => "auditor",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Role::Admin => "司法局管理员",
            Role::Liaison => "单位联络员",
            Role::Officer => "执法人员",
            Role::Auditor => "审计员",
        }
    }

    pub fn parse(s: &str) -> Option<Role> {
        Role::ALL
            .into_iter()
            .find(|r| r.as_str() == s.trim() || r.label() == s.trim())
    }
}

/// What a role may do. Where it may do it is the role's scope (`Principal::scope`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Capability {
    /// See officers and units (within scope).
    ReadRoster,
    /// Add, change, import officers and their photos (within scope).
    WriteRoster,
    /// Create, rename, move, deactivate units.
    ManageUnits,
    /// Create accounts, reset passwords, enable and disable accounts.
    ManageUsers,
    /// Read the audit log and verify its chain.
    ReadAudit,
    /// Browse the question bank with answers, check blueprints, export.
    ReadBank,
    /// Add, edit, import, retire questions.
    ManageBank,
    /// Take practice papers (模拟练习).
    Practice,
    /// Schedule exam batches, see results.
    ManageExams,
    /// Issue certificates and change their state (suspend, revoke, cancel …).
    ManageCerts,
}

impl Capability {
    /// What the capability allows, as "不能…" completes it.
    pub fn label(self) -> &'static str {
        match self {
            Capability::ReadRoster => "查看名录库",
            Capability::WriteRoster => "修改名录库",
            Capability::ManageUnits => "管理单位（只有司法局管理员可以）",
            Capability::ManageUsers => "管理账号（只有司法局管理员可以）",
            Capability::ReadAudit => "查看审计日志（只有审计员和司法局管理员可以）",
            Capability::ReadBank => "查看题库（只有司法局管理员和审计员可以）",
            Capability::ManageBank => "维护题库（只有司法局管理员可以）",
            Capability::Practice => "参加模拟练习",
            Capability::ManageExams => "组织考试（只有司法局管理员可以）",
            Capability::ManageCerts => "核发和变更执法证（只有司法局管理员可以）",
        }
    }
}

/// The permission matrix.
pub fn role_allows(role: Role, c: Capability) -> bool {
    use Capability::*;
    match role {
        Role::Admin => true,
        Role::Liaison => matches!(c, ReadRoster | WriteRoster | Practice),
        Role::Auditor => matches!(c, ReadRoster | ReadAudit | ReadBank | Practice),
        Role::Officer => matches!(c, ReadRoster | Practice),
    }
}

/// At least 10 characters with three of: lower case, upper case, digits, symbols; not the user
/// name; not all one character. (等保 2.0 asks for complexity and length; 10 leaves a margin.)
pub fn check_password(password: &str, username: &str) -> Result<(), String> {
    let n = password.chars().count();
    if n < 10 {
        return Err(format!("密码至少 10 位（现在是 {n} 位）"));
    }
    if n > 128 {
        return Err("密码最多 128 位".into());
    }
    let classes = [
        password.chars().any(|c| c.is_ascii_lowercase()),
        password.chars().any(|c| c.is_ascii_uppercase()),
        password.chars().any(|c| c.is_ascii_digit()),
        password.chars().any(|c| !c.is_ascii_alphanumeric()),
    ];
    if classes.iter().filter(|b| **b).count() < 3 {
        return Err("密码须包含小写字母、大写字母、数字、符号中的至少三类".into());
    }
    if !username.is_empty() && password.to_lowercase().contains(&username.to_lowercase()) {
        return Err("密码不能包含用户名".into());
    }
    let first = password.chars().next();
    if password.chars().all(|c| Some(c) == first) {
        return Err("密码不能由同一个字符重复组成".into());
    }
    Ok(())
}

pub fn check_username(username: &str) -> Result<String, String> {
    let u = username.trim().to_string();
    let n = u.chars().count();
    if !(3..=32).contains(&n) {
        return Err("用户名应为 3 至 32 个字符".into());
    }
    if !u
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
    {
        return Err("用户名只能包含字母、数字和 _ - .".into());
    }
    Ok(u)
}

/// A random password that satisfies the policy (for the first administrator and resets).
pub fn generate_password() -> String {
    const LOWER: &[u8] = b"abcdefghijkmnpqrstuvwxyz";
    const UPPER: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZ";
    const DIGIT: &[u8] = b"23456789";
    const SYMBOL: &[u8] = b"@#%+=-";
    let mut rng = rand::rng();
    loop {
        let mut p = String::new();
        for i in 0..16 {
            let set = match i % 8 {
                3 => DIGIT,
                7 => SYMBOL,
                1 | 5 => UPPER,
                _ => LOWER,
            };
            p.push(set[rng.random_range(0..set.len())] as char);
        }
        if check_password(&p, "").is_ok() {
            return p;
        }
    }
}

/// A fresh random token: 32 bytes, hex.
pub fn new_token() -> String {
    let mut b = [0u8; 32];
    rand::rng().fill(&mut b);
    hex::encode(b)
}

/// Tokens are stored only as their SHA-256: a copied database holds no usable session.
pub fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

pub fn hash_password(password: &str) -> Result<String, argon2::password_hash::Error> {
    use argon2::password_hash::{PasswordHasher, SaltString, rand_core::OsRng};
    let salt = SaltString::generate(&mut OsRng);
    Ok(argon2::Argon2::default()
        .hash_password(password.as_bytes(), &salt)?
        .to_string())
}

/// A real hash of nothing, verified against when the user name is unknown.
pub fn dummy_hash() -> &'static str {
    static HASH: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    HASH.get_or_init(|| hash_password("no such user").unwrap_or_default())
}

pub fn verify_password(password: &str, hash: &str) -> bool {
    use argon2::password_hash::{PasswordHash, PasswordVerifier};
    match PasswordHash::new(hash) {
        Ok(h) => argon2::Argon2::default()
            .verify_password(password.as_bytes(), &h)
            .is_ok(),
        Err(_) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn policy() {
        assert!(check_password("short1A", "x").is_err());
        assert!(check_password("alllowercaseletters", "x").is_err());
        assert!(check_password("Zhifa2026!ok", "admin").is_ok());
        assert!(check_password("Admin2026!ok", "admin").is_err());
        for _ in 0..20 {
            assert!(check_password(&generate_password(), "admin").is_ok());
        }
    }

    #[test]
    fn permission_matrix() {
        use Capability::*;
        assert!(role_allows(Role::Admin, ManageUsers));
        assert!(role_allows(Role::Liaison, WriteRoster));
        assert!(!role_allows(Role::Liaison, ManageUnits));
        assert!(!role_allows(Role::Auditor, WriteRoster));
        assert!(role_allows(Role::Auditor, ReadAudit));
        assert!(!role_allows(Role::Officer, WriteRoster));
        assert!(!role_allows(Role::Officer, ReadAudit));
    }

    #[test]
    fn hashes_verify() {
        let h = hash_password("Zhifa2026!ok").unwrap();
        assert!(h.starts_with("$argon2id$"));
        assert!(verify_password("Zhifa2026!ok", &h));
        assert!(!verify_password("Zhifa2026!no", &h));
    }
}
