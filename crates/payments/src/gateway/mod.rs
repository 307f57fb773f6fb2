//! The fiscal payment gateway (财政支付网关) behind an adapter: [`Gateway`] is what the hall
//! needs of one, [`HttpGateway`] speaks [`protocol`] over HTTP to a real gateway or to the
//! sandbox (which is a separate HTTP server speaking the same protocol).

pub mod protocol;

use crate::PaymentError;
use chrono::{DateTime, Utc};
use futures::future::BoxFuture;
use futures::stream::BoxStream;
use protocol::{CreatePayment, Created, PaymentResult, RefundRequest, RefundResult, Signed, Signer, Verifier};
use std::time::Duration;

/// What the hall asks of a gateway.
pub trait Gateway: Send + Sync + std::fmt::Debug {
    /// Registers a payment and returns the page the payer goes to.
    fn create<'a>(&'a self, request: &'a CreatePayment) -> BoxFuture<'a, Result<Created, PaymentError>>;
    /// Where a payment stands (the answer is signed and verified).
    fn query<'a>(
        &'a self,
        merchant: &'a str,
        notice_number: &'a str,
    ) -> BoxFuture<'a, Result<PaymentResult, PaymentError>>;
    /// Returns money to the payer.
    fn refund<'a>(&'a self, request: &'a RefundRequest) -> BoxFuture<'a, Result<RefundResult, PaymentError>>;
    /// Reads a notification the gateway posted: its signature must verify.
    fn verify_notification(
        &self,
        signed: &Signed,
        body: &[u8],
        now: DateTime<Utc>,
    ) -> Result<PaymentResult, PaymentError>;
    /// The statement of `day` (China time) for `merchant`, streamed: its pieces, and a verifier
    /// that must accept the whole before anything read from it counts.
    fn statement<'a>(
        &'a self,
        merchant: &'a str,
        day: chrono::NaiveDate,
    ) -> BoxFuture<'a, Result<Statement, PaymentError>>;
}

/// A statement as it arrives.
pub struct Statement {
    /// The body, piece by piece.
    pub pieces: BoxStream<'static, Result<Vec<u8>, PaymentError>>,
    /// Checks the signature over the whole body.
    pub verifier: Verifier,
}

impl std::fmt::Debug for Statement {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Statement")
    }
}

/// A gateway over HTTP.
#[derive(Debug, Clone)]
pub struct HttpGateway {
    base: String,
    signer: Signer,
    client: reqwest::Client,
    /// For statements: no limit on the whole, 30 s between pieces.
    long_client: reqwest::Client,
}

impl HttpGateway {
    /// A gateway at `base` (`https://pay.example.gov.cn/gw`), messages signed with `signer`.
    pub fn new(base: &str, signer: Signer) -> Result<HttpGateway, PaymentError> {
        govhall_messaging::install_crypto();
        let client = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(5))
            .timeout(Duration::from_secs(15))
            .build()
            .map_err(|e| PaymentError::Internal(e.to_string()))?;
        let long_client = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(5))
            .read_timeout(Duration::from_secs(30))
            .build()
            .map_err(|e| PaymentError::Internal(e.to_string()))?;
        Ok(HttpGateway { base: base.trim_end_matches('/').to_owned(), signer, client, long_client })
    }

    /// The base address.
    pub fn base(&self) -> &str {
        &self.base
    }

    fn signed(&self, builder: reqwest::RequestBuilder, body: &[u8]) -> reqwest::RequestBuilder {
        let s = self.signer.sign(body, Utc::now());
        builder
            .header(protocol::TIMESTAMP, s.timestamp)
            .header(protocol::NONCE, s.nonce)
            .header(protocol::SIGNATURE, s.signature)
            .header("content-type", "application/json")
    }

    /// Sends a request and reads a verified answer.
    async fn call<T: serde::de::DeserializeOwned>(
        &self,
        builder: reqwest::RequestBuilder,
        body: Vec<u8>,
    ) -> Result<T, PaymentError> {
        let unreachable = |e: reqwest::Error| {
            PaymentError::Gateway(if e.is_timeout() { "超时".into() } else { "无法连接".into() })
        };
        let response = self.signed(builder, &body).body(body).send().await.map_err(unreachable)?;
        let status = response.status();
        let header =
            |name: &str| response.headers().get(name).and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
        let signed = Signed {
            timestamp: header(protocol::TIMESTAMP),
            nonce: header(protocol::NONCE),
            signature: header(protocol::SIGNATURE),
        };
        let bytes = response.bytes().await.map_err(unreachable)?;
        if !status.is_success() {
            return Err(PaymentError::Gateway(format!("HTTP {}", status.as_u16())));
        }
        if !self.signer.verify(&signed, &bytes, Utc::now()) {
            return Err(PaymentError::BadSignature);
        }
        serde_json::from_slice(&bytes).map_err(|e| PaymentError::BadMessage(format!("支付网关的应答无法读取：{e}")))
    }
}

impl Gateway for HttpGateway {
    fn create<'a>(&'a self, request: &'a CreatePayment) -> BoxFuture<'a, Result<Created, PaymentError>> {
        Box::pin(async move {
            let body = serde_json::to_vec(request).map_err(|e| PaymentError::Internal(e.to_string()))?;
            self.call(self.client.post(format!("{}/api/payments", self.base)), body).await
        })
    }

    fn query<'a>(
        &'a self,
        merchant: &'a str,
        notice_number: &'a str,
    ) -> BoxFuture<'a, Result<PaymentResult, PaymentError>> {
        Box::pin(async move {
            let url = format!("{}/api/payments/{notice_number}?merchant={merchant}", self.base);
            let result: PaymentResult = self.call(self.client.get(url), Vec::new()).await?;
            if result.notice_number != notice_number || result.merchant != merchant {
                return Err(PaymentError::BadMessage("支付网关应答的缴款码与查询的不一致".into()));
            }
            Ok(result)
        })
    }

    fn refund<'a>(&'a self, request: &'a RefundRequest) -> BoxFuture<'a, Result<RefundResult, PaymentError>> {
        Box::pin(async move {
            let body = serde_json::to_vec(request).map_err(|e| PaymentError::Internal(e.to_string()))?;
            self.call(self.client.post(format!("{}/api/refunds", self.base)), body).await
        })
    }

    fn statement<'a>(
        &'a self,
        merchant: &'a str,
        day: chrono::NaiveDate,
    ) -> BoxFuture<'a, Result<Statement, PaymentError>> {
        Box::pin(async move {
            let url = format!("{}/api/statements/{}?merchant={merchant}", self.base, day.format("%Y-%m-%d"));
            let unreachable = |e: reqwest::Error| {
                PaymentError::Gateway(if e.is_timeout() { "超时".into() } else { "无法连接".into() })
            };
            // A statement may be long: no limit on the whole, 30 s between pieces.
            let s = self.signer.sign(b"", Utc::now());
            let response = self
                .long_client
                .get(url)
                .header(protocol::TIMESTAMP, s.timestamp)
                .header(protocol::NONCE, s.nonce)
                .header(protocol::SIGNATURE, s.signature)
                .send()
                .await
                .map_err(unreachable)?;
            if !response.status().is_success() {
                return Err(PaymentError::Gateway(format!("对账单 HTTP {}", response.status().as_u16())));
            }
            let header =
                |name: &str| response.headers().get(name).and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
            let signed = Signed {
                timestamp: header(protocol::TIMESTAMP),
                nonce: header(protocol::NONCE),
                signature: header(protocol::SIGNATURE),
            };
            let verifier = self.signer.verifier(&signed, Utc::now());
            let pieces = futures::stream::unfold(Some(response), |state| async move {
                let mut response = state?;
                match response.chunk().await {
                    Ok(Some(bytes)) => Some((Ok(bytes.to_vec()), Some(response))),
                    Ok(None) => None,
                    Err(e) => Some((Err(PaymentError::Gateway(format!("对账单读取中断：{e}"))), None)),
                }
            });
            Ok(Statement { pieces: Box::pin(pieces), verifier })
        })
    }

    fn verify_notification(
        &self,
        signed: &Signed,
        body: &[u8],
        now: DateTime<Utc>,
    ) -> Result<PaymentResult, PaymentError> {
        if !self.signer.verify(signed, body, now) {
            return Err(PaymentError::BadSignature);
        }
        serde_json::from_slice(body).map_err(|e| PaymentError::BadMessage(format!("通知内容无法读取：{e}")))
    }
}
