//! Prometheus metrics: requests by route and status, latency, jobs by state.

use crate::AppError;
use crate::state::AppState;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use govhall_db::jobs;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;
use std::time::Instant;

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    method: String,
    route: String,
    status: u16,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    route: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StateLabels {
    state: String,
}

/// The node's metrics registry.
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    latency: Family<RouteLabels, Histogram>,
    jobs: Family<StateLabels, Gauge>,
    change_feed: Gauge,
}

impl Default for Metrics {
    fn default() -> Self {
        let mut registry = Registry::with_prefix("govhall");
        let requests = Family::<RequestLabels, Counter>::default();
        let latency = Family::<RouteLabels, Histogram>::new_with_constructor(|| {
            Histogram::new([0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0])
        });
        let jobs = Family::<StateLabels, Gauge>::default();
        let change_feed = Gauge::default();
        registry.register("http_requests", "HTTP requests by route, method and status", requests.clone());
        registry.register("http_request_duration_seconds", "HTTP request latency by route", latency.clone());
        registry.register("jobs", "Background jobs by state", jobs.clone());
        registry.register("change_feed_position", "Last change-feed seq this node has read", change_feed.clone());
        Self { registry, requests, latency, jobs, change_feed }
    }
}

/// Middleware: counts and times every request by its route pattern (never its raw path, which
/// could hold ids or personal data and would explode the number of series).
pub(crate) async fn track(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let route = request.extensions().get::<MatchedPath>().map_or("unmatched", MatchedPath::as_str).to_owned();
    // A fixed set: any token is a valid method to hyper, and each would be a new series.
    let method = match *request.method() {
        Method::GET | Method::POST | Method::PUT | Method::PATCH | Method::DELETE | Method::HEAD | Method::OPTIONS => {
            request.method().as_str().to_owned()
        }
        _ => "OTHER".to_owned(),
    };
    tracing::Span::current().record("route", route.as_str());
    let started = Instant::now();
    let response = next.run(request).await;
    let status = response.status().as_u16();
    state.metrics.latency.get_or_create(&RouteLabels { route: route.clone() }).observe(started.elapsed().as_secs_f64());
    state.metrics.requests.get_or_create(&RequestLabels { method, route, status }).inc();
    response
}

/// `GET /metrics`: the Prometheus text format.
/// The metrics, for a scraper holding the token, or (without a configured token) for clients on
/// this machine alone: a stranger learns nothing of the hall's traffic.
pub(crate) async fn serve(
    State(state): State<AppState>,
    ctx: crate::auth::RequestContext,
    headers: HeaderMap,
) -> Result<Response, AppError> {
    let token = &state.web.metrics_token;
    if token.is_empty() {
        let local = ctx.client_ip.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback());
        if !local {
            return Err(AppError::new(
                axum::http::StatusCode::FORBIDDEN,
                "metrics_local_only",
                "监控指标只对本机开放；如需远程采集，请配置 [web] metrics_token",
            ));
        }
    } else {
        let given = headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()).unwrap_or_default();
        let expected = format!("Bearer {}", token.expose());
        if !constant_time_eq(given.as_bytes(), expected.as_bytes()) {
            return Err(AppError::new(axum::http::StatusCode::UNAUTHORIZED, "unauthorized", "需要有效的监控令牌"));
        }
    }
    let counts = jobs::count_by_state(&state.db).await?;
    for (job_state, n) in counts.0 {
        state.metrics.jobs.get_or_create(&StateLabels { state: job_state.as_str().to_owned() }).set(n);
    }
    state.metrics.change_feed.set(state.changes.position());
    let mut text = String::new();
    encode(&mut text, &state.metrics.registry).map_err(AppError::internal)?;
    let mut response = text.into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/openmetrics-text; version=1.0.0; charset=utf-8"),
    );
    Ok(response)
}

/// Compares without stopping at the first difference, so timing does not reveal the token.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}
