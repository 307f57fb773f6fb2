//! The courier behind an adapter: [`Courier`] is what the hall needs of one, [`HttpCourier`]
//! speaks [`protocol`] over HTTP to a real courier or to the sandbox courier (a separate HTTP
//! server speaking the same protocol).

pub mod protocol;

use crate::LogisticsError;
use chrono::{DateTime, Utc};
use futures::future::BoxFuture;
use govhall_messaging::signed::{self, Signed, Signer};
use protocol::{CreateShipment, Created, Tracking};
use std::time::Duration;

/// What the hall asks of a courier.
pub trait Courier: Send + Sync + std::fmt::Debug {
    /// Books a shipment; a repeated `order_no` gets the first answer.
    fn create<'a>(&'a self, request: &'a CreateShipment) -> BoxFuture<'a, Result<Created, LogisticsError>>;
    /// Every event of a waybill (the answer is signed and verified).
    fn query<'a>(&'a self, customer: &'a str, waybill_no: &'a str) -> BoxFuture<'a, Result<Tracking, LogisticsError>>;
    /// Reads a tracking push: its signature must verify.
    fn verify_push(&self, signed: &Signed, body: &[u8], now: DateTime<Utc>) -> Result<Tracking, LogisticsError>;
}

/// A courier over HTTP.
#[derive(Debug, Clone)]
pub struct HttpCourier {
    base: String,
    signer: Signer,
    client: reqwest::Client,
}

impl HttpCourier {
    /// A courier at `base` (`https://open.courier.example.com/gov`), messages signed with
    /// `signer`.
    pub fn new(base: &str, signer: Signer) -> Result<HttpCourier, LogisticsError> {
        govhall_messaging::install_crypto();
        let client = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(5))
            .timeout(Duration::from_secs(15))
            .build()
            .map_err(|e| LogisticsError::Internal(e.to_string()))?;
        Ok(HttpCourier { base: base.trim_end_matches('/').to_owned(), signer, client })
    }

    /// The base address.
    pub fn base(&self) -> &str {
        &self.base
    }

    /// Sends a signed request and reads a verified answer.
    async fn call<T: serde::de::DeserializeOwned>(
        &self,
        builder: reqwest::RequestBuilder,
        body: Vec<u8>,
    ) -> Result<T, LogisticsError> {
        let unreachable = |e: reqwest::Error| {
            LogisticsError::Courier(if e.is_timeout() { "超时".into() } else { "无法连接".into() })
        };
        let s = self.signer.sign(&body, Utc::now());
        let response = builder
            .header(signed::TIMESTAMP, s.timestamp)
            .header(signed::NONCE, s.nonce)
            .header(signed::SIGNATURE, s.signature)
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .map_err(unreachable)?;
        let status = response.status();
        let header =
            |name: &str| response.headers().get(name).and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
        let signed = Signed {
            timestamp: header(signed::TIMESTAMP),
            nonce: header(signed::NONCE),
            signature: header(signed::SIGNATURE),
        };
        let bytes = response.bytes().await.map_err(unreachable)?;
        if status == reqwest::StatusCode::NOT_FOUND {
            return Err(LogisticsError::UnknownWaybill);
        }
        if !status.is_success() {
            return Err(LogisticsError::Courier(format!("HTTP {}", status.as_u16())));
        }
        if !self.signer.verify(&signed, &bytes, Utc::now()) {
            return Err(LogisticsError::BadSignature);
        }
        serde_json::from_slice(&bytes).map_err(|e| LogisticsError::BadMessage(format!("快递公司的应答无法读取：{e}")))
    }
}

impl Courier for HttpCourier {
    fn create<'a>(&'a self, request: &'a CreateShipment) -> BoxFuture<'a, Result<Created, LogisticsError>> {
        Box::pin(async move {
            let body = serde_json::to_vec(request).map_err(|e| LogisticsError::Internal(e.to_string()))?;
            let created: Created = self.call(self.client.post(format!("{}/api/shipments", self.base)), body).await?;
            let w = &created.waybill_no;
            if w.is_empty() || w.len() > 40 || !w.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') {
                return Err(LogisticsError::BadMessage("快递公司返回的运单号无效".into()));
            }
            Ok(created)
        })
    }

    fn query<'a>(&'a self, customer: &'a str, waybill_no: &'a str) -> BoxFuture<'a, Result<Tracking, LogisticsError>> {
        Box::pin(async move {
            let url = format!("{}/api/shipments/{waybill_no}?customer={customer}", self.base);
            let tracking: Tracking = self.call(self.client.get(url), Vec::new()).await?;
            if tracking.waybill_no != waybill_no || tracking.customer != customer {
                return Err(LogisticsError::BadMessage("快递公司应答的运单号与查询的不一致".into()));
            }
            Ok(tracking)
        })
    }

    fn verify_push(&self, signed: &Signed, body: &[u8], now: DateTime<Utc>) -> Result<Tracking, LogisticsError> {
        if !self.signer.verify(signed, body, now) {
            return Err(LogisticsError::BadSignature);
        }
        serde_json::from_slice(body).map_err(|e| LogisticsError::BadMessage(format!("物流推送内容无法读取：{e}")))
    }
}
