//! The bureau's signing keys: Ed25519 and SM2, kept in a file outside the database.
//!
//! Whoever can write the database must not be able to forge what is signed with these keys: the
//! audit chain's checkpoints (always Ed25519), the certificates' QR codes and the status list
//! (Ed25519 by default, SM2 with SM3 — GM/T 0003/0004 — when `ZHIFA_SIGNING_ALGORITHM=sm2`).
//! Replicas on one PostgreSQL share one key file.
//!
//! # The key file
//!
//! Plain text, created on first use with mode 0600 (`ZHIFA_SIGNING_KEY_FILE`, by default
//! `<data_dir>/signing.key`):
//!
//! ```text
//! # zhifa signing key …
//! secret-ed25519 <64 hex digits: the 32-byte secret seed>
//! secret-sm2 <64 hex digits: the 32-byte secret scalar>
//! public-ed25519 <64 hex digits: the public key of a retired Ed25519 key>
//! public-sm2 <130 hex digits: the uncompressed SEC1 point of a retired SM2 key>
//! ```
//!
//! Blank lines and lines starting with `#` are comments. At most one `secret-…` line per
//! algorithm (the current key, which signs), and always one `secret-ed25519`. Any number of
//! `public-…` lines: retired keys, which only verify, so what they signed stays verifiable until
//! their line is deleted. Retired public keys may also be listed in a sibling file named like the
//! key file plus `.pub` (`signing.key.pub`), which holds only `public-…` lines and comments. A file
//! that breaks these rules is refused with the line that is wrong; it is never replaced.
//!
//! A key is named by its id: the first 16 hex digits of the SHA-256 of its public key bytes.
//! [`Keyring::rotate`] makes a new current key and keeps the old one's public key in the file.
//! SM2 signatures use the default distinguishing identifier of GM/T 0009 (`1234567812345678`).

use anyhow::{Context, bail};
use sha2::{Digest, Sha256};
use std::io::Write;
use std::path::{Path, PathBuf};

/// GM/T 0009-2012's default user identity for SM2 signatures.
const SM2_DISTID: &str = "1234567812345678";

/// A signature algorithm the bureau's keys may use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Algorithm {
    Ed25519,
    Sm2,
}

impl Algorithm {
    pub const ALL: [Algorithm; 2] = [Algorithm::Ed25519, Algorithm::Sm2];

    pub fn as_str(self) -> &'static str {
        match self {
            Algorithm::Ed25519 => "ed25519",
            Algorithm::Sm2 => "sm2",
        }
    }

    /// How it is named to people.
    pub fn label(self) -> &'static str {
        match self {
            Algorithm::Ed25519 => "Ed25519",
            Algorithm::Sm2 => "SM2（国密，SM3 摘要）",
        }
    }

    pub fn parse(text: &str) -> Option<Algorithm> {
        match text.trim().to_ascii_lowercase().as_str() {
            "ed25519" => Some(Algorithm::Ed25519),
            "sm2" | "sm2-sm3" | "sm2sm3" | "国密" => Some(Algorithm::Sm2),
            _ => None,
        }
    }

    fn secret_tag(self) -> &'static str {
        match self {
            Algorithm::Ed25519 => "secret-ed25519",
            Algorithm::Sm2 => "secret-sm2",
        }
    }

    fn public_tag(self) -> &'static str {
        match self {
            Algorithm::Ed25519 => "public-ed25519",
            Algorithm::Sm2 => "public-sm2",
        }
    }
}

impl std::fmt::Display for Algorithm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A public key of either algorithm.
#[derive(Clone)]
pub enum PublicKey {
    Ed25519(ed25519_dalek::VerifyingKey),
    Sm2(Box<sm2::dsa::VerifyingKey>),
}

impl PublicKey {
    pub fn algorithm(&self) -> Algorithm {
        match self {
            PublicKey::Ed25519(_) => Algorithm::Ed25519,
            PublicKey::Sm2(_) => Algorithm::Sm2,
        }
    }

    /// The key's bytes: 32 for Ed25519, the 65-byte uncompressed point for SM2.
    pub fn to_bytes(&self) -> Vec<u8> {
        match self {
            PublicKey::Ed25519(k) => k.as_bytes().to_vec(),
            PublicKey::Sm2(k) => k.to_sec1_bytes().to_vec(),
        }
    }

    pub fn from_bytes(algorithm: Algorithm, bytes: &[u8]) -> Option<PublicKey> {
        match algorithm {
            Algorithm::Ed25519 => {
                let bytes: [u8; 32] = bytes.try_into().ok()?;
                ed25519_dalek::VerifyingKey::from_bytes(&bytes)
                    .ok()
                    .map(PublicKey::Ed25519)
            }
            Algorithm::Sm2 => sm2::dsa::VerifyingKey::from_sec1_bytes(SM2_DISTID, bytes)
                .ok()
                .map(|k| PublicKey::Sm2(Box::new(k))),
        }
    }

    /// 16 hex digits of the SHA-256 of the key's bytes.
    pub fn id(&self) -> String {
        hex::encode(&Sha256::digest(self.to_bytes())[..8])
    }

    /// Whether `signature` (64 bytes: Ed25519, or SM2's r‖s) signs `message` with this key.
    pub fn verify(&self, message: &[u8], signature: &[u8]) -> bool {
        match self {
            PublicKey::Ed25519(k) => ed25519_dalek::Signature::from_slice(signature)
                .is_ok_and(|sig| k.verify_strict(message, &sig).is_ok()),
            PublicKey::Sm2(k) => {
                use sm2::dsa::signature::Verifier;
                sm2::dsa::Signature::from_slice(signature)
                    .is_ok_and(|sig| k.verify(message, &sig).is_ok())
            }
        }
    }
}

impl std::fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.algorithm(), self.id())
    }
}

/// A secret key of either algorithm.
enum SecretKey {
    Ed25519(Box<ed25519_dalek::SigningKey>),
    Sm2(Box<sm2::dsa::SigningKey>),
}

impl SecretKey {
    fn generate(algorithm: Algorithm) -> anyhow::Result<SecretKey> {
        loop {
            let seed = random_seed()?;
            // an SM2 scalar must be non-zero and below the group order: draw again otherwise
            if let Some(key) = SecretKey::from_bytes(algorithm, &seed) {
                return Ok(key);
            }
        }
    }

    fn from_bytes(algorithm: Algorithm, bytes: &[u8; 32]) -> Option<SecretKey> {
        match algorithm {
            Algorithm::Ed25519 => Some(SecretKey::Ed25519(Box::new(
                ed25519_dalek::SigningKey::from_bytes(bytes),
            ))),
            Algorithm::Sm2 => sm2::dsa::SigningKey::from_slice(SM2_DISTID, bytes)
                .ok()
                .map(|k| SecretKey::Sm2(Box::new(k))),
        }
    }

    fn to_bytes(&self) -> [u8; 32] {
        match self {
            SecretKey::Ed25519(k) => k.to_bytes(),
            SecretKey::Sm2(k) => k.to_bytes().into(),
        }
    }

    fn algorithm(&self) -> Algorithm {
        match self {
            SecretKey::Ed25519(_) => Algorithm::Ed25519,
            SecretKey::Sm2(_) => Algorithm::Sm2,
        }
    }

    fn public(&self) -> PublicKey {
        match self {
            SecretKey::Ed25519(k) => PublicKey::Ed25519(k.verifying_key()),
            SecretKey::Sm2(k) => PublicKey::Sm2(Box::new(k.verifying_key().clone())),
        }
    }

    fn sign(&self, message: &[u8]) -> Vec<u8> {
        match self {
            SecretKey::Ed25519(k) => {
                use ed25519_dalek::Signer;
                k.sign(message).to_bytes().to_vec()
            }
            SecretKey::Sm2(k) => {
                use sm2::dsa::signature::Signer;
                let sig: sm2::dsa::Signature = k.sign(message);
                sig.to_bytes().to_vec()
            }
        }
    }
}

/// Public keys by id: what a verifier needs, and all it needs.
#[derive(Debug, Clone, Default)]
pub struct PublicKeys {
    keys: Vec<(String, PublicKey)>,
}

impl PublicKeys {
    pub fn new() -> PublicKeys {
        PublicKeys::default()
    }

    /// Adds a key (a key already known is not added twice).
    pub fn add(&mut self, key: PublicKey) {
        let id = key.id();
        if !self.keys.iter().any(|(known, _)| *known == id) {
            self.keys.push((id, key));
        }
    }

    pub fn get(&self, key_id: &str) -> Option<&PublicKey> {
        self.keys
            .iter()
            .find(|(id, _)| id == key_id)
            .map(|(_, k)| k)
    }

    pub fn iter(&self) -> impl Iterator<Item = (&str, &PublicKey)> {
        self.keys.iter().map(|(id, k)| (id.as_str(), k))
    }

    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// Whether `signature` signs `message` with the key `key_id`.
    pub fn verify(&self, key_id: &str, message: &[u8], signature: &[u8]) -> bool {
        self.get(key_id)
            .is_some_and(|k| k.verify(message, signature))
    }
}

/// The current signing keys (one per algorithm) and the public keys of retired ones.
pub struct Keyring {
    /// The keys that sign, Ed25519 first.
    current: Vec<(String, SecretKey)>,
    /// Every key that verifies: the current ones first, then the retired ones.
    verifiers: PublicKeys,
}

impl std::fmt::Debug for Keyring {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // never the secret
        f.debug_struct("Keyring")
            .field("key_id", &self.key_id())
            .field("verifiers", &self.key_ids())
            .finish()
    }
}

/// The short id of an Ed25519 public key: 16 hex digits of its SHA-256.
pub fn key_id_of(key: &ed25519_dalek::VerifyingKey) -> String {
    PublicKey::Ed25519(*key).id()
}

/// `<key file>.pub`: where retired public keys may also be listed.
pub fn public_file_of(path: &Path) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(".pub");
    PathBuf::from(name)
}

/// What a key file holds.
#[derive(Default)]
struct KeyFile {
    secrets: Vec<SecretKey>,
    retired: Vec<PublicKey>,
}

impl Keyring {
    /// Loads the key file, or creates it (mode 0600) with new keys when there is none. The file
    /// always has an Ed25519 key (the audit checkpoints); a key for `also` (the algorithm the
    /// cards use) is added to an existing file that lacks one, everything else kept.
    pub fn load_or_create(path: &Path, also: Algorithm) -> anyhow::Result<Keyring> {
        if !path.exists() {
            let mut secrets = vec![SecretKey::generate(Algorithm::Ed25519)?];
            if also != Algorithm::Ed25519 {
                secrets.push(SecretKey::generate(also)?);
            }
            match write_new(path, &file_text(&secrets, &[])) {
                Ok(()) => {
                    tracing::info!(
                        "已生成签名密钥（{}）：请备份此文件，并与数据库分开保管",
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
        let keyring = Keyring::load(path)?;
        if keyring.signer(also).is_some() {
            return Ok(keyring);
        }
        // replicas starting together must not each add their own key (the last writer would
        // win and the others would sign with keys no longer in the file): one at a time, and
        // whoever comes second finds the key there
        let _lock = FileLock::acquire(path)?;
        let keyring = Keyring::load(path)?;
        if keyring.signer(also).is_some() {
            return Ok(keyring);
        }
        let mut file = read_file(path)?;
        file.secrets.push(SecretKey::generate(also)?);
        replace(path, &file_text(&file.secrets, &file.retired))?;
        tracing::info!(
            "已在签名密钥文件 {} 中加入 {} 密钥：请重新备份此文件",
            path.display(),
            also.label()
        );
        Keyring::load(path)
    }

    /// Loads an existing key file (and its `.pub` sibling, if any).
    pub fn load(path: &Path) -> anyhow::Result<Keyring> {
        let file = read_file(path)?;
        if !file
            .secrets
            .iter()
            .any(|k| k.algorithm() == Algorithm::Ed25519)
        {
            bail!(
                "签名密钥文件 {} 格式有误：没有 secret-ed25519 行（文件不会被自动替换，请从备份恢复）",
                path.display()
            );
        }
        let mut retired = file.retired;
        let pub_path = public_file_of(path);
        if pub_path.exists() {
            let text = std::fs::read_to_string(&pub_path)
                .with_context(|| format!("无法读取公钥文件 {}", pub_path.display()))?;
            let more = parse(&pub_path, &text, false)?;
            retired.extend(more.retired);
        }
        let mut secrets = file.secrets;
        secrets.sort_by_key(|k| k.algorithm() != Algorithm::Ed25519);
        let mut verifiers = PublicKeys::new();
        let current = secrets
            .into_iter()
            .map(|k| {
                let public = k.public();
                let id = public.id();
                verifiers.add(public);
                (id, k)
            })
            .collect();
        for key in retired {
            verifiers.add(key);
        }
        Ok(Keyring { current, verifiers })
    }

    /// Replaces the current key of `algorithm` with a new one; the old one's public key stays in
    /// the file, so what it signed still verifies. Every process using the file must be restarted
    /// afterwards.
    pub fn rotate(path: &Path, algorithm: Algorithm) -> anyhow::Result<Keyring> {
        Keyring::load(path)?;
        let _lock = FileLock::acquire(path)?;
        let mut file = read_file(path)?;
        let mut retired: Vec<PublicKey> = Vec::new();
        file.secrets.retain(|k| {
            if k.algorithm() == algorithm {
                retired.push(k.public());
                false
            } else {
                true
            }
        });
        file.secrets.push(SecretKey::generate(algorithm)?);
        retired.extend(file.retired);
        replace(path, &file_text(&file.secrets, &retired))?;
        Keyring::load(path)
    }

    /// The id of the Ed25519 key that signs the audit checkpoints.
    pub fn key_id(&self) -> &str {
        &self.current[0].0
    }

    /// The current Ed25519 public key, hex.
    pub fn public_key_hex(&self) -> String {
        hex::encode(self.current[0].1.public().to_bytes())
    }

    /// Ids of every key that verifies, the current ones first.
    pub fn key_ids(&self) -> Vec<&str> {
        self.verifiers.iter().map(|(id, _)| id).collect()
    }

    /// Whether `key_id` names a key of this keyring.
    pub fn knows(&self, key_id: &str) -> bool {
        self.verifiers.get(key_id).is_some()
    }

    /// Whether `key_id` is a current (signing) key.
    pub fn is_current(&self, key_id: &str) -> bool {
        self.current.iter().any(|(id, _)| id == key_id)
    }

    /// Signs with the current Ed25519 key: a 64-byte signature (the audit checkpoints).
    pub fn sign(&self, message: &[u8]) -> Vec<u8> {
        self.current[0].1.sign(message)
    }

    /// The id of the current key of `algorithm`, if the file has one.
    pub fn signer(&self, algorithm: Algorithm) -> Option<&str> {
        self.current
            .iter()
            .find(|(_, k)| k.algorithm() == algorithm)
            .map(|(id, _)| id.as_str())
    }

    /// Signs with the current key of `algorithm`: its id and a 64-byte signature.
    pub fn sign_with(&self, algorithm: Algorithm, message: &[u8]) -> Option<(&str, Vec<u8>)> {
        self.current
            .iter()
            .find(|(_, k)| k.algorithm() == algorithm)
            .map(|(id, k)| (id.as_str(), k.sign(message)))
    }

    /// Whether `signature` signs `message` with the key `key_id` (current or retired).
    pub fn verify(&self, key_id: &str, message: &[u8], signature: &[u8]) -> bool {
        self.verifiers.verify(key_id, message, signature)
    }

    /// Every key that verifies, for publishing.
    pub fn public_keys(&self) -> &PublicKeys {
        &self.verifiers
    }
}

/// `<key file>.lock`, held while the key file is rewritten.
struct FileLock(PathBuf);

impl FileLock {
    fn acquire(path: &Path) -> anyhow::Result<FileLock> {
        let mut name = path.as_os_str().to_owned();
        name.push(".lock");
        let lock = PathBuf::from(name);
        for _ in 0..200 {
            match std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(&lock)
            {
                Ok(_) => return Ok(FileLock(lock)),
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                    // a lock left by a process that died while writing is stale after a minute
                    let stale = std::fs::metadata(&lock)
                        .and_then(|m| m.modified())
                        .ok()
                        .and_then(|t| t.elapsed().ok())
                        .is_some_and(|age| age > std::time::Duration::from_secs(60));
                    if stale {
                        let _ = std::fs::remove_file(&lock);
                    } else {
                        std::thread::sleep(std::time::Duration::from_millis(50));
                    }
                }
                Err(e) => {
                    return Err(e).with_context(|| format!("无法创建锁文件 {}", lock.display()));
                }
            }
        }
        bail!(
            "签名密钥文件正被另一个进程改写（{} 一直存在）：稍后再试",
            lock.display()
        )
    }
}

impl Drop for FileLock {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
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

fn file_text(secrets: &[SecretKey], retired: &[PublicKey]) -> String {
    let mut text = format!(
        "# zhifa signing keys, written {}. Keep this file secret and apart from the database;\n\
         # back it up (see README). Replicas on one database share it. Format: src/signing/mod.rs.\n",
        chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ"),
    );
    for k in secrets {
        text.push_str(&format!(
            "{} {}\n",
            k.algorithm().secret_tag(),
            hex::encode(k.to_bytes())
        ));
    }
    if !retired.is_empty() {
        text.push_str("# retired keys: they no longer sign, but what they signed still verifies\n");
    }
    for k in retired {
        text.push_str(&format!(
            "{} {}\n",
            k.algorithm().public_tag(),
            hex::encode(k.to_bytes())
        ));
    }
    text
}

fn read_file(path: &Path) -> anyhow::Result<KeyFile> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("无法读取签名密钥文件 {}", path.display()))?;
    warn_if_readable_by_others(path);
    parse(path, &text, true)
}

/// Parses the lines of a key file (`secret_allowed`) or of its `.pub` sibling.
fn parse(path: &Path, text: &str, secret_allowed: bool) -> anyhow::Result<KeyFile> {
    let refuse = |line: usize, what: &str| {
        anyhow::anyhow!(
            "签名密钥文件 {} 第 {line} 行格式有误：{what}（文件不会被自动替换，请检查或从备份恢复）",
            path.display()
        )
    };
    let mut file = KeyFile::default();
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
                "应为“secret-ed25519 十六进制”“public-sm2 十六进制”这样的两段",
            ));
        };
        let bytes = hex::decode(value).map_err(|_| refuse(n, "密钥应为十六进制数"))?;
        let secret = Algorithm::ALL.into_iter().find(|a| a.secret_tag() == kind);
        let public = Algorithm::ALL.into_iter().find(|a| a.public_tag() == kind);
        match (secret, public) {
            (Some(_), _) if !secret_allowed => return Err(refuse(n, "公钥文件中不应有私钥")),
            (Some(algorithm), _) => {
                if file.secrets.iter().any(|k| k.algorithm() == algorithm) {
                    return Err(refuse(n, &format!("只能有一行 {kind}")));
                }
                let bytes: [u8; 32] = bytes
                    .try_into()
                    .map_err(|_| refuse(n, "私钥应为 64 位十六进制数"))?;
                let key = SecretKey::from_bytes(algorithm, &bytes)
                    .ok_or_else(|| refuse(n, &format!("不是有效的 {} 私钥", algorithm.label())))?;
                file.secrets.push(key);
            }
            (None, Some(algorithm)) => file.retired.push(
                PublicKey::from_bytes(algorithm, &bytes)
                    .ok_or_else(|| refuse(n, &format!("不是有效的 {} 公钥", algorithm.label())))?,
            ),
            (None, None) => return Err(refuse(n, &format!("未知的类型“{kind}”"))),
        }
    }
    Ok(file)
}

fn temp_path(path: &Path) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(format!(".tmp-{}", std::process::id()));
    PathBuf::from(name)
}

/// Replaces the key file with `text` at once (a reader sees the old file or the new one).
fn replace(path: &Path, text: &str) -> anyhow::Result<()> {
    let tmp = temp_path(path);
    let mut staged = tmp.as_os_str().to_owned();
    staged.push(".new");
    let staged = PathBuf::from(staged);
    let _ = std::fs::remove_file(&staged);
    write_new(&staged, text)
        .with_context(|| format!("无法写入临时密钥文件 {}", staged.display()))?;
    std::fs::rename(&staged, path)
        .with_context(|| format!("无法替换签名密钥文件 {}", path.display()))
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
        let k = Keyring::load_or_create(&path, Algorithm::Ed25519).unwrap();
        assert_eq!(k.key_id().len(), 16);
        let sig = k.sign(b"head 42");
        assert_eq!(sig.len(), 64);
        assert!(k.verify(k.key_id(), b"head 42", &sig));
        // the same file loads the same key
        let again = Keyring::load_or_create(&path, Algorithm::Ed25519).unwrap();
        assert_eq!(again.key_id(), k.key_id());
        assert!(again.verify(k.key_id(), b"head 42", &sig));
    }

    #[test]
    fn tampered_message_or_signature_fails() {
        let dir = tempfile::tempdir().unwrap();
        let k =
            Keyring::load_or_create(&dir.path().join("signing.key"), Algorithm::Ed25519).unwrap();
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
            (
                "secret-sm2 00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff\n",
                "没有 secret-ed25519",
            ),
            ("secret-ed25519 abc\n", "第 1 行"),
            (
                "# c\nsecret-ed25519 00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff extra\n",
                "第 2 行",
            ),
            ("garbage\n", "第 1 行"),
        ] {
            let path = dir.path().join("bad.key");
            std::fs::write(&path, text).unwrap();
            let e = Keyring::load_or_create(&path, Algorithm::Ed25519)
                .unwrap_err()
                .to_string();
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
        Keyring::load_or_create(&path, Algorithm::Ed25519).unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.starts_with('#') && text.contains("secret-ed25519 "));
    }

    #[test]
    fn rotation_keeps_old_signatures_verifiable() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("signing.key");
        let old = Keyring::load_or_create(&path, Algorithm::Ed25519).unwrap();
        let sig = old.sign(b"before");
        let new = Keyring::rotate(&path, Algorithm::Ed25519).unwrap();
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
        let old = Keyring::load_or_create(&dir.path().join("old.key"), Algorithm::Ed25519).unwrap();
        let sig = old.sign(b"archived");
        let path = dir.path().join("signing.key");
        let k = Keyring::load_or_create(&path, Algorithm::Ed25519).unwrap();
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
        let k = Keyring::load_or_create(&path, Algorithm::Ed25519).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        let secret = text
            .lines()
            .find_map(|l| l.strip_prefix("secret-ed25519 "))
            .unwrap();
        assert!(!format!("{k:?}").contains(secret));
    }

    #[test]
    fn replicas_adding_a_key_at_once_agree_on_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("signing.key");
        Keyring::load_or_create(&path, Algorithm::Ed25519).unwrap();
        let ids: Vec<String> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..4)
                .map(|_| {
                    s.spawn(|| {
                        Keyring::load_or_create(&path, Algorithm::Sm2)
                            .unwrap()
                            .signer(Algorithm::Sm2)
                            .unwrap()
                            .to_string()
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        assert!(ids.iter().all(|id| *id == ids[0]), "{ids:?}");
        let file = Keyring::load(&path).unwrap();
        assert_eq!(file.signer(Algorithm::Sm2).unwrap(), ids[0]);
    }

    #[test]
    fn sm2_keys_are_added_sign_verify_and_rotate() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("signing.key");
        let ed = Keyring::load_or_create(&path, Algorithm::Ed25519).unwrap();
        assert!(ed.signer(Algorithm::Sm2).is_none());
        // asking for SM2 later adds a key and keeps the Ed25519 one
        let k = Keyring::load_or_create(&path, Algorithm::Sm2).unwrap();
        assert_eq!(k.key_id(), ed.key_id());
        let (id, sig) = k.sign_with(Algorithm::Sm2, b"card").unwrap();
        let id = id.to_string();
        assert_eq!(sig.len(), 64);
        assert!(k.verify(&id, b"card", &sig));
        assert!(!k.verify(&id, b"cart", &sig));
        assert!(!k.verify(ed.key_id(), b"card", &sig));
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.contains("secret-ed25519 ") && text.contains("secret-sm2 "));
        let rotated = Keyring::rotate(&path, Algorithm::Sm2).unwrap();
        assert_ne!(rotated.signer(Algorithm::Sm2).unwrap(), id);
        assert_eq!(rotated.key_id(), ed.key_id());
        assert!(rotated.verify(&id, b"card", &sig));
        assert!(!rotated.is_current(&id));
        let public = rotated.public_keys().get(&id).unwrap();
        assert_eq!(public.algorithm(), Algorithm::Sm2);
        assert_eq!(public.to_bytes().len(), 65);
        // a public key read back from its bytes verifies the same
        let again = PublicKey::from_bytes(Algorithm::Sm2, &public.to_bytes()).unwrap();
        assert!(again.verify(b"card", &sig));
    }
}
