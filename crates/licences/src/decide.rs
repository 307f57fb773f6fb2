//! Issuing with the decision (准予并签发): staff deciding a case whose item issues a licence
//! fill the licence's fields on the case page (prefilled from the application for staff who
//! may see it), and the licence is written, signed and told in the decision's own transaction —
//! no decision without its licence, no licence without its decision. A grant taken otherwise
//! (a payment completing a 先审后缴 case) issues through the `case.granted` job from the
//! application's answers.

use crate::issue::{NewLicence, answer_text, case_value, fields_from};
use crate::model::LicenceType;
use crate::{Licence, LicenceError, Licences, notify};
use govhall_audit::Actor;
use govhall_cases::Case;
use govhall_cases::queries::target;
use govhall_cases::transition::{Action, By, Checked};
use govhall_core::clock::china_date;
use govhall_db::Tx;
use govhall_identity::{Access, Permission};
use serde_json::{Map, Value};
use std::collections::BTreeMap;

/// Longest value staff may give a field.
pub const MAX_VALUE: usize = 200;

/// One field of the licence form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FormField {
    /// Its key (the form's input is `licence.<key>`).
    pub key: String,
    /// Its label.
    pub label: String,
    /// Whether it must be given.
    pub required: bool,
    /// Its value: prefilled from the application, or the case's own (fixed).
    pub value: String,
    /// Taken from the case (serial number, item, decision date): shown, not typed.
    pub fixed: bool,
}

/// A decision checked before its transaction: the move, and the licence a grant issues (its
/// type, fields and the holder's mobile to tell).
#[derive(Debug)]
pub struct Decision<'a> {
    by: By<'a>,
    actor: &'a Actor,
    action: Action,
    checked: Checked,
    licence: Option<(LicenceType, NewLicence, Option<govhall_core::Phone>)>,
}

/// The licence a decision will issue, as the case page asks for it.
#[derive(Debug, Clone)]
pub struct LicenceForm {
    /// The type.
    pub ty: LicenceType,
    /// Its fields.
    pub fields: Vec<FormField>,
}

impl Licences {
    /// The form of the licence granting `case` will issue; `None` when its item issues none or
    /// it has one already. Values are prefilled from the application only for staff whose
    /// `case.view_personal_data` reaches the case.
    pub async fn form_for(&self, access: &Access, case: &Case) -> Result<Option<LicenceForm>, LicenceError> {
        let mut conn = self.db().conn().await?;
        let Some(ty) = self.type_for_item(&mut conn, &case.item_code).await? else { return Ok(None) };
        drop(conn);
        if !self.list_where("l.case_id = $1", case.id.as_uuid()).await?.is_empty() {
            return Ok(None);
        }
        let answers = if access.covers(Permission::CaseViewPersonalData, &target(case)) {
            self.cases().for_reckoning(case.id).await?.1
        } else {
            Map::new()
        };
        let today = china_date(self.db().now());
        let fields = ty
            .fields
            .iter()
            .map(|f| {
                let fixed = case_value(&f.from, case, today);
                FormField {
                    key: f.key.clone(),
                    label: f.label.clone(),
                    required: f.required,
                    fixed: fixed.is_some(),
                    value: fixed.or_else(|| answers.get(&f.from).and_then(answer_text)).unwrap_or_default(),
                }
            })
            .collect();
        Ok(Some(LicenceForm { ty, fields }))
    }

    /// Takes `action` on a case as staff; when it grants a case whose item issues a licence,
    /// the licence is issued in the same transaction from `given` (field key → value; the
    /// case's own fields are taken from the case). Without a licence to issue, the move alone.
    pub async fn decide(
        &self,
        access: &Access,
        actor: &Actor,
        action: Action,
        given: &BTreeMap<String, String>,
    ) -> Result<(Case, Option<Licence>), LicenceError> {
        let decision = self.prepare_decision(access, actor, action, given).await?;
        let mut tx = self.db().begin().await?;
        let done = self.decide_in(&mut tx, decision).await?;
        tx.commit().await?;
        Ok(done)
    }

    /// The checks of [`Licences::decide`], before its transaction (they read on connections of
    /// their own): the move, and the licence a grant issues with its fields.
    pub async fn prepare_decision<'a>(
        &self,
        access: &'a Access,
        actor: &'a Actor,
        action: Action,
        given: &BTreeMap<String, String>,
    ) -> Result<Decision<'a>, LicenceError> {
        let checked = self.cases().check_move(By::Staff(access, actor), &action).await?;
        self.prepare_checked(access, actor, action, checked, given).await
    }

    /// [`Licences::prepare_decision`] for a move the caller has checked already.
    pub async fn prepare_checked<'a>(
        &self,
        access: &'a Access,
        actor: &'a Actor,
        action: Action,
        checked: Checked,
        given: &BTreeMap<String, String>,
    ) -> Result<Decision<'a>, LicenceError> {
        let by = By::Staff(access, actor);
        let ty = if checked.grants() {
            let mut conn = self.db().conn().await?;
            self.type_for_item(&mut conn, &checked.case().item_code).await?
        } else {
            None
        };
        let Some(ty) = ty else { return Ok(Decision { by, actor, action, checked, licence: None }) };
        let case = checked.case().clone();
        let holder = self.holder_of(&case, ty.holder_kind).await?;
        let today = china_date(self.db().now());
        // What staff typed, under the answer keys the fields read.
        let mut answers = Map::new();
        for f in &ty.fields {
            let Some(value) = given.get(&f.key) else { continue };
            if value.chars().count() > MAX_VALUE {
                return Err(LicenceError::Invalid(format!("证照信息“{}”不能超过 {MAX_VALUE} 字", f.label)));
            }
            answers.insert(f.from.clone(), Value::String(value.clone()));
        }
        let (fields, missing) = fields_from(&ty, &case, today, &answers);
        if !missing.is_empty() {
            return Err(LicenceError::Invalid(format!("请填写{}的证照信息：{}", ty.name, missing.join("、"))));
        }
        let phone = match case.applicant_id {
            Some(a) => self.identity().account(a).await.ok().map(|a| a.phone),
            None => None,
        };
        let new = NewLicence { holder, fields, valid_from: today, case: Some(case.id), existing: None };
        Ok(Decision { by, actor, action, checked, licence: Some((ty, new, phone)) })
    }

    /// The decision [`Licences::prepare_decision`] checked, inside `tx`: the move, and the
    /// licence a grant issues, signed and told, or neither.
    pub async fn decide_in(&self, tx: &mut Tx, d: Decision<'_>) -> Result<(Case, Option<Licence>), LicenceError> {
        let serial = d.checked.case().serial_number.clone();
        let moved = self.cases().move_checked_in(tx, d.by, d.action, d.checked).await?;
        let Some((ty, new, phone)) = d.licence else { return Ok((moved, None)) };
        let licence = self.issue_in(tx, &ty, new, d.actor).await?;
        if let Some(l) = &licence
            && let Some(account) = l.account_id
        {
            let extra = serde_json::json!({ "serial": serial });
            notify::tell(tx, self.messaging(), notify::ISSUED, l, account, phone.as_ref(), extra).await?;
        }
        Ok((moved, licence))
    }
}
