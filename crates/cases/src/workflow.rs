//! A workflow (办理流程): the steps a case goes through, who acts at each, and the only
//! transitions allowed between them. Configurable per item; every case keeps the workflow it was
//! submitted under, so that a later change never strands a case in a step that no longer exists.

use govhall_catalog::model::FeeDue;
use govhall_identity::Permission;
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;

/// Who acts at a step.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind", content = "permission")]
pub enum StepActor {
    /// Department staff holding the permission over the case's department.
    Staff(Permission),
    /// The applicant (补齐补正: answering a request for more).
    Applicant,
    /// The applicant pays (待缴费); the payment domain takes the step's [`PAID`] action once
    /// the payment order is paid. The applicant may only withdraw here.
    Payment,
    /// Nobody: the case has ended.
    Nobody,
}

/// A step of a workflow.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Step {
    /// Stable code (`prereview`).
    pub code: String,
    /// What the applicant and staff read (预审).
    pub name: String,
    /// Who acts.
    pub actor: StepActor,
    /// Working days the step may take, if limited.
    #[serde(default)]
    pub deadline_days: Option<u32>,
    /// Whether the time limit stands still while the case is here (补齐补正).
    #[serde(default)]
    pub pauses_clock: bool,
    /// At a payment step: which of the item's fees are due here (those due at submission when
    /// not said).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fees: Option<FeeDue>,
}

impl Step {
    /// The fees a payment step collects; `None` for other steps.
    pub fn fees_due(&self) -> Option<FeeDue> {
        (self.actor == StepActor::Payment).then(|| self.fees.unwrap_or(FeeDue::Submission))
    }
}

/// What a transition does besides moving the case.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Effect {
    /// 受理: the time limit starts.
    Accept,
    /// 不予受理: the case ends, not accepted.
    Reject,
    /// 办结 准予.
    Grant,
    /// 办结 不予.
    Refuse,
    /// 送达: the result reached the applicant; the case ends.
    Deliver,
    /// 撤回: the applicant withdrew; the case ends.
    Withdraw,
}

/// Where a transition leads.
pub const BACK: &str = "@back";

/// The action the payment domain takes out of a payment step once the order is paid.
pub const PAID: &str = "paid";

/// An allowed move.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Transition {
    /// From this step.
    pub from: String,
    /// The action's code (`accept`), unique within the from-step.
    pub action: String,
    /// The button's label (受理).
    pub label: String,
    /// To this step, or [`BACK`] for the step the case came from (after 补齐补正).
    pub to: String,
    /// Whether a note (the reason) must be given.
    #[serde(default)]
    pub note_required: bool,
    /// What else happens.
    #[serde(default)]
    pub effect: Option<Effect>,
    /// Whether the applicant, not staff, takes this action (撤回 from a staff step).
    #[serde(default)]
    pub by_applicant: bool,
}

/// A whole workflow.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Workflow {
    /// Steps; the first is where a submitted case starts.
    pub steps: Vec<Step>,
    /// The only moves allowed.
    pub transitions: Vec<Transition>,
}

fn step(code: &str, name: &str, actor: StepActor, deadline_days: Option<u32>) -> Step {
    Step { code: code.into(), name: name.into(), actor, deadline_days, pauses_clock: false, fees: None }
}

fn go(from: &str, action: &str, label: &str, to: &str, note_required: bool, effect: Option<Effect>) -> Transition {
    let by_applicant = effect == Some(Effect::Withdraw);
    Transition {
        from: from.into(),
        action: action.into(),
        label: label.into(),
        to: to.into(),
        note_required,
        effect,
        by_applicant,
    }
}

impl Workflow {
    /// The national milestones: 收件 → 预审 → 受理 (or 不予受理, or 补齐补正) → 审查 → 办结 → 送达.
    pub fn standard() -> Workflow {
        use Effect::*;
        use StepActor::{Applicant, Nobody, Staff};
        let review = Staff(Permission::CaseReview);
        let mut supplement = step("supplement", "补齐补正", Applicant, None);
        supplement.pauses_clock = true;
        Workflow {
            steps: vec![
                step("received", "收件", review, Some(1)),
                step("prereview", "预审", review, Some(2)),
                supplement,
                step("accepted", "受理", review, Some(1)),
                step("review", "审查", Staff(Permission::CaseDecide), None),
                step("decided", "办结", review, None),
                step("rejected", "不予受理", Nobody, None),
                step("delivered", "送达", Nobody, None),
                step("withdrawn", "已撤回", Nobody, None),
            ],
            transitions: vec![
                go("received", "start_prereview", "开始预审", "prereview", false, None),
                go("received", "withdraw", "撤回申请", "withdrawn", false, Some(Withdraw)),
                go("prereview", "accept", "受理", "accepted", false, Some(Accept)),
                go("prereview", "reject", "不予受理", "rejected", true, Some(Reject)),
                go("prereview", "request_supplement", "要求补齐补正", "supplement", true, None),
                go("prereview", "withdraw", "撤回申请", "withdrawn", false, Some(Withdraw)),
                go("supplement", "resubmit", "提交补正材料", BACK, false, None),
                go("supplement", "withdraw", "撤回申请", "withdrawn", false, Some(Withdraw)),
                go("accepted", "start_review", "开始审查", "review", false, None),
                go("accepted", "grant_now", "当场办结（准予）", "decided", false, Some(Grant)),
                go("review", "request_supplement", "要求补正", "supplement", true, None),
                go("review", "grant", "准予", "decided", false, Some(Grant)),
                go("review", "refuse", "不予批准", "decided", true, Some(Refuse)),
                go("decided", "deliver", "送达", "delivered", true, Some(Deliver)),
            ],
        }
    }

    /// The standard workflow with the payment steps an item's fees need: 待缴费 before 收件 for
    /// fees due at submission, and between the granting decision and 办结 for fees due after
    /// it (先审后缴).
    pub fn with_payments(at_submission: bool, after_decision: bool) -> Workflow {
        let mut w = Workflow::standard();
        if after_decision {
            for t in w.transitions.iter_mut().filter(|t| t.effect == Some(Effect::Grant)) {
                t.to = "pay_after_decision".into();
            }
            let mut pay = step("pay_after_decision", "待缴费", StepActor::Payment, None);
            pay.fees = Some(FeeDue::Decision);
            let at = w.steps.iter().position(|s| s.code == "decided").unwrap_or(w.steps.len());
            w.steps.insert(at, pay);
            w.transitions.push(go("pay_after_decision", PAID, "缴费完成", "decided", false, None));
        }
        if at_submission {
            let mut pay = step("pay_on_submission", "待缴费", StepActor::Payment, None);
            pay.fees = Some(FeeDue::Submission);
            w.steps.insert(0, pay);
            w.transitions.insert(0, go("pay_on_submission", PAID, "缴费完成", "received", false, None));
            w.transitions
                .insert(1, go("pay_on_submission", "withdraw", "撤回申请", "withdrawn", false, Some(Effect::Withdraw)));
        }
        w
    }

    /// Reads a stored or edited workflow and checks it; the error says in Chinese what is wrong.
    pub fn from_json(text: &str) -> Result<Workflow, String> {
        let workflow: Workflow = serde_json::from_str(text).map_err(|e| format!("流程定义不是有效的 JSON：{e}"))?;
        workflow.check()?;
        Ok(workflow)
    }

    /// As stored.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_default()
    }

    /// Whether the workflow can be followed: unique steps, transitions between known steps,
    /// staff steps with a case permission, every step reachable, every case able to end.
    pub fn check(&self) -> Result<(), String> {
        let first = self.steps.first().ok_or("流程至少需要一个步骤")?;
        if !matches!(first.actor, StepActor::Staff(_) | StepActor::Payment) {
            return Err(format!("第一个步骤“{}”应由工作人员办理（或为待缴费步骤）", first.name));
        }
        let mut codes = BTreeSet::new();
        for s in &self.steps {
            if s.code.is_empty() || !s.code.chars().all(|c| c.is_ascii_lowercase() || c == '_') {
                return Err(format!("步骤代码“{}”只能由小写字母和下划线组成", s.code));
            }
            if s.name.trim().is_empty() || s.name.chars().count() > 20 {
                return Err(format!("步骤“{}”的名称应为 1 到 20 个字", s.code));
            }
            if !codes.insert(s.code.as_str()) {
                return Err(format!("步骤代码“{}”重复", s.code));
            }
            if let StepActor::Staff(p) = s.actor
                && !matches!(p, Permission::CaseReview | Permission::CaseDecide)
            {
                return Err(format!("步骤“{}”的办理权限“{}”不是办件权限（应为审查办件或办结审批）", s.name, p.label()));
            }
            if s.actor == StepActor::Payment
                && !self.transitions.iter().any(|t| t.from == s.code && t.action == PAID && t.to != BACK)
            {
                return Err(format!("待缴费步骤“{}”需要一个代码为“{PAID}”的操作（缴费完成后去往的步骤）", s.name));
            }
            if s.fees.is_some() && s.actor != StepActor::Payment {
                return Err(format!("只有待缴费步骤可以指定收费（步骤“{}”）", s.name));
            }
            if s.deadline_days.is_some_and(|d| d == 0 || d > 365) {
                return Err(format!("步骤“{}”的时限应为 1 到 365 个工作日", s.name));
            }
        }
        let mut actions = BTreeSet::new();
        for t in &self.transitions {
            let from = self.step(&t.from).ok_or_else(|| format!("操作“{}”的起点步骤“{}”不存在", t.label, t.from))?;
            if t.to != BACK && self.step(&t.to).is_none() {
                return Err(format!("操作“{}”的目标步骤“{}”不存在", t.label, t.to));
            }
            if from.actor == StepActor::Nobody {
                return Err(format!("步骤“{}”已办结，不能再有操作“{}”", from.name, t.label));
            }
            if t.label.trim().is_empty() || t.action.is_empty() {
                return Err(format!("步骤“{}”有一个操作缺少代码或名称", from.name));
            }
            if !actions.insert((t.from.as_str(), t.action.as_str())) {
                return Err(format!("步骤“{}”的操作“{}”重复", from.name, t.action));
            }
            if t.to == BACK && !from.pauses_clock {
                return Err(format!("只有补齐补正类步骤可以“返回原步骤”（操作“{}”）", t.label));
            }
            if from.actor == StepActor::Payment && !(t.action == PAID || t.by_applicant) {
                return Err(format!("待缴费步骤只能有“{PAID}”（缴费完成）和申请人的操作（“{}”不是）", t.label));
            }
            if t.action == PAID && from.actor != StepActor::Payment {
                return Err(format!("操作代码“{PAID}”只能用于待缴费步骤（步骤“{}”）", from.name));
            }
            if t.action == PAID && t.by_applicant {
                return Err(format!("缴费完成的操作“{}”只能由系统在收到缴费结果后执行，不能交给申请人", t.label));
            }
            if t.action == PAID && matches!(t.effect, Some(Effect::Withdraw | Effect::Reject)) {
                return Err(format!("缴费完成的操作“{}”不能撤回或不予受理", t.label));
            }
            let applicants = t.by_applicant || from.actor == StepActor::Applicant;
            if applicants && !matches!(t.effect, None | Some(Effect::Withdraw)) {
                return Err(format!("申请人的操作“{}”不能受理、办结或送达办件", t.label));
            }
            let ends = t.to != BACK && self.step(&t.to).is_some_and(|s| s.actor == StepActor::Nobody);
            if ends && !matches!(t.effect, Some(Effect::Reject | Effect::Deliver | Effect::Withdraw)) {
                return Err(format!("进入终止步骤的操作“{}”须为不予受理、送达或撤回", t.label));
            }
        }
        for s in &self.steps {
            let leaves = self.transitions.iter().any(|t| t.from == s.code);
            if s.actor == StepActor::Nobody && leaves {
                return Err(format!("终止步骤“{}”不能有后续操作", s.name));
            }
            if s.actor != StepActor::Nobody && !leaves {
                return Err(format!("步骤“{}”没有任何操作，办件会停在这里", s.name));
            }
        }
        // Every step reachable from the first, and an end reachable from every step.
        let forward = self.reach(&first.code);
        if let Some(s) = self.steps.iter().find(|s| !forward.contains(s.code.as_str())) {
            return Err(format!("步骤“{}”无法到达", s.name));
        }
        let mut ending: BTreeSet<&str> =
            self.steps.iter().filter(|s| s.actor == StepActor::Nobody).map(|s| s.code.as_str()).collect();
        loop {
            let more: Vec<&str> = self
                .steps
                .iter()
                .map(|s| s.code.as_str())
                .filter(|code| !ending.contains(code))
                .filter(|code| {
                    self.actions_from(code).any(|t| {
                        if t.to == BACK {
                            self.transitions.iter().any(|u| u.to == *code && ending.contains(u.from.as_str()))
                        } else {
                            ending.contains(t.to.as_str())
                        }
                    })
                })
                .collect();
            if more.is_empty() {
                break;
            }
            ending.extend(more);
        }
        if let Some(s) = self.steps.iter().find(|s| !ending.contains(s.code.as_str())) {
            return Err(format!("从步骤“{}”无法走到任何终止步骤，办件会无法办结", s.name));
        }
        if !self.steps.iter().any(|s| s.actor == StepActor::Nobody) {
            return Err("流程至少需要一个终止步骤（如“送达”）".into());
        }
        Ok(())
    }

    /// The steps reachable from `start` (a return [`BACK`] reaches the steps that lead into
    /// the step it leaves).
    fn reach<'a>(&'a self, start: &'a str) -> BTreeSet<&'a str> {
        let mut seen: BTreeSet<&str> = BTreeSet::from([start]);
        let mut todo = vec![start];
        while let Some(at) = todo.pop() {
            for t in self.actions_from(at) {
                let next: Vec<&str> = if t.to == BACK {
                    self.transitions.iter().filter(|u| u.to == t.from).map(|u| u.from.as_str()).collect()
                } else {
                    vec![t.to.as_str()]
                };
                for n in next {
                    if seen.insert(n) {
                        todo.push(n);
                    }
                }
            }
        }
        seen
    }

    /// The step with this code.
    pub fn step(&self, code: &str) -> Option<&Step> {
        self.steps.iter().find(|s| s.code == code)
    }

    /// The step a submitted case starts in.
    pub fn first(&self) -> &Step {
        &self.steps[0]
    }

    /// The transitions out of `step`.
    pub fn actions_from<'a>(&'a self, step: &'a str) -> impl Iterator<Item = &'a Transition> + 'a {
        self.transitions.iter().filter(move |t| t.from == step)
    }

    /// Who takes `t`: the applicant when it is marked so or leaves an applicant's step; else
    /// staff holding the from-step's permission (`None` here).
    pub fn permission_for(&self, t: &Transition) -> Option<Permission> {
        match self.step(&t.from).map(|s| s.actor) {
            _ if t.by_applicant => None,
            Some(StepActor::Staff(p)) => Some(p),
            _ => None,
        }
    }

    /// Whether the applicant takes `t`: it is marked so, or leaves an applicant's step.
    pub fn applicant_takes(&self, t: &Transition) -> bool {
        t.by_applicant || self.step(&t.from).is_some_and(|s| s.actor == StepActor::Applicant)
    }

    /// The transition `action` out of `step`, if the whitelist has it.
    pub fn transition(&self, step: &str, action: &str) -> Option<&Transition> {
        self.transitions.iter().find(|t| t.from == step && t.action == action)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_standard_workflow_is_valid_and_reads_back() {
        let w = Workflow::standard();
        w.check().unwrap();
        assert_eq!(Workflow::from_json(&w.to_json()).unwrap(), w);
        assert_eq!(w.first().code, "received");
        assert!(w.transition("prereview", "accept").is_some());
        assert!(w.transition("received", "accept").is_none(), "whitelisted");
    }

    #[test]
    fn payment_steps_sit_before_receipt_and_after_the_grant() {
        let w = Workflow::with_payments(true, true);
        w.check().unwrap();
        assert_eq!(Workflow::from_json(&w.to_json()).unwrap(), w);
        assert_eq!(w.first().fees_due(), Some(FeeDue::Submission));
        assert_eq!(w.transition("pay_on_submission", PAID).map(|t| t.to.as_str()), Some("received"));
        assert_eq!(w.transition("review", "grant").map(|t| t.to.as_str()), Some("pay_after_decision"));
        assert_eq!(w.transition("accepted", "grant_now").map(|t| t.to.as_str()), Some("pay_after_decision"));
        assert_eq!(w.step("pay_after_decision").and_then(Step::fees_due), Some(FeeDue::Decision));
        assert_eq!(w.step("review").and_then(Step::fees_due), None);
        let t = w.transition("pay_on_submission", "withdraw").unwrap();
        assert_eq!(w.permission_for(t), None);
        assert_eq!(Workflow::with_payments(false, false), Workflow::standard());
        Workflow::with_payments(false, true).check().unwrap();
        Workflow::with_payments(true, false).check().unwrap();

        let mut w = Workflow::with_payments(true, false);
        w.transitions.retain(|t| t.action != PAID);
        assert!(w.check().unwrap_err().contains("paid"));
        let mut w = Workflow::with_payments(true, false);
        w.transitions.push(go("pay_on_submission", "skip", "跳过", "received", false, None));
        assert!(w.check().unwrap_err().contains("待缴费步骤只能有"));
        let mut w = Workflow::standard();
        w.transitions.push(go("review", PAID, "缴费", "decided", false, Some(Effect::Grant)));
        assert!(w.check().unwrap_err().contains("只能用于待缴费步骤"));
        let mut w = Workflow::with_payments(true, false);
        w.transitions[0].by_applicant = true;
        assert!(w.check().unwrap_err().contains("不能交给申请人"));
        let mut w = Workflow::standard();
        w.steps[1].fees = Some(FeeDue::Decision);
        assert!(w.check().unwrap_err().contains("只有待缴费步骤"));
    }

    #[test]
    fn broken_workflows_are_refused_in_chinese() {
        let mut w = Workflow::standard();
        w.transitions.push(go("review", "grant", "准予", "decided", false, None));
        assert!(w.check().unwrap_err().contains("重复"));
        let mut w = Workflow::standard();
        w.transitions.push(go("review", "jump", "跳转", "nowhere", false, None));
        assert!(w.check().unwrap_err().contains("不存在"));
        let mut w = Workflow::standard();
        w.transitions.retain(|t| t.from != "review");
        assert!(w.check().unwrap_err().contains("没有任何操作"));
        let mut w = Workflow::standard();
        w.transitions.retain(|t| t.to != "rejected");
        assert!(w.check().unwrap_err().contains("无法到达"));
        let mut w = Workflow::standard();
        w.steps[1].actor = StepActor::Staff(Permission::ItemEdit);
        assert!(w.check().unwrap_err().contains("不是办件权限"));
        assert!(Workflow::from_json("{").unwrap_err().contains("JSON"));
        let mut w = Workflow::standard();
        w.transitions.push(go("review", "back", "返回", BACK, false, None));
        assert!(w.check().unwrap_err().contains("返回原步骤"));
        // The applicant cannot be given a decision.
        let mut w = Workflow::standard();
        w.transitions.push(Transition {
            by_applicant: true,
            ..go("review", "self_grant", "自批", "decided", false, Some(Effect::Grant))
        });
        assert!(w.check().unwrap_err().contains("申请人的操作"));
        // Ending without saying how.
        let mut w = Workflow::standard();
        w.transitions.push(go("review", "drop", "结束", "rejected", false, None));
        assert!(w.check().unwrap_err().contains("终止步骤的操作"));
        // Two steps that only lead to each other: neither reachable nor able to end.
        let mut w = Workflow::standard();
        w.steps.push(step("loop_a", "甲", StepActor::Staff(Permission::CaseReview), None));
        w.steps.push(step("loop_b", "乙", StepActor::Staff(Permission::CaseReview), None));
        w.transitions.push(go("loop_a", "to_b", "到乙", "loop_b", false, None));
        w.transitions.push(go("loop_b", "to_a", "到甲", "loop_a", false, None));
        assert!(w.check().unwrap_err().contains("无法到达"));
        w.transitions.push(go("review", "to_a", "到甲", "loop_a", false, None));
        assert!(w.check().unwrap_err().contains("无法走到任何终止步骤"));
        // Supervision is not a step's permission.
        let mut w = Workflow::standard();
        w.steps[1].actor = StepActor::Staff(Permission::CaseSupervise);
        assert!(w.check().unwrap_err().contains("不是办件权限"));
    }
}
