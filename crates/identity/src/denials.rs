//! Refusals: a signed-in person asked for something their access does not allow. Each is
//! audited (in a transaction of its own: a refusal changes nothing else).

use crate::IdentityError;
use govhall_audit::{self as audit, Actor, Event, Outcome};
use govhall_db::Db;

/// Records that `actor` was refused `route` (`METHOD /path`) for want of `needed` (the
/// permission's name, or several joined by `|`).
pub async fn record_denied(db: &Db, actor: &Actor, route: String, needed: String) -> Result<(), IdentityError> {
    let event = Event::success("access.denied", "route", route).outcome(Outcome::Denied).detail(needed);
    audit::record_alone(db, actor, event).await?;
    Ok(())
}
