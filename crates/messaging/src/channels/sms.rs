//! SMS through an HTTP provider described by configuration: where to POST, which headers, the
//! body template, and how success, the message id and error codes are read from the answer.
//! Delivery receipts come back signed (see [`verify_receipt_signature`]).

use super::http::transport_error;
use super::{Adapter, ChannelError, Outgoing, Sent};
use crate::{MessagingError, SmsSettings};
use futures::future::BoxFuture;
use hmac::{Hmac, KeyInit, Mac};
use minijinja::Environment;
use serde_json::Value;
use sha2::Sha256;

#[derive(Debug)]
pub(super) struct HttpSms {
    settings: SmsSettings,
    client: reqwest::Client,
}

impl HttpSms {
    pub(super) fn new(settings: SmsSettings, client: reqwest::Client) -> Result<Self, MessagingError> {
        if !(settings.url.starts_with("https://") || settings.url.starts_with("http://")) {
            return Err(MessagingError::Config("sms.url 应为 http:// 或 https:// 地址".to_owned()));
        }
        Environment::new()
            .template_from_named_str(body_name(&settings), &settings.body_template)
            .map_err(|e| MessagingError::Config(format!("sms.body_template：{e}")))?;
        Ok(Self { settings, client })
    }

    async fn post(&self, message: &Outgoing) -> Result<Sent, ChannelError> {
        let env = Environment::new();
        let body = env
            .template_from_named_str(body_name(&self.settings), &self.settings.body_template)
            .and_then(|t| {
                t.render(minijinja::context! {
                    phone => message.recipient, text => message.body, message_id => message.id.to_string()
                })
            })
            .map_err(|e| ChannelError::Technical(format!("短信请求模板：{e}")))?;
        let mut request =
            self.client.post(&self.settings.url).header("content-type", &self.settings.content_type).body(body);
        for (name, value) in &self.settings.headers {
            request = request.header(name, value.expose());
        }
        let response = request.send().await.map_err(transport_error)?;
        let status = response.status();
        let text = response.text().await.map_err(transport_error)?;
        let json: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
        let code = pointer_text(&json, &self.settings.error_code_pointer);
        let ok_flag = self.settings.success_pointer.is_empty()
            || pointer_text(&json, &self.settings.success_pointer).as_deref()
                == Some(self.settings.success_value.as_str());
        if status.is_success() && ok_flag {
            // Without an id of the provider's, receipts are matched by ours (sent as `message_id`).
            let id = pointer_text(&json, &self.settings.message_id_pointer).unwrap_or_else(|| message.id.to_string());
            return Ok(Sent { provider_message_id: Some(id), delivered: false });
        }
        let detail = format!("短信服务商返回 HTTP {}，错误码 {}", status.as_u16(), code.clone().unwrap_or_default());
        if code.is_some_and(|c| self.settings.permanent_error_codes.contains(&c)) {
            return Err(ChannelError::Permanent(detail));
        }
        if status.as_u16() == 401 || status.as_u16() == 403 {
            return Err(ChannelError::Technical(format!("{detail}（请检查短信服务商的认证配置）")));
        }
        Err(ChannelError::Temporary(detail))
    }
}

fn body_name(settings: &SmsSettings) -> &'static str {
    if settings.content_type.contains("json") { "sms.json" } else { "sms.txt" }
}

/// The text at a JSON pointer: strings as they are, numbers and booleans as written.
pub fn pointer_text(json: &Value, pointer: &str) -> Option<String> {
    if pointer.is_empty() {
        return None;
    }
    match json.pointer(pointer)? {
        Value::String(s) => Some(s.clone()),
        Value::Null => None,
        other => Some(other.to_string()),
    }
}

impl Adapter for HttpSms {
    fn provider(&self) -> &'static str {
        "http"
    }

    fn send<'a>(&'a self, message: &'a Outgoing) -> BoxFuture<'a, Result<Sent, ChannelError>> {
        Box::pin(self.post(message))
    }
}

/// Checks a receipt's signature: HMAC-SHA256 of the raw body with the shared secret, hex,
/// optionally prefixed `sha256=`. Compared in constant time. An empty secret accepts nothing.
pub fn verify_receipt_signature(secret: &str, body: &[u8], signature: &str) -> bool {
    if secret.is_empty() {
        return false;
    }
    let hex_sig = signature.trim().trim_start_matches("sha256=");
    let Ok(expected) = hex::decode(hex_sig) else { return false };
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(secret.as_bytes()) else { return false };
    mac.update(body);
    mac.verify_slice(&expected).is_ok()
}
