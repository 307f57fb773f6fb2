//! WeChat official account template messages, in the shape of the official API:
//! `GET /cgi-bin/token` for an access token (cached until it expires), then
//! `POST /cgi-bin/message/template/send?access_token=…`.
//!
//! The template body renders to `{"template_id": "…", "url": "…", "data": {"key": "value"}}`.

use super::http::transport_error;
use super::{Adapter, ChannelError, Outgoing, Sent};
use crate::{MessagingError, WechatSettings};
use futures::future::BoxFuture;
use serde_json::{Value, json};
use std::time::{Duration, Instant};
use tokio::sync::Mutex;

#[derive(Debug)]
pub(super) struct WechatApi {
    settings: WechatSettings,
    client: reqwest::Client,
    token: Mutex<Option<(String, Instant)>>,
}

impl WechatApi {
    pub(super) fn new(settings: WechatSettings, client: reqwest::Client) -> Result<Self, MessagingError> {
        if settings.app_id.is_empty() || settings.app_secret.is_empty() {
            return Err(MessagingError::Config("wechat.app_id 和 wechat.app_secret 不能为空".to_owned()));
        }
        Ok(Self { settings, client, token: Mutex::new(None) })
    }

    async fn access_token(&self) -> Result<String, ChannelError> {
        let mut cached = self.token.lock().await;
        if let Some((token, until)) = cached.as_ref()
            && Instant::now() < *until
        {
            return Ok(token.clone());
        }
        let url = format!("{}/cgi-bin/token", self.settings.api_base.trim_end_matches('/'));
        let answer = answer(self.client.get(url).query(&[
            ("grant_type", "client_credential"),
            ("appid", self.settings.app_id.as_str()),
            ("secret", self.settings.app_secret.expose()),
        ]))
        .await?;
        let Some(token) = answer["access_token"].as_str() else {
            let code = answer["errcode"].as_i64().unwrap_or(-1);
            // 40013 bad AppID, 40125 bad secret, 40164 IP not whitelisted: configuration.
            return Err(if matches!(code, 40013 | 40125 | 40164 | 40001) {
                ChannelError::Technical(format!("获取微信 access_token 失败，错误码 {code}（请检查公众号配置）"))
            } else {
                ChannelError::Temporary(format!("获取微信 access_token 失败，错误码 {code}"))
            });
        };
        // Refresh five minutes early.
        let lifetime = answer["expires_in"].as_u64().unwrap_or(7200).saturating_sub(300);
        *cached = Some((token.to_owned(), Instant::now() + Duration::from_secs(lifetime)));
        Ok(token.to_owned())
    }

    async fn post(&self, message: &Outgoing) -> Result<Sent, ChannelError> {
        let spec: Value = serde_json::from_str(&message.body)
            .map_err(|e| ChannelError::Technical(format!("微信模板内容不是 JSON：{e}")))?;
        let mut data = serde_json::Map::new();
        for (key, value) in spec["data"].as_object().into_iter().flatten() {
            let text = value.as_str().map_or_else(|| value.to_string(), str::to_owned);
            data.insert(key.clone(), json!({ "value": text }));
        }
        let mut request = json!({
            "touser": message.recipient,
            "template_id": spec["template_id"],
            "data": data,
            "client_msg_id": message.id.simple().to_string(),
        });
        if let Some(url) = spec["url"].as_str() {
            request["url"] = json!(url);
        }
        let token = self.access_token().await?;
        let url = format!("{}/cgi-bin/message/template/send", self.settings.api_base.trim_end_matches('/'));
        let answer = answer(self.client.post(url).query(&[("access_token", token.as_str())]).json(&request)).await?;
        let code = answer["errcode"].as_i64().unwrap_or(-1);
        match code {
            0 => Ok(Sent { provider_message_id: answer["msgid"].as_i64().map(|id| id.to_string()), delivered: true }),
            // The token expired early: drop it and try again later.
            40001 | 40014 | 42001 => {
                *self.token.lock().await = None;
                Err(ChannelError::Temporary(format!("微信 access_token 失效，错误码 {code}")))
            }
            // Unknown or unsubscribed user, refused messages.
            40003 | 43004 | 43101 => Err(ChannelError::Permanent(format!("微信用户无法接收，错误码 {code}"))),
            40037 => Err(ChannelError::Technical("微信模板 ID 无效（错误码 40037）".to_owned())),
            _ => Err(ChannelError::Temporary(format!("微信接口错误码 {code}"))),
        }
    }
}

/// Sends a request to the WeChat API and reads its JSON answer. Errors never carry the URL: its
/// query string holds the AppSecret or the access token.
async fn answer(request: reqwest::RequestBuilder) -> Result<Value, ChannelError> {
    request
        .send()
        .await
        .map_err(transport_error)?
        .json()
        .await
        .map_err(|e| ChannelError::Temporary(format!("微信接口应答无法解析：{}", e.without_url())))
}

impl Adapter for WechatApi {
    fn provider(&self) -> &'static str {
        "wechat"
    }

    fn send<'a>(&'a self, message: &'a Outgoing) -> BoxFuture<'a, Result<Sent, ChannelError>> {
        Box::pin(self.post(message))
    }
}
