//! The sandbox fiscal payment gateway (模拟财政支付网关): a stand-in for a province's gateway
//! that speaks the same HTTP protocol (`govhall_payments::gateway::protocol`), so that a fresh
//! hall can take payments end to end and tests exercise the real adapter over real HTTP. It
//! keeps its payments in memory, shows a bank-choice page where a tester pays, fails or
//! abandons, and posts signed notifications — once, twice, late, out of order or never, as
//! asked. It runs on its own (`govhall sandbox-gateway`) or under `/sandbox-gateway` of a hall
//! that has no gateway configured. It is not part of the hall: its routes are outside the
//! hall's route table.

mod pay;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use chrono::{DateTime, Utc};
use govhall_payments::gateway::protocol::{
    self, CreatePayment, Created, PaymentResult, RefundRequest, RefundResult, Signer, WireReceipt, WireStatus,
};
use serde::Deserialize;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// The banks the sandbox offers, as a province's gateway would.
pub(crate) const BANKS: [&str; 6] =
    ["中国工商银行", "中国农业银行", "中国银行", "中国建设银行", "交通银行", "中国邮政储蓄银行"];

/// One payment the sandbox knows.
#[derive(Debug, Clone)]
pub(crate) struct SandboxPayment {
    pub request: CreatePayment,
    pub trade_no: String,
    pub status: WireStatus,
    pub bank: Option<String>,
    pub paid_at: Option<DateTime<Utc>>,
    pub receipt: Option<WireReceipt>,
    pub refunded_fen: i64,
}

impl SandboxPayment {
    fn result(&self) -> PaymentResult {
        PaymentResult {
            merchant: self.request.merchant.clone(),
            notice_number: self.request.notice_number.clone(),
            trade_no: self.trade_no.clone(),
            status: self.status,
            amount_fen: self.request.amount_fen,
            currency: self.request.currency.clone(),
            paid_at: self.paid_at,
            bank: self.bank.clone(),
            receipt: self.receipt.clone(),
        }
    }
}

#[derive(Debug, Default)]
struct Books {
    /// By notice number.
    payments: HashMap<String, SandboxPayment>,
    /// Trade number → notice number.
    trades: HashMap<String, String>,
    /// Refund number → result (a retried refund gets its first answer).
    refunds: HashMap<String, RefundResult>,
    next_trade: u64,
    next_receipt: u64,
}

/// The sandbox gateway: its key, its books and the address browsers reach it at.
#[derive(Debug, Clone)]
pub struct SandboxGateway(Arc<Inner>);

#[derive(Debug)]
struct Inner {
    signer: Signer,
    base_url: String,
    hall: Option<String>,
    books: Mutex<Books>,
    client: reqwest::Client,
}

impl SandboxGateway {
    /// A sandbox signing with `signer` (HMAC-SM3 with the shared key, or SM2: its own key and the
    /// hall's public key), reached at `base_url`; with `hall`, it takes payments only from that
    /// hall (their notify and return addresses must be under it).
    pub fn with_signer(signer: Signer, base_url: &str, hall: Option<&str>) -> SandboxGateway {
        govhall_messaging::install_crypto();
        let client = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(5))
            .timeout(Duration::from_secs(15))
            .build()
            .unwrap_or_default();
        SandboxGateway(Arc::new(Inner {
            signer,
            base_url: base_url.trim_end_matches('/').to_owned(),
            hall: hall.map(|h| format!("{}/", h.trim_end_matches('/'))),
            books: Mutex::new(Books::default()),
            client,
        }))
    }

    /// Its routes (to serve alone, or nested under `/sandbox-gateway`).
    pub fn router(&self) -> Router {
        Router::new()
            .route("/", get(pay::home))
            .route("/api/payments", post(create))
            .route("/api/payments/{notice}", get(query))
            .route("/api/refunds", post(refund))
            .route("/api/statements/{day}", get(statement))
            .route("/pay/{trade}", get(pay::page).post(pay::submit))
            .with_state(self.clone())
    }

    fn books(&self) -> std::sync::MutexGuard<'_, Books> {
        self.0.books.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// A payment by its trade number.
    pub(crate) fn by_trade(&self, trade: &str) -> Option<SandboxPayment> {
        let books = self.books();
        books.trades.get(trade).and_then(|n| books.payments.get(n)).cloned()
    }

    /// Marks a payment paid or failed at `bank`; returns it as it now is.
    pub(crate) fn settle(&self, trade: &str, bank: &str, success: bool) -> Option<SandboxPayment> {
        let mut books = self.books();
        let notice = books.trades.get(trade)?.clone();
        books.next_receipt += 1;
        let number = books.next_receipt;
        let p = books.payments.get_mut(&notice)?;
        if p.status == WireStatus::Success {
            return Some(p.clone());
        }
        p.bank = Some(bank.to_owned());
        if success {
            let now = Utc::now();
            p.status = WireStatus::Success;
            p.paid_at = Some(now);
            let code = format!("{}{}", &p.request.notice_number[..6], now.format("%y"));
            let number = format!("{number:010}");
            let check = govhall_payments::notice::check_digit(&format!("{code}{number}")).to_string();
            let digest = hex::encode(&sm3_digest(format!("{code}{number}{}", p.trade_no).as_bytes())[..3]);
            p.receipt = Some(WireReceipt { code, number, check: format!("{check}{digest}") });
        } else {
            p.status = WireStatus::Failed;
        }
        Some(p.clone())
    }

    fn sign_response(&self, status: StatusCode, body: Vec<u8>) -> Response {
        crate::sandbox_signed::signed_response(&self.0.signer, status, body)
    }

    fn verified(&self, headers: &HeaderMap, body: &[u8]) -> bool {
        crate::sandbox_signed::verified(&self.0.signer, headers, body)
    }

    /// Posts the payment's result to its notify address as `mode` says.
    pub(crate) fn notify(&self, payment: SandboxPayment, mode: NotifyMode) {
        let sandbox = self.clone();
        tokio::spawn(async move {
            let result = payment.result();
            match mode {
                NotifyMode::Never => {}
                NotifyMode::Once => sandbox.post_with_retries(&payment.request.notify_url, &result).await,
                NotifyMode::Twice => {
                    let (a, b) = (sandbox.clone(), sandbox.clone());
                    let (url_a, url_b) = (payment.request.notify_url.clone(), payment.request.notify_url.clone());
                    let (ra, rb) = (result.clone(), result.clone());
                    let _ = tokio::join!(async move { a.post_with_retries(&url_a, &ra).await }, async move {
                        b.post_with_retries(&url_b, &rb).await
                    });
                }
                NotifyMode::Late => {
                    tokio::time::sleep(Duration::from_secs(5)).await;
                    sandbox.post_with_retries(&payment.request.notify_url, &result).await;
                }
                NotifyMode::OutOfOrder => {
                    // The final result first, then a stale "pending" from earlier.
                    sandbox.post_with_retries(&payment.request.notify_url, &result).await;
                    let stale = PaymentResult { status: WireStatus::Pending, receipt: None, paid_at: None, ..result };
                    sandbox.post_with_retries(&payment.request.notify_url, &stale).await;
                }
            }
        });
    }

    async fn post_with_retries(&self, url: &str, result: &PaymentResult) {
        let body = serde_json::to_vec(result).unwrap_or_default();
        crate::sandbox_signed::post_signed(&self.0.client, &self.0.signer, url, &body, "sandbox gateway").await;
    }
}

fn sm3_digest(data: &[u8]) -> Vec<u8> {
    use sm3::Digest as _;
    sm3::Sm3::digest(data).to_vec()
}

/// How the sandbox notifies the hall of a result.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub(crate) enum NotifyMode {
    /// At once (retried until the hall accepts it).
    #[default]
    Once,
    /// Twice at the same time.
    Twice,
    /// After five seconds.
    Late,
    /// The result, then a stale earlier state.
    OutOfOrder,
    /// Not at all (the hall must ask).
    Never,
}

fn refused(sandbox: &SandboxGateway, status: StatusCode, message: &str) -> Response {
    let body = serde_json::json!({ "code": "refused", "message": message }).to_string().into_bytes();
    sandbox.sign_response(status, body)
}

async fn create(State(sandbox): State<SandboxGateway>, headers: HeaderMap, body: Bytes) -> Response {
    if !sandbox.verified(&headers, &body) {
        return refused(&sandbox, StatusCode::UNAUTHORIZED, "签名验证失败");
    }
    let Ok(request) = serde_json::from_slice::<CreatePayment>(&body) else {
        return refused(&sandbox, StatusCode::BAD_REQUEST, "请求无法读取");
    };
    if request.currency != "CNY"
        || request.amount_fen <= 0
        || !govhall_payments::notice::is_valid(&request.notice_number)
    {
        return refused(&sandbox, StatusCode::BAD_REQUEST, "币种、金额或缴款码无效");
    }
    // Addresses it posts to and sends browsers to: the web only, and the hall's own when known.
    let fits = |url: &str| {
        (url.starts_with("http://") || url.starts_with("https://"))
            && url.len() <= 500
            && !url.chars().any(|c| c.is_control() || c.is_whitespace())
            && sandbox.0.hall.as_deref().is_none_or(|hall| url.starts_with(hall))
    };
    if !fits(&request.notify_url) || !fits(&request.return_url) {
        return refused(&sandbox, StatusCode::BAD_REQUEST, "通知地址或返回地址不属于接入的政务大厅");
    }
    let created = {
        let mut books = sandbox.books();
        let known = books.payments.get(&request.notice_number).cloned();
        match known {
            Some(p) if p.status == WireStatus::Success => {
                Created { pay_url: format!("{}/pay/{}", sandbox.0.base_url, p.trade_no), trade_no: p.trade_no }
            }
            _ => {
                books.next_trade += 1;
                let trade_no = format!("SBX{}{:08}", Utc::now().format("%Y%m%d"), books.next_trade);
                if let Some(old) = books.payments.get(&request.notice_number).map(|p| p.trade_no.clone()) {
                    books.trades.remove(&old);
                }
                books.trades.insert(trade_no.clone(), request.notice_number.clone());
                let payment = SandboxPayment {
                    request: request.clone(),
                    trade_no: trade_no.clone(),
                    status: WireStatus::Pending,
                    bank: None,
                    paid_at: None,
                    receipt: None,
                    refunded_fen: 0,
                };
                books.payments.insert(request.notice_number.clone(), payment);
                Created { pay_url: format!("{}/pay/{trade_no}", sandbox.0.base_url), trade_no }
            }
        }
    };
    sandbox.sign_response(StatusCode::OK, serde_json::to_vec(&created).unwrap_or_default())
}

#[derive(Debug, Deserialize)]
struct QueryParams {
    #[serde(default)]
    merchant: String,
}

async fn query(
    State(sandbox): State<SandboxGateway>,
    Path(notice): Path<String>,
    Query(params): Query<QueryParams>,
    headers: HeaderMap,
) -> Response {
    if !sandbox.verified(&headers, b"") {
        return refused(&sandbox, StatusCode::UNAUTHORIZED, "签名验证失败");
    }
    let found = sandbox.books().payments.get(&notice).cloned();
    let result = match found {
        Some(p) if p.request.merchant == params.merchant => p.result(),
        _ => PaymentResult {
            merchant: params.merchant,
            notice_number: notice,
            trade_no: String::new(),
            status: WireStatus::NotFound,
            amount_fen: 0,
            currency: "CNY".into(),
            paid_at: None,
            bank: None,
            receipt: None,
        },
    };
    sandbox.sign_response(StatusCode::OK, serde_json::to_vec(&result).unwrap_or_default())
}

async fn refund(State(sandbox): State<SandboxGateway>, headers: HeaderMap, body: Bytes) -> Response {
    if !sandbox.verified(&headers, &body) {
        return refused(&sandbox, StatusCode::UNAUTHORIZED, "签名验证失败");
    }
    let Ok(request) = serde_json::from_slice::<RefundRequest>(&body) else {
        return refused(&sandbox, StatusCode::BAD_REQUEST, "请求无法读取");
    };
    let result = {
        let mut books = sandbox.books();
        if let Some(done) = books.refunds.get(&request.refund_no) {
            done.clone()
        } else {
            let answer = match books.payments.get_mut(&request.notice_number) {
                Some(p)
                    if p.status == WireStatus::Success
                        && request.amount_fen > 0
                        && p.refunded_fen + request.amount_fen <= p.request.amount_fen =>
                {
                    p.refunded_fen += request.amount_fen;
                    RefundResult {
                        refund_no: request.refund_no.clone(),
                        success: true,
                        gateway_ref: format!("RF{}", request.refund_no.chars().take(12).collect::<String>()),
                        message: String::new(),
                    }
                }
                _ => RefundResult {
                    refund_no: request.refund_no.clone(),
                    success: false,
                    gateway_ref: String::new(),
                    message: "没有可退的支付或退款金额超过已付金额".into(),
                },
            };
            books.refunds.insert(request.refund_no.clone(), answer.clone());
            answer
        }
    };
    sandbox.sign_response(StatusCode::OK, serde_json::to_vec(&result).unwrap_or_default())
}

/// The statement of a day (China time): every payment made that day, signed as a whole.
async fn statement(
    State(sandbox): State<SandboxGateway>,
    Path(day): Path<String>,
    Query(params): Query<QueryParams>,
    headers: HeaderMap,
) -> Response {
    if !sandbox.verified(&headers, b"") {
        return refused(&sandbox, StatusCode::UNAUTHORIZED, "签名验证失败");
    }
    let Ok(day) = chrono::NaiveDate::parse_from_str(&day, "%Y-%m-%d") else {
        return refused(&sandbox, StatusCode::BAD_REQUEST, "日期应为 YYYY-MM-DD");
    };
    let mut body = format!("{}\n", protocol::STATEMENT_HEADER);
    let mut paid: Vec<SandboxPayment> = sandbox
        .books()
        .payments
        .values()
        .filter(|p| p.request.merchant == params.merchant && p.status == WireStatus::Success)
        .filter(|p| p.paid_at.is_some_and(|t| govhall_core::clock::china_date(t) == day))
        .cloned()
        .collect();
    paid.sort_by_key(|p| p.paid_at);
    for p in paid {
        let r = p.receipt.clone().unwrap_or(WireReceipt {
            code: String::new(),
            number: String::new(),
            check: String::new(),
        });
        let at = p.paid_at.map(|t| t.to_rfc3339()).unwrap_or_default();
        body.push_str(&format!(
            "{},{},{},{},{at},success,{},{},{}\n",
            p.request.notice_number, p.trade_no, p.request.amount_fen, p.request.currency, r.code, r.number, r.check
        ));
    }
    let s = sandbox.0.signer.sign_statement(body.as_bytes(), Utc::now());
    let mut response = (StatusCode::OK, body).into_response();
    let headers = response.headers_mut();
    headers.insert("content-type", HeaderValue::from_static("text/csv; charset=utf-8"));
    for (name, value) in
        [(protocol::TIMESTAMP, s.timestamp), (protocol::NONCE, s.nonce), (protocol::SIGNATURE, s.signature)]
    {
        if let Ok(v) = HeaderValue::from_str(&value) {
            headers.insert(name, v);
        }
    }
    response
}
