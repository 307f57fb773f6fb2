//! Licences as their holders and issuers reach them: a person's own (and those of the
//! enterprises they are an active member of), one of them by id (someone else's answers as
//! not found), staff's view within their `licence.manage` scope, and revoking (注销).

use crate::model::{HolderKind, Licence, LicenceState};
use crate::{LicenceError, LicenceId, Licences, notify};
use govhall_audit::{self as audit, Actor, Event};
use govhall_db::{exec, sqlx};
use govhall_identity::{Access, AccountId, DepartmentId, Permission, Target};

impl Licences {
    /// The licences of `account`: issued to them or held under their resident ID number (an
    /// imported licence finds its holder when they register), or held by an enterprise they are
    /// an active member of (by the enterprise, or its credit code); newest first. A licence found
    /// by number is returned as linked to them.
    pub async fn mine(&self, account: AccountId) -> Result<Vec<Licence>, LicenceError> {
        let me = self.identity().account(account).await?;
        let mut all = self.list_where("l.account_id = $1 AND l.enterprise_id IS NULL", account.as_uuid()).await?;
        if let Some(number) = &me.id_number {
            let hash = crate::issue::holder_hash(self.identity().keys(), number.as_str());
            for mut l in self.list_where_text("l.holder_hash = $1 AND l.holder_kind = 'person'", &hash).await? {
                if !all.iter().any(|a| a.id == l.id) {
                    l.account_id = Some(account.as_uuid());
                    all.push(l);
                }
            }
        }
        for m in self.identity().memberships_of(account).await? {
            if m.status != "active" {
                continue;
            }
            all.extend(self.list_where("l.enterprise_id = $1", m.enterprise_id).await?);
            let e = self.identity().enterprise(govhall_identity::EnterpriseId::from_uuid(m.enterprise_id)).await?;
            let hash = crate::issue::holder_hash(self.identity().keys(), &e.credit_code);
            for mut l in self.list_where_text("l.holder_hash = $1 AND l.holder_kind = 'enterprise'", &hash).await? {
                if !all.iter().any(|a| a.id == l.id) {
                    l.enterprise_id = Some(m.enterprise_id);
                    all.push(l);
                }
            }
        }
        all.sort_by_key(|l| std::cmp::Reverse(l.issued_at));
        Ok(all)
    }

    /// One of `account`'s licences (as [`Licences::mine`] finds them, read alone); another's
    /// answers as not found.
    pub async fn mine_by_id(&self, account: AccountId, id: LicenceId) -> Result<Licence, LicenceError> {
        let mut conn = self.db().conn().await?;
        let mut licence = self.by_id_in(&mut conn, id).await?;
        drop(conn);
        let same = |number: &str| licence.holder_number.trim().eq_ignore_ascii_case(number.trim());
        match licence.holder_kind {
            HolderKind::Person => {
                if licence.account_id == Some(account.as_uuid()) {
                    return Ok(licence);
                }
                let me = self.identity().account(account).await?;
                if me.id_number.as_ref().is_some_and(|n| same(n.as_str())) {
                    licence.account_id = Some(account.as_uuid());
                    return Ok(licence);
                }
            }
            HolderKind::Enterprise => {
                for m in self.identity().memberships_of(account).await? {
                    if m.status != "active" {
                        continue;
                    }
                    if licence.enterprise_id == Some(m.enterprise_id) {
                        return Ok(licence);
                    }
                    let e =
                        self.identity().enterprise(govhall_identity::EnterpriseId::from_uuid(m.enterprise_id)).await?;
                    if licence.enterprise_id.is_none() && same(&e.credit_code) {
                        licence.enterprise_id = Some(m.enterprise_id);
                        return Ok(licence);
                    }
                }
            }
        }
        Err(LicenceError::NotFound)
    }

    /// A licence for staff whose `licence.manage` reaches its issuing department; others are
    /// told it does not exist.
    pub async fn for_staff(&self, access: &Access, id: LicenceId) -> Result<Licence, LicenceError> {
        let mut conn = self.db().conn().await?;
        let licence = self.by_id_in(&mut conn, id).await?;
        if !access.covers(Permission::LicenceManage, &target(&licence)) {
            return Err(LicenceError::NotFound);
        }
        Ok(licence)
    }

    /// The licence a case issued, for staff who may manage it.
    pub async fn of_case(&self, access: &Access, case: uuid::Uuid) -> Result<Option<Licence>, LicenceError> {
        let found = self.list_where("l.case_id = $1", case).await?;
        Ok(found.into_iter().find(|l| access.covers(Permission::LicenceManage, &target(l))))
    }

    /// Revokes (注销) a licence, with a reason the holder is told.
    pub async fn revoke(
        &self,
        access: &Access,
        actor: &Actor,
        id: LicenceId,
        reason: &str,
    ) -> Result<Licence, LicenceError> {
        let reason = govhall_core::text::clean(reason.trim()).into_owned();
        if reason.is_empty() || reason.chars().count() > 200 {
            return Err(LicenceError::Invalid("请填写注销原因（不超过 200 字）".into()));
        }
        let licence = self.for_staff(access, id).await?;
        if licence.state == LicenceState::Revoked {
            return Err(LicenceError::WrongState("该证照已注销".into()));
        }
        let mut tx = self.db().begin().await?;
        let now = tx.db().now();
        let changed = exec!(
            tx,
            sqlx::query(
                "UPDATE licences SET state = 'revoked', revoked_at = $1, revoked_reason = $2
                 WHERE id = $3 AND state = 'valid'"
            )
            .bind(now)
            .bind(&reason)
            .bind(id.as_uuid())
        )?;
        if changed == 0 {
            return Err(LicenceError::WrongState("该证照已注销".into()));
        }
        audit::record(
            &mut tx,
            actor,
            Event::success("licence.revoke", "licence", &licence.identifier).detail(reason.clone()),
        )
        .await?;
        crate::history::record(&mut tx, id, "revoked", &format!("注销：{reason}"), actor).await?;
        let revoked = self.by_id_in(&mut tx, id).await?;
        if let Some(account) = revoked.account_id {
            let extra = serde_json::json!({ "reason": reason });
            notify::tell(&mut tx, self.messaging(), notify::REVOKED, &revoked, account, None, extra).await?;
        }
        tx.commit().await?;
        Ok(revoked)
    }
}

/// What staff scopes are checked against: the issuing department and its region.
fn target(l: &Licence) -> Target {
    Target {
        owner: None,
        department: Some(DepartmentId::from_uuid(l.department_id)),
        region: Some(l.region_code.clone()),
    }
}
