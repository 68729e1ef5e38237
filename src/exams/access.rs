//! Exam-room credentials. Access codes are random, one per candidate and batch, shown only on
//! the admission ticket, and stored as an HMAC under a key kept outside the database: checking
//! one costs a microsecond (10,000 logins a minute need no argon2 cores), and a copy of the
//! database alone cannot be used to try codes offline.

use hmac::{Hmac, Mac};
use rand::Rng;
use sha2::{Digest, Sha256};
use std::io::Write;
use std::path::Path;

type HmacSha256 = Hmac<Sha256>;

/// Unambiguous on paper: no 0/O, 1/I/L.
const ALPHABET: &[u8] = b"23456789ABCDEFGHJKMNPQRSTUVWXYZ";
pub const CODE_LEN: usize = 10;

pub struct ExamKey([u8; 32]);

impl std::fmt::Debug for ExamKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ExamKey(…)")
    }
}

impl ExamKey {
    /// Reads the key file, or creates it (0600) on first use. Every replica must share it.
    pub fn load_or_create(path: &Path) -> anyhow::Result<ExamKey> {
        if path.exists() {
            let text = std::fs::read_to_string(path)?;
            let bytes = hex::decode(text.trim())
                .map_err(|_| anyhow::anyhow!("考试密钥文件 {} 格式不对", path.display()))?;
            let key: [u8; 32] = bytes
                .try_into()
                .map_err(|_| anyhow::anyhow!("考试密钥文件 {} 长度不对", path.display()))?;
            return Ok(ExamKey(key));
        }
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let key: [u8; 32] = rand::rng().random();
        let mut opts = std::fs::OpenOptions::new();
        opts.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            opts.mode(0o600);
        }
        let mut f = opts.open(path)?;
        writeln!(f, "{}", hex::encode(key))?;
        tracing::info!(
            "已生成考试准入密钥（{}）：多个实例须共用此文件",
            path.display()
        );
        Ok(ExamKey(key))
    }

    #[cfg(test)]
    pub fn fixed(b: u8) -> ExamKey {
        ExamKey([b; 32])
    }

    fn mac(&self, ticket_no: &str, code: &str) -> HmacSha256 {
        let mut m = HmacSha256::new_from_slice(&self.0).expect("any key length");
        m.update(ticket_no.as_bytes());
        m.update(b"\n");
        m.update(normalise_code(code).as_bytes());
        m
    }

    /// The stored form of a ticket's access code.
    pub fn seal(&self, ticket_no: &str, code: &str) -> String {
        hex::encode(self.mac(ticket_no, code).finalize().into_bytes())
    }

    /// Whether `code` is the ticket's access code (compared in constant time).
    pub fn check(&self, ticket_no: &str, code: &str, sealed: &str) -> bool {
        match hex::decode(sealed) {
            Ok(tag) => self.mac(ticket_no, code).verify_slice(&tag).is_ok(),
            Err(_) => false,
        }
    }
}

/// Upper case, no spaces or dashes: codes are read off paper and typed in.
pub fn normalise_code(code: &str) -> String {
    code.chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_uppercase())
        .collect()
}

/// A new access code: 10 characters of 31 (about 50 bits).
pub fn new_code() -> String {
    let mut rng = rand::rng();
    (0..CODE_LEN)
        .map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())] as char)
        .collect()
}

/// A new exam-room token and the hash that is stored.
pub fn new_token() -> (String, String) {
    let bytes: [u8; 32] = rand::rng().random();
    let token = hex::encode(bytes);
    let hash = token_hash(&token);
    (token, hash)
}

pub fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_bound_to_their_ticket() {
        let k = ExamKey::fixed(7);
        let code = new_code();
        assert_eq!(code.len(), CODE_LEN);
        let sealed = k.seal("2026001-00001", &code);
        assert!(k.check("2026001-00001", &code.to_lowercase(), &sealed));
        assert!(!k.check("2026001-00002", &code, &sealed));
        assert!(!ExamKey::fixed(8).check("2026001-00001", &code, &sealed));
        assert!(!k.check("2026001-00001", "WRONG", "zz"));
    }
}
