//! Errors of identity and access, each with a stable code and a Chinese message.

use govhall_core::{Coded, ValueError};
use govhall_db::DbError;
use govhall_messaging::MessagingError;
use thiserror::Error;

/// What can go wrong registering, signing in, granting or auditing.
#[derive(Debug, Error)]
pub enum IdentityError {
    /// A field's value is not valid (ID number, mobile number, credit code …).
    #[error("{}", .0.message())]
    Invalid(ValueError),
    /// A form field that must be filled or has a wrong shape.
    #[error("{message}")]
    Field {
        /// Stable code.
        code: &'static str,
        /// The Chinese message.
        message: String,
    },
    /// The mobile number or ID number already belongs to an account.
    #[error("该{0}已注册，请直接登录或找回密码")]
    AlreadyRegistered(&'static str),
    /// The login name or the password is wrong (never saying which).
    #[error("账号或密码不正确")]
    BadCredentials,
    /// Too many failures: the account is locked for a while.
    #[error("密码错误次数过多，该账号在您所在的网络已临时锁定，请 {0} 分钟后再试，或通过短信找回密码")]
    Locked(i64),
    /// Too many failures from one client address.
    #[error("登录尝试过于频繁，请稍后再试")]
    Throttled,
    /// Too many password checks at once on this node.
    #[error("系统繁忙，请稍后再试")]
    Busy,
    /// Verification codes are being asked for too often from here: solve a challenge first.
    #[error("获取验证码过于频繁，请先完成安全验证后再试")]
    ChallengeRequired,
    /// The daily number of verification codes for this address is used up.
    #[error("今天从您所在网络获取验证码的次数已达上限，请明天再试")]
    CodeDailyLimit,
    /// The account has been disabled by an administrator.
    #[error("账号已停用，请联系管理员")]
    Disabled,
    /// Not signed in, or the session has ended.
    #[error("请先登录")]
    Unauthenticated,
    /// Signed in, but without the permission or outside the data scope.
    #[error("没有权限进行此操作")]
    Forbidden,
    /// A record that does not exist (or that the caller may not know exists).
    #[error("{0}不存在")]
    NotFound(&'static str),
    /// A rule of separation or of structure was broken.
    #[error("{0}")]
    Conflict(String),
    /// The verification code step failed.
    #[error("{}", .0.message())]
    Messaging(MessagingError),
    /// The stored personal data cannot be decrypted with the configured key.
    #[error("个人信息无法解密：请检查 identity.master_key 是否与写入时一致")]
    Undecryptable,
    /// A bad configuration.
    #[error("身份认证配置有误：{0}")]
    Config(String),
    /// An import file that cannot be read.
    #[error("导入文件有误：{0}")]
    Import(String),
    /// Something that should not happen.
    #[error("内部错误：{0}")]
    Internal(String),
    /// The database failed.
    #[error(transparent)]
    Db(#[from] DbError),
}

impl From<ValueError> for IdentityError {
    fn from(e: ValueError) -> Self {
        IdentityError::Invalid(e)
    }
}

impl From<MessagingError> for IdentityError {
    fn from(e: MessagingError) -> Self {
        match e {
            MessagingError::Db(db) => IdentityError::Db(db),
            other => IdentityError::Messaging(other),
        }
    }
}

impl From<govhall_db::sqlx::Error> for IdentityError {
    fn from(e: govhall_db::sqlx::Error) -> Self {
        IdentityError::Db(DbError::from(e))
    }
}

impl IdentityError {
    /// A field error with its code and message.
    pub fn field(code: &'static str, message: impl Into<String>) -> Self {
        IdentityError::Field { code, message: message.into() }
    }
}

impl Coded for IdentityError {
    fn code(&self) -> &'static str {
        match self {
            IdentityError::Invalid(e) => e.code(),
            IdentityError::Field { code, .. } => code,
            IdentityError::AlreadyRegistered(_) => "already_registered",
            IdentityError::BadCredentials => "bad_credentials",
            IdentityError::Locked(_) => "account_locked",
            IdentityError::Throttled => "login_throttled",
            IdentityError::Disabled => "account_disabled",
            IdentityError::Busy => "busy",
            IdentityError::ChallengeRequired => "challenge_required",
            IdentityError::CodeDailyLimit => "code_daily_limit",
            IdentityError::Unauthenticated => "unauthenticated",
            IdentityError::Forbidden => "forbidden",
            IdentityError::NotFound(_) => "not_found",
            IdentityError::Conflict(_) => "conflict",
            IdentityError::Messaging(e) => e.code(),
            IdentityError::Undecryptable => "undecryptable",
            IdentityError::Config(_) => "identity_config",
            IdentityError::Import(_) => "invalid_import",
            IdentityError::Internal(_) => "internal",
            IdentityError::Db(e) => e.code(),
        }
    }

    fn message(&self) -> String {
        match self {
            IdentityError::Db(e) => e.message(),
            other => other.to_string(),
        }
    }
}
