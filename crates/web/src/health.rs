//! Probes for load balancers and orchestrators.

use crate::error::KeepBody;
use crate::state::AppState;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;

/// The process answers.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct Health {
    /// Always `ok`.
    status: &'static str,
}

/// Liveness: the process is up. Never touches the database.
#[utoipa::path(get, path = "/healthz", tag = "运维", summary = "存活探针", description = "进程在运行即返回 200，不访问数据库。", responses((status = 200, description = "进程在运行", body = Health)))]
pub(crate) async fn healthz() -> Json<Health> {
    Json(Health { status: "ok" })
}

/// Whether this node can serve traffic.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct Readiness {
    /// `ready` or `not_ready`.
    status: &'static str,
    /// `sqlite` or `postgres`.
    backend: &'static str,
    /// Whether the database answered.
    database: bool,
    /// Whether every migration this binary knows is applied.
    migrations_current: bool,
    /// Migrations this binary knows that the database lacks.
    pending_migrations: Vec<i64>,
    /// The last change-feed entry this node has read.
    change_feed_position: i64,
}

/// Readiness: the database answers and its migrations are current. 503 otherwise.
#[utoipa::path(get, path = "/readyz", tag = "运维", summary = "就绪探针",
    description = "数据库可连接且迁移已完成时返回 200，否则返回 503；负载均衡据此摘除节点。", responses(
    (status = 200, description = "可以接收请求", body = Readiness),
    (status = 503, description = "数据库不可用或迁移未完成", body = Readiness),
))]
pub(crate) async fn readyz(State(state): State<AppState>) -> Response {
    let status = state.db.migration_status().await;
    let (database, migrations_current, pending) = match status {
        Ok(s) => (true, s.is_current(), s.pending),
        Err(e) => {
            tracing::warn!(error = %e, "readiness check: database unavailable");
            (false, false, Vec::new())
        }
    };
    let ready = database && migrations_current;
    let body = Readiness {
        status: if ready { "ready" } else { "not_ready" },
        backend: state.db.backend().name(),
        database,
        migrations_current,
        pending_migrations: pending,
        change_feed_position: state.changes.position(),
    };
    let code = if ready { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE };
    let mut response = (code, Json(body)).into_response();
    // A 503 here is an answer, not an error: keep the body instead of the error page.
    response.extensions_mut().insert(KeepBody);
    response
}
