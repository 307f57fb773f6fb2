//! Messages signed for an outside service (the fiscal payment gateway, a courier): each request,
//! answer and notification is signed over `timestamp \n nonce \n body`, the signature sent in
//! headers, with HMAC-SM3 (a shared key; the sandboxes' scheme) or SM2 (GB/T 32918: one's own
//! private key, the peer's public key). A long body (a statement) is signed over its SM3 digest
//! so that both sides can stream it. docs/payments.md describes the scheme for vendors.

use chrono::{DateTime, Utc};
use hmac::{Hmac, KeyInit, Mac};
use sm3::Sm3;

/// The header carrying the signing time (seconds since 1970, UTC).
pub const TIMESTAMP: &str = "x-govhall-timestamp";
/// The header carrying a random string, new for each message.
pub const NONCE: &str = "x-govhall-nonce";
/// The header carrying the signature: `<scheme> <hex>`.
pub const SIGNATURE: &str = "x-govhall-signature";
/// How far a signing time may be from now, in seconds.
pub const MAX_SKEW_SECONDS: i64 = 300;

/// The distinguishing identifier SM2 signatures use unless the peer says otherwise (GM/T 0009).
pub const SM2_DEFAULT_ID: &str = "1234567812345678";

/// A signing key.
#[derive(Clone)]
pub enum Signer {
    /// HMAC-SM3 with a secret shared with the peer (the sandboxes' scheme).
    HmacSm3(Vec<u8>),
    /// SM2 (GB/T 32918): the hall signs with its private key and verifies with the peer's
    /// public key.
    Sm2 {
        /// The hall's key.
        own: Box<sm2::dsa::SigningKey>,
        /// The peer's public key.
        peer: Box<sm2::dsa::VerifyingKey>,
    },
}

impl std::fmt::Debug for Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Signer::HmacSm3(_) => f.write_str("Signer::HmacSm3(…)"),
            Signer::Sm2 { .. } => f.write_str("Signer::Sm2(…)"),
        }
    }
}

/// The signature headers of a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signed {
    /// Seconds since 1970.
    pub timestamp: String,
    /// Random.
    pub nonce: String,
    /// `<scheme> <hex>`.
    pub signature: String,
}

fn signed_text(timestamp: &str, nonce: &str, body: &[u8]) -> Vec<u8> {
    let mut text = Vec::with_capacity(body.len() + 64);
    text.extend_from_slice(timestamp.as_bytes());
    text.push(b'\n');
    text.extend_from_slice(nonce.as_bytes());
    text.push(b'\n');
    text.extend_from_slice(body);
    text
}

fn hmac(secret: &[u8], text: &[u8]) -> Hmac<Sm3> {
    let mut mac = <Hmac<Sm3> as KeyInit>::new_from_slice(secret).unwrap_or_else(|_| unreachable!("HMAC takes any key"));
    mac.update(text);
    mac
}

/// A new SM2 key pair as PEM: the private key (PKCS#8) and the public key (SPKI).
pub fn new_sm2_key_pem() -> Result<(String, String), String> {
    use sm2::elliptic_curve::Generate;
    use sm2::pkcs8::{EncodePrivateKey, EncodePublicKey, LineEnding};
    let secret = sm2::SecretKey::try_generate().map_err(|e| format!("无法生成随机数：{e}"))?;
    let private = secret.to_pkcs8_pem(LineEnding::LF).map_err(|e| e.to_string())?.to_string();
    let public = secret.public_key().to_public_key_pem(LineEnding::LF).map_err(|e| e.to_string())?;
    Ok((private, public))
}

impl Signer {
    /// An SM2 signer from the hall's private key and the peer's public key, both PEM; the
    /// error says which is wrong.
    pub fn sm2_from_pem(own_private: &str, peer_public: &str, distid: &str) -> Result<Signer, String> {
        use sm2::pkcs8::{DecodePrivateKey, DecodePublicKey};
        let secret = sm2::SecretKey::from_pkcs8_pem(own_private)
            .map_err(|_| "大厅的 SM2 私钥不是有效的 PKCS#8 PEM".to_owned())?;
        let public = sm2::PublicKey::from_public_key_pem(peer_public)
            .map_err(|_| "对方系统（支付网关、快递公司）的 SM2 公钥不是有效的 PEM".to_owned())?;
        let own = sm2::dsa::SigningKey::new(distid, &secret).map_err(|_| "SM2 签名标识无效".to_owned())?;
        let peer = sm2::dsa::VerifyingKey::new(distid, public).map_err(|_| "对方系统的 SM2 公钥无效".to_owned())?;
        Ok(Signer::Sm2 { own: Box::new(own), peer: Box::new(peer) })
    }

    /// The scheme's name in the signature header.
    pub fn scheme(&self) -> &'static str {
        match self {
            Signer::HmacSm3(_) => "hmac-sm3",
            Signer::Sm2 { .. } => "sm2",
        }
    }

    fn sign_text(&self, text: &[u8]) -> Vec<u8> {
        match self {
            Signer::HmacSm3(secret) => hmac(secret, text).finalize().into_bytes().to_vec(),
            Signer::Sm2 { own, .. } => {
                use sm2::dsa::signature::Signer as _;
                let signature: sm2::dsa::Signature = own.sign(text);
                signature.to_bytes().to_vec()
            }
        }
    }

    fn verify_text(&self, text: &[u8], tag: &[u8]) -> bool {
        match self {
            Signer::HmacSm3(secret) => hmac(secret, text).verify_slice(tag).is_ok(),
            Signer::Sm2 { peer, .. } => {
                use sm2::dsa::signature::Verifier as _;
                sm2::dsa::Signature::from_slice(tag).is_ok_and(|s| peer.verify(text, &s).is_ok())
            }
        }
    }

    /// Signs `body` now.
    pub fn sign(&self, body: &[u8], now: DateTime<Utc>) -> Signed {
        let timestamp = now.timestamp().to_string();
        let nonce = hex::encode(rand::random::<[u8; 12]>());
        let tag = self.sign_text(&signed_text(&timestamp, &nonce, body));
        Signed { signature: format!("{} {}", self.scheme(), hex::encode(tag)), timestamp, nonce }
    }

    /// Whether `signed` signs `body` with this key (for SM2: the peer's), at a time within
    /// [`MAX_SKEW_SECONDS`] of `now`.
    pub fn verify(&self, signed: &Signed, body: &[u8], now: DateTime<Utc>) -> bool {
        let Ok(at) = signed.timestamp.parse::<i64>() else { return false };
        if now.timestamp().abs_diff(at) > MAX_SKEW_SECONDS.unsigned_abs()
            || signed.nonce.is_empty()
            || signed.nonce.len() > 64
        {
            return false;
        }
        let Some((scheme, hex_tag)) = signed.signature.split_once(' ') else { return false };
        let Ok(tag) = hex::decode(hex_tag.trim()) else { return false };
        scheme == self.scheme() && self.verify_text(&signed_text(&signed.timestamp, &signed.nonce, body), &tag)
    }

    /// Signs a statement: the signature covers the SM3 digest of the body (hex), so that both
    /// sides can stream it.
    pub fn sign_statement(&self, body: &[u8], now: DateTime<Utc>) -> Signed {
        use sm3::Digest as _;
        self.sign(hex::encode(Sm3::digest(body)).as_bytes(), now)
    }

    /// A verifier fed a statement piece by piece; `received` is when its headers arrived (the
    /// signing time is checked against it, however long the body takes).
    pub fn verifier(&self, signed: &Signed, received: DateTime<Utc>) -> Verifier {
        use sm3::Digest as _;
        Verifier { digest: Sm3::new(), signed: signed.clone(), signer: self.clone(), received }
    }
}

/// A statement's signature being checked as its body streams in.
pub struct Verifier {
    digest: Sm3,
    signed: Signed,
    signer: Signer,
    received: DateTime<Utc>,
}

impl std::fmt::Debug for Verifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Verifier")
    }
}

impl Verifier {
    /// Adds a piece of the body.
    pub fn update(&mut self, piece: &[u8]) {
        use sm3::Digest as _;
        self.digest.update(piece);
    }

    /// Whether the whole body was signed, at a time within [`MAX_SKEW_SECONDS`] of when its
    /// headers arrived.
    pub fn verify(self) -> bool {
        use sm3::Digest as _;
        let digest = hex::encode(self.digest.finalize());
        self.signer.verify(&self.signed, digest.as_bytes(), self.received)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_signature_covers_time_nonce_and_body_and_expires() {
        let key = Signer::HmacSm3(b"secret".to_vec());
        let now = Utc::now();
        let s = key.sign(b"{\"a\":1}", now);
        assert!(s.signature.starts_with("hmac-sm3 "));
        assert!(key.verify(&s, b"{\"a\":1}", now));
        assert!(!key.verify(&s, b"{\"a\":2}", now), "body");
        assert!(!Signer::HmacSm3(b"other".to_vec()).verify(&s, b"{\"a\":1}", now), "key");
        assert!(!key.verify(&Signed { nonce: "x".into(), ..s.clone() }, b"{\"a\":1}", now), "nonce");
        assert!(!key.verify(&s, b"{\"a\":1}", now + chrono::Duration::seconds(MAX_SKEW_SECONDS + 1)), "old");
        assert!(!key.verify(
            &Signed { signature: s.signature.replace("hmac-sm3", "sm2"), ..s.clone() },
            b"{\"a\":1}",
            now
        ));
        assert!(!key.verify(&Signed { signature: "hmac-sm3 zz".into(), ..s.clone() }, b"{\"a\":1}", now));
        // A statement, streamed in pieces.
        let st = key.sign_statement(b"line 1\nline 2\n", now);
        let mut v = key.verifier(&st, now);
        v.update(b"line 1\nli");
        v.update(b"ne 2\n");
        assert!(v.verify());
        let mut v = key.verifier(&st, now);
        v.update(b"line 1\nline 3\n");
        assert!(!v.verify());
    }

    #[test]
    fn sm2_signatures_verify_with_the_peers_public_key_only() {
        let (hall_private, hall_public) = new_sm2_key_pem().unwrap();
        let (gateway_private, gateway_public) = new_sm2_key_pem().unwrap();
        assert!(hall_private.contains("BEGIN PRIVATE KEY") && hall_public.contains("BEGIN PUBLIC KEY"));
        let hall = Signer::sm2_from_pem(&hall_private, &gateway_public, SM2_DEFAULT_ID).unwrap();
        let gateway = Signer::sm2_from_pem(&gateway_private, &hall_public, SM2_DEFAULT_ID).unwrap();
        let now = Utc::now();
        let s = gateway.sign(b"{\"paid\":true}", now);
        assert!(s.signature.starts_with("sm2 "));
        assert!(hall.verify(&s, b"{\"paid\":true}", now), "the hall checks the gateway's signature");
        assert!(!hall.verify(&s, b"{\"paid\":false}", now));
        assert!(!gateway.verify(&s, b"{\"paid\":true}", now), "a signature is not checked with its own key");
        let forged = Signer::HmacSm3(b"k".to_vec()).sign(b"{\"paid\":true}", now);
        assert!(!hall.verify(&forged, b"{\"paid\":true}", now), "another scheme");
        let back = hall.sign(b"query", now);
        assert!(gateway.verify(&back, b"query", now));
        let st = gateway.sign_statement(b"a,b\n", now);
        let mut v = hall.verifier(&st, now);
        v.update(b"a,b\n");
        assert!(v.verify());
        assert!(Signer::sm2_from_pem("not a key", &gateway_public, SM2_DEFAULT_ID).unwrap_err().contains("私钥"));
        assert!(Signer::sm2_from_pem(&hall_private, &hall_private, SM2_DEFAULT_ID).unwrap_err().contains("公钥"));
    }
}
