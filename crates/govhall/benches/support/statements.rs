//! Counts the statements a piece of work sends to the database: sqlx's statement events
//! (`sqlx::query`; COMMIT included, BEGIN is not logged) in tasks scoped with [`COUNT_HERE`],
//! not the worker's, which delivers messages meanwhile. Interested in nothing else, so it costs
//! nothing elsewhere. PostgreSQL only: SQLite's statements are logged on its connection's own
//! thread, outside the counting task. `SHOW_STATEMENTS=1` prints them.

use std::sync::atomic::{AtomicU64, Ordering};

tokio::task_local! {
    /// Set in the task whose statements count.
    pub static COUNT_HERE: bool;
}

static STATEMENTS: AtomicU64 = AtomicU64::new(0);

struct CountStatements;

impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for CountStatements {
    fn register_callsite(&self, meta: &'static tracing::Metadata<'static>) -> tracing::subscriber::Interest {
        if meta.target() == "sqlx::query" {
            tracing::subscriber::Interest::sometimes()
        } else {
            tracing::subscriber::Interest::never()
        }
    }

    fn enabled(&self, meta: &tracing::Metadata<'_>, _: tracing_subscriber::layer::Context<'_, S>) -> bool {
        meta.target() == "sqlx::query" && COUNT_HERE.try_with(|here| *here).unwrap_or(false)
    }

    fn on_event(&self, event: &tracing::Event<'_>, _: tracing_subscriber::layer::Context<'_, S>) {
        STATEMENTS.fetch_add(1, Ordering::Relaxed);
        if std::env::var_os("SHOW_STATEMENTS").is_some() {
            struct Summary(String);
            impl tracing::field::Visit for Summary {
                fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
                    if field.name() == "db.statement" || field.name() == "summary" {
                        self.0.push_str(&format!("{value:?} ").replace("\\n", " "));
                    }
                }
            }
            let mut summary = Summary(String::new());
            event.record(&mut summary);
            println!("  statement: {}", summary.0.chars().take(160).collect::<String>());
        }
    }
}

/// Installs the counter as the process's subscriber.
pub fn install() {
    use tracing_subscriber::layer::SubscriberExt;
    tracing::subscriber::set_global_default(tracing_subscriber::registry().with(CountStatements))
        .expect("the first subscriber");
}

/// The statements `work` sent.
pub async fn count<T>(work: impl Future<Output = T>) -> (T, u64) {
    let before = STATEMENTS.load(Ordering::Relaxed);
    let out = COUNT_HERE.scope(true, work).await;
    (out, STATEMENTS.load(Ordering::Relaxed) - before)
}
