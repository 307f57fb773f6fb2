//! The fiscal payment gateway protocol (version 1) as GovHall speaks it: JSON bodies, each
//! request, answer and notification signed over `timestamp \n nonce \n body` and the signature
//! sent in headers. The sandbox gateway speaks the same. docs/payments.md describes it for a
//! province's gateway vendor.

use chrono::{DateTime, Utc};
use hmac::{Hmac, KeyInit, Mac};
use serde::{Deserialize, Serialize};
use sm3::Sm3;

/// The header carrying the signing time (seconds since 1970, UTC).
pub const TIMESTAMP: &str = "x-govhall-timestamp";
/// The header carrying a random string, new for each message.
pub const NONCE: &str = "x-govhall-nonce";
/// The header carrying the signature: `<scheme> <hex>`.
pub const SIGNATURE: &str = "x-govhall-signature";
/// How far a signing time may be from now, in seconds.
pub const MAX_SKEW_SECONDS: i64 = 300;

/// A fee of a payment request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WireLine {
    /// 支付项目代码.
    pub code: String,
    /// Name.
    pub name: String,
    /// Amount in fen.
    pub amount_fen: i64,
}

/// Hall → gateway: `POST /api/payments`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreatePayment {
    /// The collecting unit (执收单位编码).
    pub merchant: String,
    /// The payment notice number (缴款码).
    pub notice_number: String,
    /// Total in fen.
    pub amount_fen: i64,
    /// Always `CNY`.
    pub currency: String,
    /// The fees.
    pub items: Vec<WireLine>,
    /// The payer's name as shown (masked).
    pub payer: String,
    /// What is paid for (the item's name).
    pub subject: String,
    /// Where the gateway posts the result.
    pub notify_url: String,
    /// Where the gateway sends the browser back.
    pub return_url: String,
    /// Until when it can be paid.
    pub expires_at: DateTime<Utc>,
}

/// Gateway → hall: the answer to [`CreatePayment`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Created {
    /// The gateway's payment number.
    pub trade_no: String,
    /// The page the payer goes to (the bank choice).
    pub pay_url: String,
}

/// Where a payment stands at the gateway.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WireStatus {
    /// Paid.
    Success,
    /// The bank refused or the payer gave up.
    Failed,
    /// Under way at the bank.
    Pending,
    /// The gateway knows no payment for this notice number.
    NotFound,
}

/// The electronic receipt number (票据代码 + 票据号码 + 校验码).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WireReceipt {
    /// 票据代码.
    pub code: String,
    /// 票据号码.
    pub number: String,
    /// 校验码.
    pub check: String,
}

/// Gateway → hall: a payment's result, as notification (`POST` to `notify_url`) and as the
/// answer to a query (`GET /api/payments/{notice_number}?merchant=…`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PaymentResult {
    /// The collecting unit.
    pub merchant: String,
    /// The payment notice number.
    pub notice_number: String,
    /// The gateway's payment number.
    #[serde(default)]
    pub trade_no: String,
    /// Where it stands.
    pub status: WireStatus,
    /// What was paid, in fen.
    #[serde(default)]
    pub amount_fen: i64,
    /// The currency.
    #[serde(default)]
    pub currency: String,
    /// When it was paid.
    #[serde(default)]
    pub paid_at: Option<DateTime<Utc>>,
    /// The bank.
    #[serde(default)]
    pub bank: Option<String>,
    /// The electronic receipt number (with a success).
    #[serde(default)]
    pub receipt: Option<WireReceipt>,
}

/// Hall → gateway: `POST /api/refunds`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefundRequest {
    /// The collecting unit.
    pub merchant: String,
    /// The order's notice number.
    pub notice_number: String,
    /// The hall's refund number (the same for a retried request).
    pub refund_no: String,
    /// How much, in fen.
    pub amount_fen: i64,
    /// Why.
    pub reason: String,
}

/// Gateway → hall: the answer to [`RefundRequest`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefundResult {
    /// The hall's refund number.
    pub refund_no: String,
    /// Whether the money went back.
    pub success: bool,
    /// The gateway's reference.
    #[serde(default)]
    pub gateway_ref: String,
    /// Why not, when it did not.
    #[serde(default)]
    pub message: String,
}

/// What the hall answers a notification: `ok`, or the stable code of why it was refused (the
/// gateway retries a refused one later).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NotificationAnswer {
    /// `ok` or the code.
    pub code: String,
    /// In Chinese.
    pub message: String,
}

/// The statement file's header line (`GET /api/statements/{YYYY-MM-DD}?merchant=…`, CSV in
/// UTF-8, one line per payment or refund of that day, China time; its signature covers the hex
/// SM3 digest of the whole body: [`Signer::sign_statement`]).
pub const STATEMENT_HEADER: &str =
    "notice_number,trade_no,amount_fen,currency,paid_at,status,receipt_code,receipt_number,receipt_check";

/// The distinguishing identifier SM2 signatures use unless a gateway says otherwise (GM/T 0009).
pub const SM2_DEFAULT_ID: &str = "1234567812345678";

/// A signing key.
#[derive(Clone)]
pub enum Signer {
    /// HMAC-SM3 with a secret shared with the gateway (the sandbox's scheme).
    HmacSm3(Vec<u8>),
    /// SM2 (GB/T 32918): the hall signs with its private key and verifies with the gateway's
    /// public key.
    Sm2 {
        /// The hall's key.
        own: Box<sm2::dsa::SigningKey>,
        /// The gateway's public key.
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
    /// An SM2 signer from the hall's private key and the gateway's public key, both PEM; the
    /// error says which is wrong.
    pub fn sm2_from_pem(own_private: &str, peer_public: &str, distid: &str) -> Result<Signer, String> {
        use sm2::pkcs8::{DecodePrivateKey, DecodePublicKey};
        let secret = sm2::SecretKey::from_pkcs8_pem(own_private)
            .map_err(|_| "大厅的 SM2 私钥不是有效的 PKCS#8 PEM".to_owned())?;
        let public = sm2::PublicKey::from_public_key_pem(peer_public)
            .map_err(|_| "支付网关的 SM2 公钥不是有效的 PEM".to_owned())?;
        let own = sm2::dsa::SigningKey::new(distid, &secret).map_err(|_| "SM2 签名标识无效".to_owned())?;
        let peer = sm2::dsa::VerifyingKey::new(distid, public).map_err(|_| "支付网关的 SM2 公钥无效".to_owned())?;
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
