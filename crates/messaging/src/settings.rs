//! The message center's configuration (`[messaging]`).

use govhall_core::{Secret, serde_lenient};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Everything configurable about sending.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MessagingSettings {
    /// Tries per message before a passing failure becomes final.
    pub max_attempts: i32,
    /// No SMS from this hour (China time) …
    pub quiet_hours_start: u32,
    /// … until this hour, except verification codes. Equal hours turn quiet hours off.
    pub quiet_hours_end: u32,
    /// Verification codes live this many seconds.
    pub code_ttl_secs: i64,
    /// Wrong tries allowed per code.
    pub code_max_tries: i32,
    /// Seconds between two codes to the same recipient.
    pub code_min_interval_secs: i64,
    /// Text messages.
    pub sms: SmsSettings,
    /// Email.
    pub email: EmailSettings,
    /// Outside systems that receive signed webhooks, by name.
    pub webhooks: Vec<WebhookEndpoint>,
    /// WeChat template messages.
    pub wechat: WechatSettings,
}

impl Default for MessagingSettings {
    fn default() -> Self {
        Self {
            max_attempts: 5,
            quiet_hours_start: 22,
            quiet_hours_end: 8,
            code_ttl_secs: 300,
            code_max_tries: 5,
            code_min_interval_secs: 60,
            sms: SmsSettings::default(),
            email: EmailSettings::default(),
            webhooks: Vec::new(),
            wechat: WechatSettings::default(),
        }
    }
}

/// Limits every channel has.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ChannelLimits {
    /// Messages per second on this node (token bucket); 0 for no limit.
    pub rate_per_second: f64,
    /// Messages that may go at once before the rate applies.
    pub burst: u32,
    /// Messages per day (China time) across all nodes; 0 for no cap.
    pub daily_cap: i64,
}

impl Default for ChannelLimits {
    fn default() -> Self {
        Self { rate_per_second: 0.0, burst: 10, daily_cap: 0 }
    }
}

/// Text messages through an HTTP provider.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SmsSettings {
    /// `sandbox` (kept, not sent) or `http`.
    pub provider: String,
    /// The provider's send URL.
    #[serde(deserialize_with = "serde_lenient::string")]
    pub url: String,
    /// Extra request headers (authorization), values secret.
    pub headers: BTreeMap<String, Secret>,
    /// The request body, a minijinja template with `phone`, `text` and `message_id`; values are
    /// JSON-escaped when `content_type` is JSON.
    pub body_template: String,
    /// The body's content type.
    pub content_type: String,
    /// A JSON pointer into the response that must equal `success_value` for success (empty: any
    /// 2xx is success).
    pub success_pointer: String,
    /// The value at `success_pointer` that means success.
    #[serde(deserialize_with = "serde_lenient::string")]
    pub success_value: String,
    /// A JSON pointer to the provider's message id in the response.
    pub message_id_pointer: String,
    /// A JSON pointer to the provider's error code in the response.
    pub error_code_pointer: String,
    /// Error codes meaning the number cannot be reached: permanent failure, not retried.
    pub permanent_error_codes: Vec<String>,
    /// Sandbox only: write the whole number and text of each SMS to the log (a development or
    /// trial hall, where the log is the only way to read a registration code). Off by default:
    /// the log shows the number masked and digits in the text hidden.
    pub sandbox_log_text: bool,
    /// Delivery receipts posted back by the provider.
    pub receipts: SmsReceiptSettings,
    /// Rate and cap.
    pub limits: ChannelLimits,
}

impl Default for SmsSettings {
    fn default() -> Self {
        Self {
            provider: "sandbox".to_owned(),
            url: String::new(),
            headers: BTreeMap::new(),
            body_template: r#"{"phone": {{ phone }}, "text": {{ text }}, "ref": {{ message_id }}}"#.to_owned(),
            content_type: "application/json".to_owned(),
            success_pointer: "/code".to_owned(),
            success_value: "0".to_owned(),
            message_id_pointer: "/message_id".to_owned(),
            error_code_pointer: "/code".to_owned(),
            permanent_error_codes: Vec::new(),
            sandbox_log_text: false,
            receipts: SmsReceiptSettings::default(),
            limits: ChannelLimits { rate_per_second: 50.0, burst: 50, daily_cap: 0 },
        }
    }
}

/// How the provider's delivery receipts are checked and read.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SmsReceiptSettings {
    /// The shared secret of the HMAC-SHA256 signature of the raw body. Receipts are refused while
    /// it is empty.
    pub secret: Secret,
    /// The header carrying the signature (hex, optionally prefixed `sha256=`).
    pub signature_header: String,
    /// JSON pointer to the provider's message id in one receipt.
    pub id_pointer: String,
    /// JSON pointer to the status in one receipt.
    pub status_pointer: String,
    /// Statuses meaning delivered.
    pub delivered_values: Vec<String>,
    /// Statuses meaning the number cannot be reached.
    pub permanent_failure_values: Vec<String>,
}

impl Default for SmsReceiptSettings {
    fn default() -> Self {
        Self {
            secret: Secret::default(),
            signature_header: "X-Signature".to_owned(),
            id_pointer: "/message_id".to_owned(),
            status_pointer: "/status".to_owned(),
            delivered_values: vec!["DELIVRD".to_owned(), "delivered".to_owned()],
            permanent_failure_values: vec!["UNDELIV".to_owned(), "failed".to_owned()],
        }
    }
}

/// Email over SMTP.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct EmailSettings {
    /// `sandbox` or `smtp`.
    pub provider: String,
    /// SMTP host.
    pub host: String,
    /// SMTP port.
    pub port: u16,
    /// Upgrade the connection with STARTTLS (required: a server that does not offer it is an error).
    pub starttls: bool,
    /// A PEM file of extra root certificates to trust for STARTTLS (an internal CA), besides the
    /// system's.
    pub ca_file: String,
    /// SMTP user, if the server wants one.
    pub username: String,
    /// SMTP password.
    pub password: Secret,
    /// The sender, e.g. `网上政务服务大厅 <noreply@example.gov.cn>`.
    pub from: String,
    /// Rate and cap.
    pub limits: ChannelLimits,
}

impl Default for EmailSettings {
    fn default() -> Self {
        Self {
            provider: "sandbox".to_owned(),
            host: "localhost".to_owned(),
            port: 25,
            starttls: true,
            ca_file: String::new(),
            username: String::new(),
            password: Secret::default(),
            from: "网上政务服务大厅 <noreply@govhall.invalid>".to_owned(),
            limits: ChannelLimits::default(),
        }
    }
}

/// An outside system that receives signed webhooks.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookEndpoint {
    /// The name messages are addressed to.
    pub name: String,
    /// Where to POST.
    pub url: String,
    /// The HMAC-SHA256 key of the signature header.
    pub secret: Secret,
}

/// WeChat official account template messages.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct WechatSettings {
    /// `sandbox` or `api`.
    pub provider: String,
    /// The API's base URL.
    pub api_base: String,
    /// The official account's AppID.
    pub app_id: String,
    /// The official account's AppSecret.
    pub app_secret: Secret,
    /// Rate and cap.
    pub limits: ChannelLimits,
}

impl Default for WechatSettings {
    fn default() -> Self {
        Self {
            provider: "sandbox".to_owned(),
            api_base: "https://api.weixin.qq.com".to_owned(),
            app_id: String::new(),
            app_secret: Secret::default(),
            limits: ChannelLimits::default(),
        }
    }
}
