//! Errors of the message center, each with a stable code and a Chinese message.

use govhall_core::{Coded, ValueError};
use govhall_db::DbError;
use thiserror::Error;

/// What can go wrong sending, templating or checking codes.
#[derive(Debug, Error)]
pub enum MessagingError {
    /// No template with this code for this channel.
    #[error("找不到消息模板 {code}（{channel}）")]
    TemplateNotFound {
        /// Template code.
        code: String,
        /// Channel name.
        channel: String,
    },
    /// The template does not compile, or does not render with the given values.
    #[error("消息模板有误：{0}")]
    Template(String),
    /// A placeholder the template uses was not given.
    #[error("消息模板缺少参数：{0}")]
    MissingPlaceholder(String),
    /// The recipient is not valid for the channel.
    #[error("{0}")]
    InvalidRecipient(ValueError),
    /// A webhook endpoint name that is not configured.
    #[error("未配置名为“{0}”的推送地址")]
    UnknownEndpoint(String),
    /// A message that cannot be cancelled or retried in its state.
    #[error("消息当前状态为“{0}”，不能进行此操作")]
    WrongState(&'static str),
    /// Verification messages are not sent again: the person asks for a new code.
    #[error("验证码消息不能重新发送，请让用户重新获取验证码")]
    VerificationNotRetried,
    /// No such message.
    #[error("消息不存在")]
    NotFound,
    /// A verification code was asked for too soon after the last one.
    #[error("验证码发送过于频繁，请 {0} 秒后再试")]
    CodeTooSoon(i64),
    /// The code is wrong.
    #[error("验证码不正确")]
    CodeWrong,
    /// The code has expired or was never issued.
    #[error("验证码已过期，请重新获取")]
    CodeExpired,
    /// Too many wrong tries.
    #[error("验证码错误次数过多，请重新获取")]
    CodeLocked,
    /// The configuration of a channel cannot work.
    #[error("消息渠道配置有误：{0}")]
    Config(String),
    /// The database failed.
    #[error(transparent)]
    Db(#[from] DbError),
}

impl From<sqlx_error::Error> for MessagingError {
    fn from(e: sqlx_error::Error) -> Self {
        MessagingError::Db(DbError::from(e))
    }
}

mod sqlx_error {
    pub(crate) use govhall_db::sqlx::Error;
}

impl Coded for MessagingError {
    fn code(&self) -> &'static str {
        match self {
            MessagingError::TemplateNotFound { .. } => "template_not_found",
            MessagingError::Template(_) => "invalid_template",
            MessagingError::MissingPlaceholder(_) => "missing_placeholder",
            MessagingError::InvalidRecipient(e) => e.code(),
            MessagingError::UnknownEndpoint(_) => "unknown_webhook_endpoint",
            MessagingError::WrongState(_) => "message_wrong_state",
            MessagingError::NotFound => "message_not_found",
            MessagingError::VerificationNotRetried => "verification_not_retried",
            MessagingError::CodeTooSoon(_) => "code_sent_too_often",
            MessagingError::CodeWrong => "code_wrong",
            MessagingError::CodeExpired => "code_expired",
            MessagingError::CodeLocked => "code_locked",
            MessagingError::Config(_) => "messaging_misconfigured",
            MessagingError::Db(_) => "database_error",
        }
    }

    fn message(&self) -> String {
        self.to_string()
    }
}
