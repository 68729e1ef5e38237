//! The bureau's signing keys: Ed25519, kept in a file outside the database.
//!
//! Whoever can write the database must not be able to forge what is signed with these keys: the
//! audit chain's checkpoints now, the certificates' QR codes and status lists later. Replicas on one
//! PostgreSQL share one key file.
//!
//! # The key file
//!
//! Plain text, created on first use with mode 0600 (`ZHIFA_SIGNING_KEY_FILE`, by default
//! `<data_dir>/signing.key`):
//!
//! ```text
//! # zhifa signing key (Ed25519) …
//! secret-ed25519 <64 hex digits: the 32-byte secret seed>
//! public-ed25519 <64 hex digits: the public key of a retired key>
//! ```
//!
//! Blank lines and lines starting with `#` are comments. Exactly one `secret-ed25519` line: the
//! current key, which signs. Any number of `public-ed25519` lines: retired keys, which only
//! verify, so signatures made before a rotation stay verifiable. Retired public keys may also be
//! listed in a sibling file named like the key file plus `.pub` (`signing.key.pub`), which holds
//! only `public-ed25519` lines and comments. A file that breaks these rules is refused with the
//! line that is wrong; it is never replaced.
//!
//! A key is named by its id: the first 16 hex digits of the SHA-256 of its 32-byte public key.
//! [`Keyring::rotate`] makes a new current key and keeps the old one's public key in the file.

use anyhow::{Context, bail};
use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};
use sha2::{Digest, Sha256};
use std::io::Write;
use std::path::{Path, PathBuf};

const SECRET: &str = "secret-ed25519";
const PUBLIC: &str = "public-ed25519";

/// The current signing key and the public keys of retired ones.
pub struct Keyring {
    current: SigningKey,
    current_id: String,
    /// Every key that verifies: the current one first, then the retired ones.
    verifiers: Vec<(String, VerifyingKey)>,
}

impl std::fmt::Debug for Keyring {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // never the secret
        f.debug_struct("Keyring")
            .field("key_id", &self.current_id)
            .field("verifiers", &self.key_ids())
            .finish()
    }
}

/// The short id of a public key: 16 hex digits of its SHA-256.
pub fn key_id_of(key: &VerifyingKey) -> String {
    hex::encode(&Sha256::digest(key.as_bytes())[..8])
}

/// `<key file>.pub`: where retired public keys may also be listed.
pub fn public_file_of(path: &Path) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(".pub");
    PathBuf::from(name)
}

impl Keyring {
    /// Loads the key file, or creates it (mode 0600) with a new key when there is none.
    pub fn load_or_create(path: &Path) -> anyhow::Result<Keyring> {
        if !path.exists() {
            let key = SigningKey::from_bytes(&random_seed()?);
            match write_new(path, &file_text(&key, &[])) {
                Ok(()) => {
                    tracing::info!(
                        "已生成签名密钥 {}（{}）：请备份此文件，并与数据库分开保管",
                        key_id_of(&key.verifying_key()),
                        path.display()
                    );
                }
                // another process created it first: use theirs
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
                Err(e) => {
                    return Err(e)
                        .with_context(|| format!("无法创建签名密钥文件 {}", path.display()));
                }
            }
        }
        Keyring::load(path)
    }

    /// Loads an existing key file (and its `.pub` sibling, if any).
    pub fn load(path: &Path) -> anyhow::Result<Keyring> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("无法读取签名密钥文件 {}", path.display()))?;
        warn_if_readable_by_others(path);
        let mut current = None;
        let mut retired = Vec::new();
        parse(path, &text, true, &mut current, &mut retired)?;
        let Some(current) = current else {
            bail!(
                "签名密钥文件 {} 格式有误：没有 {SECRET} 行（文件不会被自动替换，请从备份恢复）",
                path.display()
            );
        };
        let pub_path = public_file_of(path);
        if pub_path.exists() {
            let text = std::fs::read_to_string(&pub_path)
                .with_context(|| format!("无法读取公钥文件 {}", pub_path.display()))?;
            parse(&pub_path, &text, false, &mut None, &mut retired)?;
        }
        let current_public = current.verifying_key();
        let current_id = key_id_of(&current_public);
        let mut verifiers = vec![(current_id.clone(), current_public)];
        for key in retired {
            let id = key_id_of(&key);
            if !verifiers.iter().any(|(known, _)| *known == id) {
                verifiers.push((id, key));
            }
        }
        Ok(Keyring {
            current,
            current_id,
            verifiers,
        })
    }

    /// Replaces the current key with a new one; the old one's public key stays in the file, so
    /// what it signed still verifies. Every process using the file must be restarted afterwards.
    pub fn rotate(path: &Path) -> anyhow::Result<Keyring> {
        let old = Keyring::load(path)?;
        let key = SigningKey::from_bytes(&random_seed()?);
        let retired: Vec<VerifyingKey> = old.verifiers.iter().map(|(_, k)| *k).collect();
        let text = file_text(&key, &retired);
        let tmp = temp_path(path);
        write_new(&tmp, &text)
            .with_context(|| format!("无法写入临时密钥文件 {}", tmp.display()))?;
        std::fs::rename(&tmp, path)
            .with_context(|| format!("无法替换签名密钥文件 {}", path.display()))?;
        Keyring::load(path)
    }

    /// The id of the key that signs.
    pub fn key_id(&self) -> &str {
        &self.current_id
    }

    /// The current public key, hex.
    pub fn public_key_hex(&self) -> String {
        hex::encode(self.current.verifying_key().as_bytes())
    }

    /// Ids of every key that verifies, the current one first.
    pub fn key_ids(&self) -> Vec<&str> {
        self.verifiers.iter().map(|(id, _)| id.as_str()).collect()
    }

    /// Whether `key_id` names a key of this keyring.
    pub fn knows(&self, key_id: &str) -> bool {
        self.verifiers.iter().any(|(id, _)| id == key_id)
    }

    /// Signs with the current key: a 64-byte Ed25519 signature.
    pub fn sign(&self, message: &[u8]) -> Vec<u8> {
        self.current.sign(message).to_bytes().to_vec()
    }

    /// Whether `signature` is the signature of `message` by the key `key_id` (current or retired).
    pub fn verify(&self, key_id: &str, message: &[u8], signature: &[u8]) -> bool {
        let Some((_, key)) = self.verifiers.iter().find(|(id, _)| id == key_id) else {
            return false;
        };
        let Ok(signature) = Signature::from_slice(signature) else {
            return false;
        };
        key.verify_strict(message, &signature).is_ok()
    }
}

fn random_seed() -> anyhow::Result<[u8; 32]> {
    use rand::TryRngCore;
    let mut seed = [0u8; 32];
    rand::rngs::OsRng
        .try_fill_bytes(&mut seed)
        .map_err(|e| anyhow::anyhow!("无法取得系统随机数：{e}"))?;
    Ok(seed)
}

fn file_text(key: &SigningKey, retired: &[VerifyingKey]) -> String {
    let mut text = format!(
        "# zhifa signing key (Ed25519), created {}. Keep it secret and apart from the database;\n\
         # back it up. Replicas on one database share this file. Format: see src/signing/mod.rs.\n\
         {SECRET} {}\n",
        chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ"),
        hex::encode(key.to_bytes()),
    );
    if !retired.is_empty() {
        text.push_str("# retired keys: they no longer sign, but what they signed still verifies\n");
    }
    for k in retired {
        text.push_str(&format!("{PUBLIC} {}\n", hex::encode(k.as_bytes())));
    }
    text
}

/// Parses the lines of a key file (`secret_allowed`) or of its `.pub` sibling.
fn parse(
    path: &Path,
    text: &str,
    secret_allowed: bool,
    current: &mut Option<SigningKey>,
    retired: &mut Vec<VerifyingKey>,
) -> anyhow::Result<()> {
    let refuse = |line: usize, what: &str| {
        anyhow::anyhow!(
            "签名密钥文件 {} 第 {line} 行格式有误：{what}（文件不会被自动替换，请检查或从备份恢复）",
            path.display()
        )
    };
    for (i, line) in text.lines().enumerate() {
        let n = i + 1;
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let mut parts = line.split_whitespace();
        let (Some(kind), Some(value), None) = (parts.next(), parts.next(), parts.next()) else {
            return Err(refuse(
                n,
                &format!("应为“{SECRET} 十六进制”或“{PUBLIC} 十六进制”"),
            ));
        };
        let bytes: [u8; 32] = hex::decode(value)
            .ok()
            .and_then(|b| b.try_into().ok())
            .ok_or_else(|| refuse(n, "密钥应为 64 位十六进制数"))?;
        match kind {
            SECRET if secret_allowed => {
                if current.is_some() {
                    return Err(refuse(n, &format!("只能有一行 {SECRET}")));
                }
                *current = Some(SigningKey::from_bytes(&bytes));
            }
            SECRET => return Err(refuse(n, "公钥文件中不应有私钥")),
            PUBLIC => retired.push(
                VerifyingKey::from_bytes(&bytes)
                    .map_err(|_| refuse(n, "不是有效的 Ed25519 公钥"))?,
            ),
            other => return Err(refuse(n, &format!("未知的类型“{other}”"))),
        }
    }
    Ok(())
}

fn temp_path(path: &Path) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(format!(".tmp-{}", std::process::id()));
    PathBuf::from(name)
}

/// Writes `text` to a new file at `path` (mode 0600), failing with `AlreadyExists` if there is
/// one. The text is complete and on disk before the name appears, so a concurrent reader never
/// sees half a key.
fn write_new(path: &Path, text: &str) -> std::io::Result<()> {
    if let Some(dir) = path.parent()
        && !dir.as_os_str().is_empty()
    {
        std::fs::create_dir_all(dir)?;
    }
    let tmp = temp_path(path);
    let _ = std::fs::remove_file(&tmp);
    let result = (|| {
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        let mut f = options.open(&tmp)?;
        f.write_all(text.as_bytes())?;
        f.sync_all()?;
        // a hard link never replaces an existing file
        std::fs::hard_link(&tmp, path)
    })();
    let _ = std::fs::remove_file(&tmp);
    result
}

fn warn_if_readable_by_others(path: &Path) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        if let Ok(meta) = std::fs::metadata(path)
            && meta.permissions().mode() & 0o077 != 0
        {
            tracing::warn!(
                "签名密钥文件 {} 的权限为 {:o}，其他用户可读：建议 chmod 600",
                path.display(),
                meta.permissions().mode() & 0o777
            );
        }
    }
    #[cfg(not(unix))]
    let _ = path;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signs_and_verifies_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("keys/signing.key");
        let k = Keyring::load_or_create(&path).unwrap();
        assert_eq!(k.key_id().len(), 16);
        let sig = k.sign(b"head 42");
        assert_eq!(sig.len(), 64);
        assert!(k.verify(k.key_id(), b"head 42", &sig));
        // the same file loads the same key
        let again = Keyring::load_or_create(&path).unwrap();
        assert_eq!(again.key_id(), k.key_id());
        assert!(again.verify(k.key_id(), b"head 42", &sig));
    }

    #[test]
    fn tampered_message_or_signature_fails() {
        let dir = tempfile::tempdir().unwrap();
        let k = Keyring::load_or_create(&dir.path().join("signing.key")).unwrap();
        let mut sig = k.sign(b"seq 7");
        assert!(!k.verify(k.key_id(), b"seq 8", &sig));
        assert!(!k.verify("0000000000000000", b"seq 7", &sig));
        assert!(!k.verify(k.key_id(), b"seq 7", &sig[..63]));
        sig[10] ^= 1;
        assert!(!k.verify(k.key_id(), b"seq 7", &sig));
    }

    #[test]
    fn malformed_file_is_refused_and_kept() {
        let dir = tempfile::tempdir().unwrap();
        for (text, says) in [
            ("", "没有 secret-ed25519"),
            ("secret-ed25519 abc\n", "第 1 行"),
            (
                "# c\nsecret-ed25519 00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff extra\n",
                "第 2 行",
            ),
            ("garbage\n", "第 1 行"),
        ] {
            let path = dir.path().join("bad.key");
            std::fs::write(&path, text).unwrap();
            let e = Keyring::load_or_create(&path).unwrap_err().to_string();
            assert!(e.contains(says) && e.contains("不会被自动替换"), "{e}");
            assert_eq!(std::fs::read_to_string(&path).unwrap(), text);
        }
    }

    #[cfg(unix)]
    #[test]
    fn new_key_file_is_private() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("signing.key");
        Keyring::load_or_create(&path).unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.starts_with('#') && text.contains("secret-ed25519 "));
    }

    #[test]
    fn rotation_keeps_old_signatures_verifiable() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("signing.key");
        let old = Keyring::load_or_create(&path).unwrap();
        let sig = old.sign(b"before");
        let new = Keyring::rotate(&path).unwrap();
        assert_ne!(new.key_id(), old.key_id());
        assert!(new.verify(old.key_id(), b"before", &sig));
        assert_eq!(new.key_ids(), vec![new.key_id(), old.key_id()]);
        let fresh = new.sign(b"after");
        assert!(new.verify(new.key_id(), b"after", &fresh));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }

    #[test]
    fn retired_keys_in_a_pub_file_verify() {
        let dir = tempfile::tempdir().unwrap();
        let old = Keyring::load_or_create(&dir.path().join("old.key")).unwrap();
        let sig = old.sign(b"archived");
        let path = dir.path().join("signing.key");
        let k = Keyring::load_or_create(&path).unwrap();
        assert!(!k.verify(old.key_id(), b"archived", &sig));
        std::fs::write(
            public_file_of(&path),
            format!("# retired\npublic-ed25519 {}\n", old.public_key_hex()),
        )
        .unwrap();
        let k = Keyring::load(&path).unwrap();
        assert!(k.verify(old.key_id(), b"archived", &sig));
        assert!(!k.verify(old.key_id(), b"archive", &sig));
        // a secret in the public file is a mistake, refused
        std::fs::write(
            public_file_of(&path),
            format!("secret-ed25519 {}\n", "11".repeat(32)),
        )
        .unwrap();
        assert!(
            Keyring::load(&path)
                .unwrap_err()
                .to_string()
                .contains("私钥")
        );
    }

    #[test]
    fn debug_never_shows_the_secret() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("signing.key");
        let k = Keyring::load_or_create(&path).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        let secret = text
            .lines()
            .find_map(|l| l.strip_prefix("secret-ed25519 "))
            .unwrap();
        assert!(!format!("{k:?}").contains(secret));
    }
}
