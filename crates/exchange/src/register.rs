//! Cases a department's system started itself (its own counter took them in), registered with
//! the hall so that the applicant can follow them there (查询便捷度) and the hall counts them:
//! with a number the unified serial number service gave the system before (it printed its own
//! receipt with it), or one issued now under the system's service number. The hall answers with
//! the query password, once; the department's system then sends the case's steps as for any
//! case. The case is not handed back to the system that registered it.

use crate::log::{Direction, NewEntry};
use crate::{Caller, Exchange, ExchangeError};
use govhall_audit::Actor;
use govhall_cases::Channel;
use govhall_cases::model::SubmittedMaterial;
use govhall_cases::offline::{Applicant, OfflineCase};
use govhall_core::text::clean;
use serde::{Deserialize, Serialize};

/// A case a department's system registers.
#[derive(Debug, Clone)]
pub struct Started {
    /// A number the system was issued before; `None`: the hall issues one now.
    pub serial_number: Option<String>,
    /// The same key again gives the same case (1 to 80 visible ASCII characters).
    pub idempotency_key: String,
    /// The item's code (one of the department's items).
    pub item_code: String,
    /// Who applied.
    pub applicant: Applicant,
    /// The answers of the form.
    pub form: serde_json::Value,
    /// The materials received.
    pub materials: Vec<SubmittedMaterial>,
    /// Who took it in there.
    pub handler: String,
}

/// What the hall answers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Registered {
    /// The case's serial number.
    pub serial_number: String,
    /// The query password for the applicant (printed on the system's receipt): only the first
    /// time; a repeated registration gets `None`.
    pub query_password: Option<String>,
    /// The step the case is at.
    pub step: String,
    /// Its name.
    pub step_name: String,
}

impl Exchange {
    /// Registers a case `caller`'s department started in its own system; `content` is the
    /// message as received (logged by its SM3).
    pub async fn register(&self, caller: &Caller, s: Started, content: &[u8]) -> Result<Registered, ExchangeError> {
        let serial = s.serial_number.clone().unwrap_or_default();
        match self.try_register(caller, s).await {
            Ok(done) => {
                let mut entry =
                    NewEntry::ok(Direction::In, "register", Some(done.serial_number.clone()), content.to_vec());
                entry.detail = if done.query_password.is_some() {
                    "登记部门受理的办件"
                } else {
                    "重复登记，已有该办件"
                }
                .into();
                let (department, client) = (Some(caller.department), Some(caller.client.id));
                self.record(&caller.actor, department, client, "exchange.register", vec![entry]).await?;
                Ok(done)
            }
            Err(e) => {
                let serial = (!serial.is_empty()).then(|| serial.chars().take(40).collect());
                let entry = NewEntry::refused("register", serial, content.to_vec(), &e);
                self.record_refusal(caller, "exchange.register", entry).await;
                Err(e)
            }
        }
    }

    async fn try_register(&self, caller: &Caller, s: Started) -> Result<Registered, ExchangeError> {
        let handler = clean(s.handler.trim()).into_owned();
        if handler.is_empty() || handler.chars().count() > 50 {
            return Err(ExchangeError::Invalid("handler（经办人）不能为空，且不超过 50 个字".into()));
        }
        let key = s.idempotency_key.trim().to_owned();
        if !(1..=80).contains(&key.len()) || !key.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(ExchangeError::Invalid("idempotency_key 应为 1 到 80 个可见的英文字母、数字或符号".into()));
        }
        let service_number = u8::try_from(caller.client.service_number)
            .map_err(|_| ExchangeError::Internal("接入系统的发号服务编号有误".into()))?;
        let actor = Actor {
            id: None,
            label: format!("接入系统：{}（经办人：{handler}）", caller.client.name),
            client_ip: caller.actor.client_ip.clone(),
        };
        let offline = OfflineCase {
            channel: Channel::Department,
            item_code: s.item_code.trim().to_owned(),
            applicant: s.applicant,
            form: s.form,
            materials: s.materials,
            serial_number: s.serial_number,
            issuer: caller.client.name.clone(),
            service_number,
            actor,
            staff: None,
            idempotency_key: key,
            files: Vec::new(),
        };
        let done = self.cases().register_offline(&caller.access, offline).await?;
        let case = self.cases().get(&caller.access, done.case_id).await?;
        Ok(Registered {
            serial_number: done.serial_number,
            query_password: done.query_password,
            step: case.step,
            step_name: case.step_name,
        })
    }
}
