//! 换发: staff who manage a licence re-issue it with corrected fields (a changed address, a
//! renewal). The new licence is issued and signed now, with a new number; the old one is revoked
//! in the same transaction and names its successor, so that verifying the old identifier says
//! 已换发 and points to the new one. Both keep the step in their history; the holder is told.

use crate::issue::{Holder, NewLicence};
use crate::model::{Licence, LicenceState};
use crate::{LicenceError, LicenceId, Licences, history, notify};
use govhall_audit::{self as audit, Actor, Event};
use govhall_db::{exec, sqlx};
use govhall_identity::Access;
use std::collections::BTreeMap;

impl Licences {
    /// Re-issues licence `id` with the fields in `changes` (by key; the others as they were),
    /// for staff whose `licence.manage` reaches it; `reason` is kept with the old one.
    pub async fn reissue(
        &self,
        access: &Access,
        actor: &Actor,
        id: LicenceId,
        changes: &BTreeMap<String, String>,
        reason: &str,
    ) -> Result<Licence, LicenceError> {
        let reason = govhall_core::text::clean(reason.trim()).into_owned();
        if reason.is_empty() || reason.chars().count() > 200 {
            return Err(LicenceError::Invalid("请填写换发原因（不超过 200 字）".into()));
        }
        let old = self.for_staff(access, id).await?;
        if old.state != LicenceState::Valid {
            return Err(LicenceError::WrongState("该证照已注销或已换发，不能再换发".into()));
        }
        let ty = self
            .types()
            .await?
            .into_iter()
            .find(|t| t.code == old.type_code)
            .ok_or_else(|| LicenceError::Invalid(format!("证照类型“{}”已不存在，不能换发", old.type_code)))?;
        let mut fields = Vec::new();
        for spec in &ty.fields {
            let before = old.fields.iter().find(|(k, _, _)| *k == spec.key).map(|(_, _, v)| v.clone());
            let value = match changes.get(&spec.key) {
                Some(v) => govhall_core::text::clean(v.trim()).trim().to_owned(),
                None => before.unwrap_or_default(),
            };
            if value.chars().count() > 200 {
                return Err(LicenceError::Invalid(format!("“{}”不能超过 200 个字", spec.label)));
            }
            if value.is_empty() {
                if spec.required {
                    return Err(LicenceError::Invalid(format!("请填写“{}”", spec.label)));
                }
                continue;
            }
            fields.push((spec.key.clone(), spec.label.clone(), value));
        }
        let holder = Holder {
            kind: old.holder_kind,
            name: old.holder_name.clone(),
            number: old.holder_number.clone(),
            account: old.account_id,
            enterprise: old.enterprise_id,
        };
        let phone = match old.account_id {
            Some(a) => self.identity().account(govhall_identity::AccountId::from_uuid(a)).await.ok().map(|a| a.phone),
            None => None,
        };
        let today = govhall_core::clock::china_date(self.db().now());
        let new = NewLicence { holder, fields, valid_from: today, case: None, existing: None };
        let mut tx = self.db().begin().await?;
        let issued = self
            .issue_in(&mut tx, &ty, new, actor)
            .await?
            .ok_or_else(|| LicenceError::Internal("换发的证照编号已存在".into()))?;
        let now = tx.db().now();
        let changed = exec!(
            tx,
            sqlx::query(
                "UPDATE licences SET state = 'revoked', revoked_at = $1, revoked_reason = $2, replaced_by = $3
                 WHERE id = $4 AND state = 'valid'"
            )
            .bind(now)
            .bind(format!("换发：{reason}"))
            .bind(&issued.identifier)
            .bind(id.as_uuid())
        )?;
        if changed == 0 {
            return Err(LicenceError::WrongState("该证照刚刚已被注销或换发".into()));
        }
        history::record(&mut tx, id, "replaced", &format!("换发为 {}：{reason}", issued.identifier), actor).await?;
        history::record(&mut tx, issued.id, "reissued", &format!("换发自 {}", old.identifier), actor).await?;
        audit::record(
            &mut tx,
            actor,
            Event::success("licence.reissue", "licence", &old.identifier)
                .detail(format!("→ {}：{reason}", issued.identifier)),
        )
        .await?;
        if let Some(account) = issued.account_id {
            let extra = serde_json::json!({ "serial": "" });
            notify::tell(&mut tx, self.messaging(), notify::ISSUED, &issued, account, phone.as_ref(), extra).await?;
        }
        tx.commit().await?;
        Ok(issued)
    }
}
