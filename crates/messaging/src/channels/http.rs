//! The HTTP client shared by the adapters.

use crate::MessagingError;
use std::time::Duration;

/// A client with timeouts (a provider that hangs is a temporary failure, not a stuck worker) that
/// follows no redirect (it would turn a POST into a bodyless GET whose 2xx looks like delivery).
pub(super) fn client() -> Result<reqwest::Client, MessagingError> {
    reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(5))
        .timeout(Duration::from_secs(15))
        .user_agent(concat!("GovHall/", env!("CARGO_PKG_VERSION")))
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .map_err(|e| MessagingError::Config(format!("HTTP 客户端：{e}")))
}

/// Classifies a transport error: it never reached a decision, so it is temporary. The URL is
/// left out of the text: it may carry a secret or a token in its query string.
pub(super) fn transport_error(e: reqwest::Error) -> super::ChannelError {
    let e = e.without_url();
    super::ChannelError::Temporary(if e.is_timeout() {
        "请求超时".to_owned()
    } else {
        format!("连接失败：{e}")
    })
}
