//! The pure rules of verification: the signed QR payload, the status list's bits, the masked
//! name, and the offline verdict. No database, no clock (today is an argument).
//!
//! # The QR payload (version 1)
//!
//! The QR code on a card holds `<public url>/v/<payload>`, so a phone's camera opens the public
//! verification page, and an offline verifier reads the same text. The payload is base64url
//! (no padding) of `body ‖ signature`:
//!
//! | bytes | field |
//! |---|---|
//! | 1 | version, 1 |
//! | 8 | key id (the signing key's 16 hex digits) |
//! | 4 | status-list index, big-endian |
//! | 2 + 2 | valid from, valid until: days since 2000-01-01, big-endian (`FFFF` = none) |
//! | 1 + n, four times | number, masked name, unit code, category: length, then UTF-8 |
//! | 64 | signature: Ed25519, or SM2's r‖s (SM3, GM/T 0003) |
//!
//! The signature is over `zhifa-card/1` followed by a zero byte and the body, so nothing signed
//! for another purpose (an audit checkpoint, a status list) can pass for a card.
//!
//! # The status list
//!
//! In the manner of the W3C Bitstring Status List: a bitstring of at least 131,072 bits (16 KB,
//! so one card's index says little), bit *i* is the left-most bit of byte *i*/8 counting from the
//! most significant, gzip-compressed and written as multibase base64url (`u…`). Two lists, as the
//! W3C's two purposes: revoked (吊销 and 注销: for good) and suspended (暂扣: may be lifted).

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use std::io::{Read, Write};

use crate::signing::PublicKeys;

const CARD_CONTEXT: &[u8] = b"zhifa-card/1\0";
const LIST_CONTEXT: &str = "zhifa-status-list/1";
const SIGNATURE_LEN: usize = 64;
/// The smallest list (W3C's minimum: 16 KB of bits).
pub const MIN_LIST_BITS: u32 = 131_072;
/// The largest list a verifier will unpack (a hostile file must not exhaust memory).
pub const MAX_LIST_BITS: u32 = 1 << 27;

fn epoch() -> NaiveDate {
    NaiveDate::from_ymd_opt(2000, 1, 1).expect("a real date")
}

fn day(d: Option<NaiveDate>) -> u16 {
    d.and_then(|d| u16::try_from((d - epoch()).num_days()).ok())
        .filter(|n| *n != u16::MAX)
        .unwrap_or(u16::MAX)
}

fn date(n: u16) -> Option<NaiveDate> {
    (n != u16::MAX).then(|| epoch() + chrono::Duration::days(n.into()))
}

/// What a card's QR code says about it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Claims {
    pub key_id: String,
    pub index: u32,
    pub number: String,
    pub masked_name: String,
    pub unit_code: String,
    pub category: String,
    pub valid_from: Option<NaiveDate>,
    pub valid_until: Option<NaiveDate>,
}

/// Why a payload could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PayloadError {
    #[error("不是本系统执法证的二维码内容")]
    NotOurs,
    #[error("二维码内容不完整或已损坏")]
    Damaged,
    #[error("二维码版本 {0} 无法识别，请更新核验工具")]
    Version(u8),
}

/// The signed bytes of a card and its signature.
pub struct Signed {
    pub claims: Claims,
    message: Vec<u8>,
    signature: Vec<u8>,
}

impl Signed {
    /// Whether the signature is good under one of `keys`.
    pub fn verify(&self, keys: &PublicKeys) -> bool {
        keys.verify(&self.claims.key_id, &self.message, &self.signature)
    }
}

fn put_text(body: &mut Vec<u8>, text: &str) {
    // a field longer than 255 bytes is cut at a character boundary (numbers and names are short)
    let mut end = text.len().min(255);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    body.push(end as u8);
    body.extend_from_slice(&text.as_bytes()[..end]);
}

/// The payload for `claims`, signed by `sign` (which gets the message to sign).
pub fn encode(claims: &Claims, sign: impl FnOnce(&[u8]) -> Vec<u8>) -> String {
    let mut body = vec![1u8];
    let key = hex::decode(&claims.key_id).unwrap_or_default();
    let mut id = [0u8; 8];
    for (slot, b) in id.iter_mut().zip(key) {
        *slot = b;
    }
    body.extend_from_slice(&id);
    body.extend_from_slice(&claims.index.to_be_bytes());
    body.extend_from_slice(&day(claims.valid_from).to_be_bytes());
    body.extend_from_slice(&day(claims.valid_until).to_be_bytes());
    for text in [
        &claims.number,
        &claims.masked_name,
        &claims.unit_code,
        &claims.category,
    ] {
        put_text(&mut body, text);
    }
    let mut message = CARD_CONTEXT.to_vec();
    message.extend_from_slice(&body);
    body.extend_from_slice(&sign(&message));
    B64.encode(body)
}

/// The payload in a scanned text: the text itself, or what follows `/v/` in a verification link.
pub fn payload_of(scanned: &str) -> &str {
    let text = scanned.trim();
    let text = match text.rfind("/v/") {
        Some(at) => &text[at + 3..],
        None => text,
    };
    text.split(['?', '#']).next().unwrap_or("")
}

/// Reads a payload (or a verification link). The signature is not checked here.
pub fn decode(scanned: &str) -> Result<Signed, PayloadError> {
    let text = payload_of(scanned);
    if text.is_empty() || text.len() > 2048 {
        return Err(PayloadError::NotOurs);
    }
    let bytes = B64.decode(text).map_err(|_| PayloadError::NotOurs)?;
    let (&version, _) = bytes.split_first().ok_or(PayloadError::Damaged)?;
    if version != 1 {
        return Err(PayloadError::Version(version));
    }
    if bytes.len() < 17 + 4 + SIGNATURE_LEN {
        return Err(PayloadError::Damaged);
    }
    let (body, signature) = bytes.split_at(bytes.len() - SIGNATURE_LEN);
    let u16_at = |i: usize| u16::from_be_bytes([body[i], body[i + 1]]);
    let mut at = 17;
    let mut texts = Vec::with_capacity(4);
    for _ in 0..4 {
        let len = *body.get(at).ok_or(PayloadError::Damaged)? as usize;
        let raw = body
            .get(at + 1..at + 1 + len)
            .ok_or(PayloadError::Damaged)?;
        texts.push(
            std::str::from_utf8(raw)
                .map_err(|_| PayloadError::Damaged)?
                .to_string(),
        );
        at += 1 + len;
    }
    if at != body.len() {
        return Err(PayloadError::Damaged);
    }
    let [number, masked_name, unit_code, category]: [String; 4] =
        texts.try_into().map_err(|_| PayloadError::Damaged)?;
    let mut message = CARD_CONTEXT.to_vec();
    message.extend_from_slice(body);
    Ok(Signed {
        claims: Claims {
            key_id: hex::encode(&body[1..9]),
            index: u32::from_be_bytes([body[9], body[10], body[11], body[12]]),
            valid_from: date(u16_at(13)),
            valid_until: date(u16_at(15)),
            number,
            masked_name,
            unit_code,
            category,
        },
        message,
        signature: signature.to_vec(),
    })
}

/// A name as verification shows it: the first and last characters kept, the rest starred
/// (张*三, 欧**明, 王*; a one-character name is *). Characters, not bytes: 𬌗 is one.
pub fn mask_name(name: &str) -> String {
    let chars: Vec<char> = name.trim().chars().collect();
    match chars.len() {
        0 => String::new(),
        1 => "*".into(),
        2 => format!("{}*", chars[0]),
        n => {
            let mut out = String::new();
            out.push(chars[0]);
            for c in &chars[1..n - 1] {
                // the dot in 买买提·艾力 stays, so the shape of the name is kept
                out.push(if *c == '·' || *c == '•' { *c } else { '*' });
            }
            out.push(chars[n - 1]);
            out
        }
    }
}

/// The size of a list that holds index `max`: a multiple of the minimum.
pub fn list_size(max: Option<u32>) -> u32 {
    let needed = max.map_or(0, |m| m.saturating_add(1));
    needed.div_ceil(MIN_LIST_BITS).max(1) * MIN_LIST_BITS
}

/// `u` + base64url(gzip(bits)), with the bits at `indices` set.
pub fn encode_bits(size: u32, indices: impl IntoIterator<Item = u32>) -> String {
    let mut bits = vec![0u8; size as usize / 8];
    for i in indices {
        if let Some(byte) = bits.get_mut(i as usize / 8) {
            *byte |= 0x80 >> (i % 8);
        }
    }
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    gz.write_all(&bits).expect("writing to memory");
    format!("u{}", B64.encode(gz.finish().expect("writing to memory")))
}

/// The bits of an encoded list of `size` bits; None if it is not one.
pub fn decode_bits(size: u32, encoded: &str) -> Option<Vec<u8>> {
    if size > MAX_LIST_BITS || !size.is_multiple_of(8) {
        return None;
    }
    let zipped = B64.decode(encoded.strip_prefix('u')?).ok()?;
    let mut bits = Vec::new();
    // never unpack more than the list declares (a gzip bomb stops here)
    flate2::read::GzDecoder::new(zipped.as_slice())
        .take(u64::from(size / 8) + 1)
        .read_to_end(&mut bits)
        .ok()?;
    (bits.len() == size as usize / 8).then_some(bits)
}

/// Whether bit `index` is set.
pub fn bit(bits: &[u8], index: u32) -> Option<bool> {
    bits.get(index as usize / 8)
        .map(|b| b & (0x80 >> (index % 8)) != 0)
}

/// The signed status list, as published at `GET /api/v1/status-list`.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct StatusList {
    /// 1.
    pub version: u32,
    /// The bureau.
    pub issuer: String,
    /// When the list was made (UTC, RFC 3339). A verifier holding an old list knows how old.
    pub issued_at: String,
    /// Bits in each list (a multiple of 131,072).
    pub size: u32,
    /// Revoked and cancelled certificates: multibase base64url of the gzip-compressed bits.
    pub revoked: String,
    /// Suspended certificates, encoded the same way.
    pub suspended: String,
    /// The key that signed, from `GET /api/v1/keys`.
    pub key_id: String,
    /// `ed25519` or `sm2`.
    pub algorithm: String,
    /// base64url of the signature over `zhifa-status-list/1`, issuer, issued_at, size, revoked
    /// and suspended, joined by line feeds.
    pub signature: String,
}

impl StatusList {
    /// What the signature covers.
    pub fn message(&self) -> Vec<u8> {
        format!(
            "{LIST_CONTEXT}\n{}\n{}\n{}\n{}\n{}",
            self.issuer, self.issued_at, self.size, self.revoked, self.suspended
        )
        .into_bytes()
    }

    /// Checks the signature and unpacks the bits.
    pub fn open(&self, keys: &PublicKeys) -> Result<OpenList, String> {
        if self.version != 1 {
            return Err(format!("状态列表版本 {} 无法识别", self.version));
        }
        let signature = B64
            .decode(&self.signature)
            .map_err(|_| "状态列表的签名无法读取".to_string())?;
        if keys.get(&self.key_id).is_none() {
            return Err(format!(
                "状态列表由未知的密钥 {} 签名：请取得最新的公钥（GET /api/v1/keys）",
                self.key_id
            ));
        }
        if !keys.verify(&self.key_id, &self.message(), &signature) {
            return Err("状态列表的签名无效：文件被改动过，不能使用".into());
        }
        let unpack = |what: &str, encoded: &str| {
            decode_bits(self.size, encoded).ok_or_else(|| format!("状态列表的{what}部分已损坏"))
        };
        Ok(OpenList {
            issued_at: self.issued_at.clone(),
            revoked: unpack("吊销", &self.revoked)?,
            suspended: unpack("暂扣", &self.suspended)?,
        })
    }
}

/// A status list whose signature was checked.
#[derive(Debug)]
pub struct OpenList {
    pub issued_at: String,
    revoked: Vec<u8>,
    suspended: Vec<u8>,
}

/// What an offline check concludes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    Valid,
    Revoked,
    Suspended,
    Expired,
    Forged,
}

impl Verdict {
    pub fn label(self) -> &'static str {
        match self {
            Verdict::Valid => "有效",
            Verdict::Revoked => "已吊销或注销",
            Verdict::Suspended => "暂扣中",
            Verdict::Expired => "已过期",
            Verdict::Forged => "伪造或被篡改",
        }
    }

    /// The exit code of `zhifa verify-qr`.
    pub fn exit_code(self) -> i32 {
        match self {
            Verdict::Valid => 0,
            Verdict::Forged => 2,
            Verdict::Revoked => 3,
            Verdict::Suspended => 4,
            Verdict::Expired => 5,
        }
    }
}

/// An offline check's result.
#[derive(Debug, Clone, Serialize)]
pub struct Offline {
    pub verdict: Verdict,
    /// What the QR says (absent when it could not be read at all).
    pub claims: Option<Claims>,
    /// Why, in words.
    pub reason: String,
    /// Whether a status list was consulted for this card.
    pub status_checked: bool,
}

/// Checks a scanned payload against public keys and, if given, an opened status list.
pub fn check_offline(
    scanned: &str,
    keys: &PublicKeys,
    list: Option<&OpenList>,
    today: NaiveDate,
) -> Offline {
    let forged = |claims: Option<Claims>, reason: String| Offline {
        verdict: Verdict::Forged,
        claims,
        reason,
        status_checked: false,
    };
    let signed = match decode(scanned) {
        Ok(s) => s,
        Err(e) => return forged(None, e.to_string()),
    };
    if keys.get(&signed.claims.key_id).is_none() {
        let reason = format!(
            "签名密钥 {} 不在公钥列表中：若是新近轮换的密钥，请取得最新的公钥列表",
            signed.claims.key_id
        );
        return forged(Some(signed.claims), reason);
    }
    if !signed.verify(keys) {
        return forged(
            Some(signed.claims),
            "签名无效：二维码内容被改动或伪造".into(),
        );
    }
    let claims = signed.claims;
    let status = list.map(|l| {
        (
            bit(&l.revoked, claims.index),
            bit(&l.suspended, claims.index),
            l.issued_at.as_str(),
        )
    });
    let (verdict, reason, status_checked) = match status {
        Some((Some(true), _, at)) => (
            Verdict::Revoked,
            format!("状态列表（{at}）记载此证已吊销或注销"),
            true,
        ),
        Some((_, Some(true), at)) => (
            Verdict::Suspended,
            format!("状态列表（{at}）记载此证暂扣中"),
            true,
        ),
        _ if claims.valid_until.is_some_and(|d| d < today) => (
            Verdict::Expired,
            format!(
                "有效期至 {}，已过期",
                claims
                    .valid_until
                    .map(crate::roster::rules::chinese_date)
                    .unwrap_or_default()
            ),
            status.is_some_and(|(r, _, _)| r.is_some()),
        ),
        Some((Some(false), _, at)) => (
            Verdict::Valid,
            format!("签名有效，状态列表（{at}）中未吊销、未暂扣"),
            true,
        ),
        Some((None, _, at)) => (
            Verdict::Valid,
            format!("签名有效；此证晚于状态列表（{at}），未能核对吊销情况，请更新状态列表"),
            false,
        ),
        None => (
            Verdict::Valid,
            "签名有效；未提供状态列表，未核对吊销情况".into(),
            false,
        ),
    };
    Offline {
        verdict,
        claims: Some(claims),
        reason,
        status_checked,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::signing::{PublicKey, PublicKeys};
    use proptest::prelude::*;

    fn keys() -> (ed25519_dalek::SigningKey, PublicKeys) {
        let secret = ed25519_dalek::SigningKey::from_bytes(&[7u8; 32]);
        let mut keys = PublicKeys::new();
        keys.add(PublicKey::Ed25519(secret.verifying_key()));
        (secret, keys)
    }

    fn claims(keys: &PublicKeys) -> Claims {
        Claims {
            key_id: keys.iter().next().unwrap().0.to_string(),
            index: 4242,
            number: "22070226000171".into(),
            masked_name: mask_name("王𬌗䶮"),
            unit_code: "220702001".into(),
            category: "市场监督管理".into(),
            valid_from: NaiveDate::from_ymd_opt(2026, 3, 1),
            valid_until: NaiveDate::from_ymd_opt(2031, 2, 28),
        }
    }

    fn sign(secret: &ed25519_dalek::SigningKey) -> impl FnOnce(&[u8]) -> Vec<u8> + '_ {
        use ed25519_dalek::Signer;
        move |m| secret.sign(m).to_bytes().to_vec()
    }

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 11, 23).unwrap()
    }

    fn list(
        secret: &ed25519_dalek::SigningKey,
        keys: &PublicKeys,
        revoked: &[u32],
        suspended: &[u32],
    ) -> OpenList {
        use ed25519_dalek::Signer;
        let mut l = StatusList {
            version: 1,
            issuer: "松原市司法局".into(),
            issued_at: "2026-11-22T08:00:00Z".into(),
            size: list_size(Some(5000)),
            revoked: encode_bits(MIN_LIST_BITS, revoked.iter().copied()),
            suspended: encode_bits(MIN_LIST_BITS, suspended.iter().copied()),
            key_id: keys.iter().next().unwrap().0.to_string(),
            algorithm: "ed25519".into(),
            signature: String::new(),
        };
        l.signature = B64.encode(secret.sign(&l.message()).to_bytes());
        l.open(keys).unwrap()
    }

    #[test]
    fn a_payload_round_trips_and_fits_a_card() {
        let (secret, keys) = keys();
        let c = claims(&keys);
        let payload = encode(&c, sign(&secret));
        assert!(payload.len() < 220, "{}", payload.len());
        let link = format!("https://zfz.example.gov.cn/v/{payload}");
        let read = decode(&link).unwrap();
        assert_eq!(read.claims, c);
        assert!(read.verify(&keys));
        assert_eq!(
            check_offline(&link, &keys, None, today()).verdict,
            Verdict::Valid
        );
    }

    #[test]
    fn tampering_anywhere_is_forged() {
        let (secret, keys) = keys();
        let payload = encode(&claims(&keys), sign(&secret));
        let mut bytes = B64.decode(&payload).unwrap();
        for i in 0..bytes.len() {
            bytes[i] ^= 0x04;
            let tampered = B64.encode(&bytes);
            let v = check_offline(&tampered, &keys, None, today());
            assert_eq!(v.verdict, Verdict::Forged, "byte {i}");
            bytes[i] ^= 0x04;
        }
        // another bureau's key
        let other = ed25519_dalek::SigningKey::from_bytes(&[9u8; 32]);
        let mut c = claims(&keys);
        c.key_id = PublicKey::Ed25519(other.verifying_key()).id();
        let foreign = encode(&c, sign(&other));
        let v = check_offline(&foreign, &keys, None, today());
        assert_eq!(v.verdict, Verdict::Forged);
        assert!(v.reason.contains("不在公钥列表"));
        for junk in [
            "",
            "hello",
            "https://example.com/v/",
            "AAAA",
            &"A".repeat(5000),
        ] {
            assert_eq!(
                check_offline(junk, &keys, None, today()).verdict,
                Verdict::Forged
            );
        }
    }

    #[test]
    fn the_status_list_decides_revoked_and_suspended() {
        let (secret, keys) = keys();
        let payload = encode(&claims(&keys), sign(&secret));
        let clean = list(&secret, &keys, &[1, 4241, 4243], &[]);
        let v = check_offline(&payload, &keys, Some(&clean), today());
        assert_eq!((v.verdict, v.status_checked), (Verdict::Valid, true));
        let revoked = list(&secret, &keys, &[4242], &[]);
        assert_eq!(
            check_offline(&payload, &keys, Some(&revoked), today()).verdict,
            Verdict::Revoked
        );
        let suspended = list(&secret, &keys, &[], &[4242]);
        assert_eq!(
            check_offline(&payload, &keys, Some(&suspended), today()).verdict,
            Verdict::Suspended
        );
        let later = NaiveDate::from_ymd_opt(2031, 3, 1).unwrap();
        assert_eq!(
            check_offline(&payload, &keys, Some(&clean), later).verdict,
            Verdict::Expired
        );
    }

    #[test]
    fn a_changed_status_list_is_refused() {
        use ed25519_dalek::Signer;
        let (secret, keys) = keys();
        let mut l = StatusList {
            version: 1,
            issuer: "x".into(),
            issued_at: "2026-11-22T08:00:00Z".into(),
            size: MIN_LIST_BITS,
            revoked: encode_bits(MIN_LIST_BITS, [5]),
            suspended: encode_bits(MIN_LIST_BITS, []),
            key_id: keys.iter().next().unwrap().0.to_string(),
            algorithm: "ed25519".into(),
            signature: String::new(),
        };
        l.signature = B64.encode(secret.sign(&l.message()).to_bytes());
        assert!(l.open(&keys).is_ok());
        l.revoked = encode_bits(MIN_LIST_BITS, []);
        assert!(l.open(&keys).unwrap_err().contains("签名无效"));
    }

    #[test]
    fn a_gzip_bomb_is_not_unpacked() {
        let big = encode_bits(MIN_LIST_BITS * 64, []);
        assert!(decode_bits(MIN_LIST_BITS, &big).is_none());
        assert!(decode_bits(MAX_LIST_BITS * 2, &big).is_none());
        assert!(decode_bits(MIN_LIST_BITS * 64, &big).is_some());
    }

    #[test]
    fn names_are_masked_by_character() {
        assert_eq!(mask_name("张三"), "张*");
        assert_eq!(mask_name("张小三"), "张*三");
        assert_eq!(mask_name("欧阳小明"), "欧**明");
        assert_eq!(mask_name("王𬌗䶮"), "王*䶮");
        assert_eq!(mask_name("李"), "*");
        assert_eq!(mask_name("买买提·艾力"), "买**·*力");
    }

    #[test]
    fn list_sizes_are_multiples_of_the_minimum() {
        assert_eq!(list_size(None), MIN_LIST_BITS);
        assert_eq!(list_size(Some(0)), MIN_LIST_BITS);
        assert_eq!(list_size(Some(MIN_LIST_BITS - 1)), MIN_LIST_BITS);
        assert_eq!(list_size(Some(MIN_LIST_BITS)), 2 * MIN_LIST_BITS);
    }

    proptest! {
        #[test]
        fn bits_round_trip(indices in proptest::collection::btree_set(0u32..MIN_LIST_BITS * 2, 0..200)) {
            let size = list_size(indices.iter().max().copied());
            let bits = decode_bits(size, &encode_bits(size, indices.iter().copied())).unwrap();
            for i in 0..size {
                prop_assert_eq!(bit(&bits, i).unwrap(), indices.contains(&i));
            }
        }

        #[test]
        fn any_claims_round_trip(
            number in "[\\PC]{0,40}",
            name in "[\\PC]{0,12}",
            unit in "[0-9A-Z]{0,20}",
            category in "[\\PC]{0,30}",
            index in any::<u32>(),
            from in proptest::option::of(0u16..20000),
        ) {
            let (secret, keys) = keys();
            let c = Claims {
                key_id: keys.iter().next().unwrap().0.to_string(),
                index,
                number,
                masked_name: mask_name(&name),
                unit_code: unit,
                category,
                valid_from: from.and_then(date),
                valid_until: from.and_then(|f| date(f + 1826)),
            };
            let read = decode(&encode(&c, sign(&secret))).unwrap();
            prop_assert!(read.verify(&keys));
            prop_assert_eq!(read.claims, c);
        }

        #[test]
        fn decoding_never_panics(text in "\\PC{0,300}") {
            let (_, keys) = keys();
            let _ = check_offline(&text, &keys, None, NaiveDate::from_ymd_opt(2026, 1, 1).unwrap());
        }
    }
}
