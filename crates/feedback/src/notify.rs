//! What 好差评 says through the message center: the invitation to rate (inbox and SMS, with a
//! link), the department's answer to a 差评 (inbox and SMS), a new 差评 task and an overdue one
//! (staff inbox), an evaluation voided after an appeal (inbox); a complaint received or reopened
//! and an overdue one (staff inbox), answered (the complainant).

use crate::FeedbackError;
use govhall_db::Db;
use govhall_messaging::{Channel, templates};

pub(crate) const INVITE: &str = "evaluation.invite";
pub(crate) const REMIND: &str = "evaluation.remind";
pub(crate) const ANSWERED: &str = "evaluation.rectified";
pub(crate) const BAD_REVIEW: &str = "evaluation.bad_review";
pub(crate) const OVERDUE: &str = "evaluation.rectification_overdue";
pub(crate) const VOIDED: &str = "evaluation.voided";
pub(crate) const COMPLAINT_ANSWERED: &str = "complaint.answered";
pub(crate) const COMPLAINT_OVERDUE: &str = "complaint.overdue";
pub(crate) const COMPLAINT_RECEIVED: &str = "complaint.received";

pub(crate) async fn install_templates(db: &Db) -> Result<(), FeedbackError> {
    let defaults = [
        (
            INVITE,
            Channel::Sms,
            "",
            "您的办件{{ serial }}（{{ item }}）已办结，请对办理服务评价：{{ link }} 。{{ until }}前有效。",
        ),
        (
            INVITE,
            Channel::Inbox,
            "请评价：{{ item }}",
            "您的办件{{ serial }}（{{ item }}）已办结。请对这次办事的满意程度作出评价，您的评价会送到办理部门和政务服务“好差评”系统，差评由部门回访整改。\n评价地址：{{ link }}\n{{ until }}前可以评价。",
        ),
        (
            REMIND,
            Channel::Sms,
            "",
            "您的办件{{ serial }}（{{ item }}）还没有评价，欢迎评价：{{ link }} 。{{ until }}前有效。",
        ),
        (
            REMIND,
            Channel::Inbox,
            "还没有评价：{{ item }}",
            "您的办件{{ serial }}（{{ item }}）还没有评价。\n评价地址：{{ link }}\n{{ until }}前可以评价。",
        ),
        (
            ANSWERED,
            Channel::Sms,
            "",
            "{{ department }}已对您办件{{ serial }}的评价作出回复，请查看并对整改情况评价：{{ link }} 。",
        ),
        (
            ANSWERED,
            Channel::Inbox,
            "部门已回复您的评价：{{ item }}",
            "{{ department }}已对您办件{{ serial }}（{{ item }}）的评价作出回复：\n{{ answer }}\n请对整改情况评价：{{ link }}",
        ),
        (
            BAD_REVIEW,
            Channel::Inbox,
            "新的差评待整改：{{ item }}",
            "办件{{ serial }}（{{ item }}）收到“{{ level }}”评价：{{ reasons }}\n请在 {{ due }} 前回访申请人并整改或说明（好差评 → 差评整改）。",
        ),
        (
            OVERDUE,
            Channel::Inbox,
            "差评整改已超期：{{ item }}",
            "{{ department }}对办件{{ serial }}（{{ item }}）的差评应在 {{ due }} 前回复，至今未回复，请督办。",
        ),
        (
            VOIDED,
            Channel::Inbox,
            "您的评价经核实已作废：{{ item }}",
            "您对办件{{ serial }}（{{ item }}）的评价，经{{ department }}申诉、监督人员核实后作废，不计入统计：{{ note }}\n如有异议，可以投诉。",
        ),
        (
            COMPLAINT_ANSWERED,
            Channel::Sms,
            "",
            "您的投诉{{ number }}{{ what }}（{{ department }}），请凭投诉编号和查询密码查看答复；如不满意，可在10天内申请重新办理。",
        ),
        (
            COMPLAINT_ANSWERED,
            Channel::Inbox,
            "投诉{{ what }}：{{ number }}",
            "您的投诉{{ number }}{{ what }}（{{ department }}）。请在“我的投诉”中查看答复并评价；如不满意，可在答复后10天内申请重新办理。",
        ),
        (
            COMPLAINT_OVERDUE,
            Channel::Inbox,
            "投诉办理已超期：{{ number }}",
            "{{ department }}的投诉{{ number }}（{{ state }}）应在 {{ due }} 前办理，至今未办，请督办。",
        ),
        (
            COMPLAINT_RECEIVED,
            Channel::Inbox,
            "新的投诉待办理：{{ number }}",
            "{{ department }}{{ what }}{{ number }}（{{ subject }}，{{ category }}），请在 {{ due }} 前办理（投诉办理）。",
        ),
    ];
    for (code, channel, subject, body) in defaults {
        templates::install_default(db, code, channel, subject, body).await?;
    }
    Ok(())
}
