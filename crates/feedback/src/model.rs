//! The words of 好差评: the five levels, the online indicators, the channels, the reasons a 差评
//! gives, and an evaluation as stored.

use crate::FeedbackError;
use crate::ids::EvaluationId;
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// A level of satisfaction (GB/T 39734: 非常满意 5 … 非常不满意 1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "i16", into = "i16")]
pub struct Level(u8);

impl Level {
    /// The level `n` (1 to 5).
    pub fn new(n: i64) -> Result<Level, FeedbackError> {
        match u8::try_from(n) {
            Ok(n @ 1..=5) => Ok(Level(n)),
            _ => Err(FeedbackError::Invalid("评价等级应为 1（非常不满意）到 5（非常满意）".into())),
        }
    }

    /// Its number.
    pub fn get(self) -> u8 {
        self.0
    }

    /// 非常满意 … 非常不满意.
    pub fn label(self) -> &'static str {
        LEVEL_LABELS[usize::from(self.0.clamp(1, 5)) - 1]
    }

    /// Levels 1 and 2: a 差评, answered by the department.
    pub fn is_bad(self) -> bool {
        self.0 <= 2
    }
}

impl TryFrom<i16> for Level {
    type Error = FeedbackError;
    fn try_from(n: i16) -> Result<Level, FeedbackError> {
        Level::new(i64::from(n))
    }
}

impl From<Level> for i16 {
    fn from(l: Level) -> i16 {
        i16::from(l.0)
    }
}

/// The labels of levels 1 to 5.
pub const LEVEL_LABELS: [&str; 5] = ["非常不满意", "不满意", "基本满意", "满意", "非常满意"];

/// The online indicators besides the overall level: (key, name).
pub const INDICATORS: [(&str, &str); 4] = [
    ("efficiency", "办事效率"),
    ("guide_accuracy", "办事指南精确度"),
    ("convenience", "办事便捷度"),
    ("usability", "平台操作性"),
];

/// Where an evaluation was given.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    /// The web portal.
    Web,
    /// The mobile app (the API).
    App,
    /// The WeChat official account.
    Wechat,
    /// A terminal in a service hall, without signing in.
    Kiosk,
    /// Recorded when the rating period ended unrated, where a province's rules say so.
    Default,
}

impl Channel {
    /// Every channel.
    pub const ALL: [Channel; 5] = [Channel::Web, Channel::App, Channel::Wechat, Channel::Kiosk, Channel::Default];

    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Web => "web",
            Channel::App => "app",
            Channel::Wechat => "wechat",
            Channel::Kiosk => "kiosk",
            Channel::Default => "default",
        }
    }

    /// Its name in Chinese.
    pub fn label(self) -> &'static str {
        match self {
            Channel::Web => "网上大厅",
            Channel::App => "移动端",
            Channel::Wechat => "微信公众号",
            Channel::Kiosk => "大厅评价终端",
            Channel::Default => "逾期默认评价",
        }
    }

    /// The channel stored as `s`.
    pub fn parse(s: &str) -> Option<Channel> {
        Channel::ALL.into_iter().find(|c| c.as_str() == s)
    }
}

/// The reasons a 差评 can choose (code, text): the national platform's kinds of complaint about
/// a service, as GovHall words them.
pub const REASONS: [(&str, &str); 9] = [
    ("guide_inaccurate", "办事指南不准确、不完整"),
    ("materials_repeated", "要求重复提交或不必要的材料"),
    ("too_slow", "办理时间长、超过承诺时限"),
    ("many_trips", "多次跑动"),
    ("attitude", "工作人员服务态度差"),
    ("system_hard", "系统操作不便或出现故障"),
    ("fees", "收费不合理"),
    ("result_unexplained", "不予办理未说明理由"),
    ("other", "其他"),
];

/// The text of reason `code`.
pub fn reason_label(code: &str) -> Option<&'static str> {
    REASONS.iter().find(|(c, _)| *c == code).map(|(_, t)| *t)
}

/// The longest comment.
pub const MAX_COMMENT: usize = 500;

/// A rating as given (the web form, the API body, the terminal).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Rating {
    /// 整体满意度, 1 to 5.
    pub overall: i64,
    /// 办事效率 (online channels; optional).
    pub efficiency: Option<i64>,
    /// 办事指南精确度.
    pub guide_accuracy: Option<i64>,
    /// 办事便捷度.
    pub convenience: Option<i64>,
    /// 平台操作性.
    pub usability: Option<i64>,
    /// Codes from [`REASONS`].
    pub reasons: Vec<String>,
    /// What the person says.
    pub comment: String,
}

/// A rating checked: levels within 1 to 5, a 差评 with a reason or a comment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Checked {
    pub overall: Level,
    pub indicators: [Option<Level>; 4],
    pub reasons: Vec<String>,
    pub comment: String,
}

impl Rating {
    /// Checks the rating; the error says what is wrong. Indicators are asked online only.
    pub(crate) fn check(&self, channel: Channel) -> Result<Checked, FeedbackError> {
        let overall = Level::new(self.overall)?;
        let online = matches!(channel, Channel::Web | Channel::App | Channel::Wechat);
        let level = |v: Option<i64>| v.filter(|_| online).map(Level::new).transpose();
        let indicators =
            [level(self.efficiency)?, level(self.guide_accuracy)?, level(self.convenience)?, level(self.usability)?];
        let mut reasons: Vec<String> = Vec::new();
        for r in &self.reasons {
            let r = r.trim();
            if reason_label(r).is_none() {
                return Err(FeedbackError::Invalid(format!("不满意的原因“{r}”不在可选原因中")));
            }
            if !reasons.iter().any(|x| x == r) {
                reasons.push(r.to_owned());
            }
        }
        let comment = govhall_core::text::clean(self.comment.trim()).into_owned();
        if comment.chars().count() > MAX_COMMENT {
            return Err(FeedbackError::Invalid(format!("评价内容不能超过 {MAX_COMMENT} 个字")));
        }
        if overall.get() < 3 && reasons.is_empty() && comment.is_empty() {
            return Err(FeedbackError::Invalid("评价为“不满意”或“非常不满意”时，请选择原因或写下意见".into()));
        }
        Ok(Checked { overall, indicators, reasons, comment })
    }
}

/// An evaluation as stored.
#[derive(Debug, Clone, Serialize)]
pub struct Evaluation {
    /// Id.
    pub id: EvaluationId,
    /// The case.
    pub case_id: Uuid,
    /// Its serial number.
    pub serial_number: String,
    /// The item's code and name.
    pub item_code: String,
    /// The item's name.
    pub item_name: String,
    /// The department that handled the case.
    pub department_id: Uuid,
    /// Its region.
    pub region_code: String,
    /// Where it was given.
    pub channel: Channel,
    /// 整体满意度.
    pub overall: Level,
    /// The online indicators in [`INDICATORS`]' order.
    pub indicators: [Option<Level>; 4],
    /// Reason codes.
    pub reasons: Vec<String>,
    /// The comment.
    pub comment: String,
    /// Recorded by default when the period ended unrated.
    pub is_default: bool,
    /// Voided after an appeal (kept, out of the statistics).
    pub voided_at: Option<DateTime<Utc>>,
    /// Why.
    pub void_reason: String,
    /// The China date it counts on.
    pub rated_on: NaiveDate,
    /// Given.
    pub created_at: DateTime<Utc>,
    /// Changed (once).
    pub changed_at: Option<DateTime<Utc>>,
}

impl Evaluation {
    /// The reasons' texts.
    pub fn reason_labels(&self) -> Vec<&'static str> {
        self.reasons.iter().filter_map(|r| reason_label(r)).collect()
    }
}

pub(crate) const COLUMNS: &str = "id, case_id, serial_number, item_code, item_name, department_id, region_code, \
    channel, overall, efficiency, guide_accuracy, convenience, usability, reasons, comment, is_default, voided_at, \
    void_reason, rated_on, created_at, changed_at";

#[derive(Debug, Clone, sqlx::FromRow)]
pub(crate) struct Row {
    id: Uuid,
    case_id: Uuid,
    serial_number: String,
    item_code: String,
    item_name: String,
    department_id: Uuid,
    region_code: String,
    channel: String,
    overall: i16,
    efficiency: Option<i16>,
    guide_accuracy: Option<i16>,
    convenience: Option<i16>,
    usability: Option<i16>,
    reasons: String,
    comment: String,
    is_default: bool,
    voided_at: Option<DateTime<Utc>>,
    void_reason: String,
    rated_on: NaiveDate,
    created_at: DateTime<Utc>,
    changed_at: Option<DateTime<Utc>>,
}

impl Row {
    pub(crate) fn open(self) -> Result<Evaluation, FeedbackError> {
        let level = |v: Option<i16>| v.map(Level::try_from).transpose();
        Ok(Evaluation {
            id: EvaluationId::from_uuid(self.id),
            case_id: self.case_id,
            serial_number: self.serial_number,
            item_code: self.item_code,
            item_name: self.item_name,
            department_id: self.department_id,
            region_code: self.region_code,
            channel: Channel::parse(&self.channel)
                .ok_or_else(|| FeedbackError::Internal(format!("评价渠道“{}”无法识别", self.channel)))?,
            overall: Level::try_from(self.overall)?,
            indicators: [
                level(self.efficiency)?,
                level(self.guide_accuracy)?,
                level(self.convenience)?,
                level(self.usability)?,
            ],
            reasons: serde_json::from_str(&self.reasons)?,
            comment: self.comment,
            is_default: self.is_default,
            voided_at: self.voided_at,
            void_reason: self.void_reason,
            rated_on: self.rated_on,
            created_at: self.created_at,
            changed_at: self.changed_at,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bad_rating_needs_a_reason_or_a_comment() {
        let bad = Rating { overall: 2, ..Rating::default() };
        assert!(bad.check(Channel::Web).is_err());
        let with_reason = Rating { overall: 1, reasons: vec!["too_slow".into()], ..Rating::default() };
        assert!(with_reason.check(Channel::Web).is_ok());
        let with_comment = Rating { overall: 2, comment: " 跑了三次 ".into(), ..Rating::default() };
        assert_eq!(with_comment.check(Channel::Web).map(|c| c.comment).ok().as_deref(), Some("跑了三次"));
        let unknown = Rating { overall: 1, reasons: vec!["whatever".into()], ..Rating::default() };
        assert!(unknown.check(Channel::Web).is_err());
        assert!(Rating { overall: 3, ..Rating::default() }.check(Channel::Web).is_ok());
    }

    #[test]
    fn levels_stay_within_one_to_five() {
        for bad in [0, 6, -1] {
            assert!(Rating { overall: bad, ..Rating::default() }.check(Channel::App).is_err());
        }
        let off = Rating { overall: 5, efficiency: Some(9), ..Rating::default() };
        assert!(off.check(Channel::App).is_err());
        // A terminal does not ask the online indicators: what it sends of them is not kept.
        let kiosk = off.check(Channel::Kiosk).map(|c| c.indicators);
        assert_eq!(kiosk.ok(), Some([None; 4]));
    }

    #[test]
    fn direction_overrides_leave_comments() {
        let r = Rating { overall: 4, comment: "好\u{202E}评".into(), ..Rating::default() };
        assert_eq!(r.check(Channel::Web).map(|c| c.comment).ok().as_deref(), Some("好评"));
    }
}
