//! Email over SMTP (lettre), with STARTTLS where configured.

use super::{Adapter, ChannelError, Outgoing, Sent};
use crate::{EmailSettings, MessagingError};
use futures::future::BoxFuture;
use lettre::message::{Mailbox, header::ContentType};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

#[derive(Debug)]
pub(super) struct SmtpEmail {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
}

impl SmtpEmail {
    pub(super) fn new(settings: &EmailSettings) -> Result<Self, MessagingError> {
        let from: Mailbox = settings
            .from
            .parse()
            .map_err(|e| MessagingError::Config(format!("email.from“{}”无效：{e}", settings.from)))?;
        let builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&settings.host);
        let builder = if settings.starttls {
            let mut tls = TlsParameters::builder(settings.host.clone());
            if !settings.ca_file.is_empty() {
                let pem = std::fs::read(&settings.ca_file)
                    .map_err(|e| MessagingError::Config(format!("无法读取 email.ca_file {}：{e}", settings.ca_file)))?;
                let cert = Certificate::from_pem(&pem)
                    .map_err(|e| MessagingError::Config(format!("email.ca_file 不是有效的 PEM 证书：{e}")))?;
                tls = tls.add_root_certificate(cert);
            }
            let tls = tls.build_rustls().map_err(|e| MessagingError::Config(format!("email TLS：{e}")))?;
            builder.tls(Tls::Required(tls))
        } else {
            builder
        };
        let mut builder = builder.port(settings.port).timeout(Some(std::time::Duration::from_secs(15)));
        if !settings.username.is_empty() {
            builder =
                builder.credentials(Credentials::new(settings.username.clone(), settings.password.expose().to_owned()));
        }
        Ok(Self { transport: builder.build(), from })
    }

    async fn deliver(&self, message: &Outgoing) -> Result<Sent, ChannelError> {
        let to: Mailbox =
            message.recipient.parse().map_err(|e| ChannelError::Permanent(format!("收件地址无效：{e}")))?;
        let email = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(&message.subject)
            .message_id(Some(format!("<{}@govhall>", message.id)))
            .header(ContentType::TEXT_PLAIN)
            .body(message.body.clone())
            .map_err(|e| ChannelError::Technical(format!("邮件无法生成：{e}")))?;
        match self.transport.send(email).await {
            Ok(response) => {
                Ok(Sent { provider_message_id: response.message().next().map(str::to_owned), delivered: true })
            }
            // 530/534/535: the server refused our credentials, not the address.
            Err(e) if e.status().is_some_and(|c| ["530", "534", "535"].contains(&c.to_string().as_str())) => Err(
                ChannelError::Technical(format!("邮件服务器拒绝认证，请检查 email.username 和 email.password：{e}")),
            ),
            Err(e) if e.is_permanent() => Err(ChannelError::Permanent(format!("邮件服务器拒收：{e}"))),
            Err(e) => Err(ChannelError::Temporary(format!("邮件发送失败：{e}"))),
        }
    }
}

impl Adapter for SmtpEmail {
    fn provider(&self) -> &'static str {
        "smtp"
    }

    fn send<'a>(&'a self, message: &'a Outgoing) -> BoxFuture<'a, Result<Sent, ChannelError>> {
        Box::pin(self.deliver(message))
    }
}
