//! Reading licences: the stored row, opened (holder and fields decrypted) into a [`Licence`],
//! and the canonical form rebuilt from it — from the stored values, so a change made behind
//! the registry's back shows as a signature that no longer verifies.

use crate::model::{HolderKind, Licence, LicenceState};
use crate::signing::{Canonical, FORMAT};
use crate::{LicenceError, LicenceId, Licences};
use chrono::{DateTime, NaiveDate, Utc};
use govhall_db::{Target, run, sqlx};
use uuid::Uuid;

pub(crate) const COLUMNS: &str = "l.id, l.identifier, l.type_code, l.type_name, l.number, l.holder_kind, \
    l.holder_name_enc, l.holder_number_enc, l.holder_name_masked, l.holder_number_masked, l.issuer_name, \
    l.issuer_code, l.department_id, l.region_code, l.valid_from, l.valid_until, l.fields_enc, l.signature, l.key_id, l.state, l.revoked_at, \
    l.revoked_reason, l.replaced_by, l.case_id, l.account_id, l.enterprise_id, l.issued_at \
    FROM licences l";

#[derive(Debug, sqlx::FromRow)]
pub(crate) struct Row {
    id: Uuid,
    identifier: String,
    type_code: String,
    type_name: String,
    number: String,
    holder_kind: String,
    holder_name_enc: String,
    holder_number_enc: String,
    holder_name_masked: String,
    holder_number_masked: String,
    issuer_name: String,
    issuer_code: String,
    department_id: Uuid,
    region_code: String,
    valid_from: String,
    valid_until: Option<String>,
    fields_enc: String,
    signature: String,
    key_id: String,
    state: String,
    revoked_at: Option<DateTime<Utc>>,
    revoked_reason: String,
    replaced_by: Option<String>,
    case_id: Option<Uuid>,
    account_id: Option<Uuid>,
    enterprise_id: Option<Uuid>,
    issued_at: DateTime<Utc>,
}

/// Why a stored licence could not be read: it was changed so that it no longer decrypts or
/// parses (verification calls that tampered).
#[derive(Debug)]
pub(crate) struct Unreadable;

fn date(s: &str) -> Result<NaiveDate, Unreadable> {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").map_err(|_| Unreadable)
}

impl Licences {
    pub(crate) fn open(&self, row: Row) -> Result<Licence, Unreadable> {
        let keys = self.identity().keys();
        let fields: Vec<(String, String, String)> =
            serde_json::from_str(&keys.decrypt(&row.fields_enc).map_err(|_| Unreadable)?).map_err(|_| Unreadable)?;
        Ok(Licence {
            id: LicenceId::from_uuid(row.id),
            holder_kind: HolderKind::parse(&row.holder_kind).ok_or(Unreadable)?,
            holder_name: keys.decrypt(&row.holder_name_enc).map_err(|_| Unreadable)?,
            holder_number: keys.decrypt(&row.holder_number_enc).map_err(|_| Unreadable)?,
            valid_from: date(&row.valid_from)?,
            valid_until: row.valid_until.as_deref().map(date).transpose()?,
            state: match row.state.as_str() {
                "valid" => LicenceState::Valid,
                "revoked" => LicenceState::Revoked,
                _ => return Err(Unreadable),
            },
            fields,
            identifier: row.identifier,
            type_code: row.type_code,
            type_name: row.type_name,
            number: row.number,
            holder_name_masked: row.holder_name_masked,
            holder_number_masked: row.holder_number_masked,
            issuer_name: row.issuer_name,
            issuer_code: row.issuer_code,
            department_id: row.department_id,
            region_code: row.region_code,
            signature: row.signature,
            key_id: row.key_id,
            revoked_at: row.revoked_at,
            revoked_reason: row.revoked_reason,
            replaced_by: row.replaced_by,
            case_id: row.case_id,
            account_id: row.account_id,
            enterprise_id: row.enterprise_id,
            issued_at: row.issued_at,
        })
    }

    /// The licence's row with identifier `identifier` (exactly as stored, upper case).
    pub(crate) async fn row_by_identifier(&self, identifier: &str) -> Result<Option<Row>, LicenceError> {
        let sql = format!("SELECT {COLUMNS} WHERE l.identifier = $1");
        let mut conn = self.db().conn().await?;
        Ok(run!(conn, |c| sqlx::query_as(sqlx::AssertSqlSafe(sql.clone()))
            .bind(identifier)
            .fetch_optional(&mut *c)
            .await)?)
    }

    /// The licence with id `id`, for whoever checked they may see it.
    pub(crate) async fn by_id_in(&self, target: &mut impl Target, id: LicenceId) -> Result<Licence, LicenceError> {
        let sql = format!("SELECT {COLUMNS} WHERE l.id = $1");
        let row: Option<Row> = run!(target, |c| sqlx::query_as(sqlx::AssertSqlSafe(sql.clone()))
            .bind(id.as_uuid())
            .fetch_optional(&mut *c)
            .await)?;
        let row = row.ok_or(LicenceError::NotFound)?;
        self.open(row).map_err(|_| LicenceError::Internal("证照数据无法读取，可能已被篡改".into()))
    }

    /// The licences matching `condition` (on `l.`) with a text parameter, newest first.
    pub(crate) async fn list_where_text(&self, condition: &str, bind: &str) -> Result<Vec<Licence>, LicenceError> {
        let sql = format!("SELECT {COLUMNS} WHERE {condition} ORDER BY l.issued_at DESC, l.identifier");
        let mut conn = self.db().conn().await?;
        let rows: Vec<Row> =
            run!(conn, |c| sqlx::query_as(sqlx::AssertSqlSafe(sql.clone())).bind(bind).fetch_all(&mut *c).await)?;
        Ok(rows.into_iter().filter_map(|row| self.open(row).ok()).collect())
    }

    /// The licences matching `condition` (on `l.`), newest first.
    pub(crate) async fn list_where(&self, condition: &str, bind: Uuid) -> Result<Vec<Licence>, LicenceError> {
        let sql = format!("SELECT {COLUMNS} WHERE {condition} ORDER BY l.issued_at DESC, l.identifier");
        let mut conn = self.db().conn().await?;
        let rows: Vec<Row> =
            run!(conn, |c| sqlx::query_as(sqlx::AssertSqlSafe(sql.clone())).bind(bind).fetch_all(&mut *c).await)?;
        Ok(rows.into_iter().filter_map(|row| self.open(row).ok()).collect())
    }
}

/// The canonical form of a licence as read.
pub(crate) fn canonical(l: &Licence) -> Canonical {
    Canonical {
        format: FORMAT,
        identifier: l.identifier.clone(),
        type_code: l.type_code.clone(),
        type_name: l.type_name.clone(),
        number: l.number.clone(),
        holder_kind: l.holder_kind.as_str().to_owned(),
        holder_name: l.holder_name.clone(),
        holder_number: l.holder_number.clone(),
        issuer_name: l.issuer_name.clone(),
        issuer_code: l.issuer_code.clone(),
        valid_from: l.valid_from.to_string(),
        valid_until: l.valid_until.map(|d| d.to_string()),
        fields: l.fields.clone(),
    }
}
