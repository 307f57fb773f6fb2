//! Signed webhooks for outside systems (big screens, department systems): a JSON body, a
//! timestamp and an HMAC-SHA256 signature of `timestamp.body`, retried on failure.

use super::http::transport_error;
use super::{Adapter, ChannelError, Outgoing, Sent};
use crate::WebhookEndpoint;
use futures::future::BoxFuture;
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

/// Header with the Unix time of sending, in seconds.
pub const TIMESTAMP_HEADER: &str = "X-GovHall-Timestamp";
/// Header with `sha256=` and the hex HMAC-SHA256 of `{timestamp}.{body}` under the endpoint's secret.
pub const SIGNATURE_HEADER: &str = "X-GovHall-Signature";

/// The signature header's value for `body` sent at `timestamp`.
pub fn sign(secret: &str, timestamp: i64, body: &str) -> String {
    // Any key length is valid for HMAC.
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap_or_else(|_| unreachable!());
    mac.update(format!("{timestamp}.{body}").as_bytes());
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

#[derive(Debug)]
pub(super) struct Webhooks {
    endpoints: Vec<WebhookEndpoint>,
    client: reqwest::Client,
}

impl Webhooks {
    pub(super) fn new(endpoints: Vec<WebhookEndpoint>, client: reqwest::Client) -> Self {
        Self { endpoints, client }
    }

    async fn post(&self, message: &Outgoing) -> Result<Sent, ChannelError> {
        let endpoint = self
            .endpoints
            .iter()
            .find(|e| e.name == message.recipient)
            .ok_or_else(|| ChannelError::Technical(format!("未配置名为“{}”的推送地址", message.recipient)))?;
        let timestamp = chrono::Utc::now().timestamp();
        let response = self
            .client
            .post(&endpoint.url)
            .header("content-type", "application/json")
            .header("X-GovHall-Event", &message.template_code)
            .header("X-GovHall-Message-Id", message.id.to_string())
            .header(TIMESTAMP_HEADER, timestamp.to_string())
            .header(SIGNATURE_HEADER, sign(endpoint.secret.expose(), timestamp, &message.body))
            .body(message.body.clone())
            .send()
            .await
            .map_err(transport_error)?;
        let status = response.status();
        if status.is_success() {
            return Ok(Sent { provider_message_id: None, delivered: true });
        }
        let detail = format!("接收方返回 HTTP {}", status.as_u16());
        match status.as_u16() {
            408 | 429 => Err(ChannelError::Temporary(detail)),
            400..=499 => Err(ChannelError::Permanent(detail)),
            _ => Err(ChannelError::Temporary(detail)),
        }
    }
}

impl Adapter for Webhooks {
    fn provider(&self) -> &'static str {
        "webhook"
    }

    fn send<'a>(&'a self, message: &'a Outgoing) -> BoxFuture<'a, Result<Sent, ChannelError>> {
        Box::pin(self.post(message))
    }
}
