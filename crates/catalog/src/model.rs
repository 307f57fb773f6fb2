//! What an item (事项) is: its guide as one document, versioned as a whole.

use crate::form::{Eligibility, FormSchema};
use govhall_core::Money;
use serde::{Deserialize, Serialize};

/// The unit of a time limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum LimitUnit {
    /// Not given.
    #[default]
    None,
    /// 即办: decided at once.
    Immediate,
    /// 工作日.
    WorkingDays,
    /// 自然日.
    NaturalDays,
}

/// The longest time limit a guide may give, in days (ten years).
pub const MAX_LIMIT_DAYS: u32 = 3650;

/// The most visits (最多跑动次数) a guide may give.
pub const MAX_VISITS: u8 = 10;

/// A time limit (办结时限): a number and a unit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct TimeLimit {
    /// How many.
    pub amount: u32,
    /// Of what.
    pub unit: LimitUnit,
}

impl TimeLimit {
    /// Whether a guide may give this limit: a number of days from 1 to [`MAX_LIMIT_DAYS`]
    /// (immediate and none have no number). `label` names it in the message.
    pub fn check(&self, label: &str) -> Result<(), String> {
        match self.unit {
            LimitUnit::WorkingDays | LimitUnit::NaturalDays if !(1..=MAX_LIMIT_DAYS).contains(&self.amount) => {
                Err(format!("{label}应为 1 到 {MAX_LIMIT_DAYS} 之间的天数"))
            }
            _ => Ok(()),
        }
    }

    /// Reads the sources' form: `30(工作日)`, `5（自然日）`, `即办`, `无` or empty.
    pub fn parse(text: &str) -> Result<TimeLimit, String> {
        let t = text.trim().replace('（', "(").replace('）', ")");
        if t.is_empty() || t == "无" {
            return Ok(TimeLimit::default());
        }
        if t == "即办" || t == "即办件" {
            return Ok(TimeLimit { amount: 0, unit: LimitUnit::Immediate });
        }
        let (number, unit) = match t.split_once('(') {
            Some((n, u)) => (n.trim(), u.trim_end_matches(')').trim()),
            None => (t.trim_end_matches("个工作日").trim_end_matches("工作日"), "工作日"),
        };
        let amount: u32 = number.parse().map_err(|_| format!("办结时限“{text}”应为数字加单位，如 30(工作日)"))?;
        let unit = match unit {
            "工作日" => LimitUnit::WorkingDays,
            "自然日" | "天" | "日" => LimitUnit::NaturalDays,
            other => return Err(format!("办结时限“{text}”的单位“{other}”无法识别")),
        };
        if amount == 0 {
            return Ok(TimeLimit { amount: 0, unit: LimitUnit::Immediate });
        }
        Ok(TimeLimit { amount, unit })
    }

    /// The sources' form, which [`TimeLimit::parse`] reads back: `30(工作日)`, `即办`, `无`.
    pub fn source_text(&self) -> String {
        match self.unit {
            LimitUnit::None => "无".to_owned(),
            LimitUnit::Immediate => "即办".to_owned(),
            LimitUnit::WorkingDays => format!("{}(工作日)", self.amount),
            LimitUnit::NaturalDays => format!("{}(自然日)", self.amount),
        }
    }

    /// As people read it: 30个工作日, 即办, 无.
    pub fn label(&self) -> String {
        match self.unit {
            LimitUnit::None => "无".to_owned(),
            LimitUnit::Immediate => "即办".to_owned(),
            LimitUnit::WorkingDays => format!("{}个工作日", self.amount),
            LimitUnit::NaturalDays => format!("{}个自然日", self.amount),
        }
    }
}

/// A material (申请材料) the applicant provides.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Material {
    /// Its name.
    pub name: String,
    /// Whether it must be given.
    pub required: bool,
    /// Originals and copies (原件1份，复印件1份), as text.
    #[serde(default)]
    pub copies: String,
    /// Accepted formats for uploads (pdf, jpg …), as text.
    #[serde(default)]
    pub formats: String,
    /// Where the blank template can be downloaded.
    #[serde(default)]
    pub template_url: String,
    /// Where a filled-in sample can be downloaded.
    #[serde(default)]
    pub sample_url: String,
    /// Whether it can come from the electronic license registry instead of an upload.
    #[serde(default)]
    pub from_license: bool,
}

impl Material {
    /// One line of the editors' text form: `名称|必要|份数|格式|可用电子证照 是/否`.
    pub fn to_line(&self) -> String {
        let yes = if self.from_license { "是" } else { "否" };
        format!(
            "{}|{}|{}|{}|{yes}",
            self.name,
            if self.required { "必要" } else { "非必要" },
            self.copies,
            self.formats
        )
    }

    /// Materials from the text form, one a line; links of a material of the same name in
    /// `before` are kept. An error names the line.
    pub fn parse_lines(text: &str, before: &[Material]) -> Result<Vec<Material>, String> {
        let mut materials = Vec::new();
        for (i, line) in text.lines().map(str::trim).filter(|l| !l.is_empty()).enumerate() {
            let parts: Vec<&str> = line.split('|').map(str::trim).collect();
            let required = match parts.get(1).copied().unwrap_or("必要") {
                "" | "必要" | "是" => true,
                "非必要" | "否" => false,
                other => return Err(format!("材料第 {} 行的“{other}”应为“必要”或“非必要”", i + 1)),
            };
            let kept = before.iter().find(|m| m.name == parts[0]).cloned().unwrap_or_default();
            materials.push(Material {
                name: parts[0].to_owned(),
                required,
                copies: parts.get(2).copied().unwrap_or_default().to_owned(),
                formats: parts.get(3).copied().unwrap_or_default().to_owned(),
                from_license: parts.get(4).copied() == Some("是"),
                ..kept
            });
        }
        Ok(materials)
    }
}

pub use crate::fees::{Fee, FeeDue, FeeRule, Tier};

/// Who an item is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Audience {
    /// 个人.
    Person,
    /// 法人.
    Enterprise,
    /// Both.
    #[default]
    Both,
}

impl Audience {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Audience::Person => "person",
            Audience::Enterprise => "enterprise",
            Audience::Both => "both",
        }
    }

    /// In Chinese.
    pub fn label(self) -> &'static str {
        match self {
            Audience::Person => "个人",
            Audience::Enterprise => "法人",
            Audience::Both => "个人、法人",
        }
    }

    /// Parses the stored name.
    pub fn parse(s: &str) -> Option<Audience> {
        [Audience::Person, Audience::Enterprise, Audience::Both].into_iter().find(|a| a.as_str() == s)
    }
}

/// The administrative level of an item.
pub const LEVELS: [(&str, &str); 3] = [("province", "省级"), ("city", "市级"), ("county", "县级")];

/// The Chinese name of a level.
pub fn level_label(level: &str) -> &'static str {
    LEVELS.iter().find(|(code, _)| *code == level).map_or("", |(_, label)| label)
}

/// A related item, by code.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Related {
    /// The related item's code.
    pub code: String,
    /// `prerequisite` (办理前需先办), `next_step` (办完后可办), `together` (常一起办).
    pub kind: String,
}

/// The relation kinds, with their Chinese names.
pub const RELATION_KINDS: [(&str, &str); 3] =
    [("prerequisite", "办理前需先办"), ("next_step", "办完后可继续办"), ("together", "常一起办理")];

/// A tag of the navigations, by kind and name.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct TagRef {
    /// The kind (`life_event`, `theme` …).
    pub kind: String,
    /// The name.
    pub name: String,
}

/// An item's guide (办事指南): everything a version holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct ItemContent {
    /// Name.
    pub name: String,
    /// Short name (简称).
    pub short_name: String,
    /// Everyday phrases (公众语言).
    pub phrases: Vec<String>,
    /// The item type's code as the source gives it.
    pub type_code: String,
    /// The item type's text (行政许可 …).
    pub type_text: String,
    /// The nature code of DOMAIN.md (01 行政许可 … 10 其他行政权力, 11 公共服务).
    pub nature_code: String,
    /// `province`, `city` or `county`.
    pub level: String,
    /// Who it is for.
    pub audience: Audience,
    /// Conditions (受理条件), one per entry.
    pub conditions: Vec<String>,
    /// Materials.
    pub materials: Vec<Material>,
    /// Statutory time limit (法定办结时限).
    pub statutory_limit: TimeLimit,
    /// Promised time limit (承诺办结时限).
    pub promised_limit: TimeLimit,
    /// Fees; empty when free.
    pub fees: Vec<Fee>,
    /// Legal basis (设定依据).
    pub legal_basis: String,
    /// Where to go (办理地点).
    pub place: String,
    /// Consultation phone.
    pub consult_phone: String,
    /// Complaint phone.
    pub complaint_phone: String,
    /// Online depth: 1 information only … 5 fully online.
    pub online_depth: u8,
    /// Whether it can be applied for online.
    pub online_apply: bool,
    /// Whether visits can be booked.
    pub appointment: bool,
    /// Whether results can be couriered.
    pub courier: bool,
    /// Visits the applicant makes at most (最多跑动次数).
    pub visits: u8,
    /// Tags of the navigations.
    pub tags: Vec<TagRef>,
    /// Related items.
    pub related: Vec<Related>,
    /// Where the source publishes it.
    pub source_url: String,
    /// The application form, when the item has its own (else [`FormSchema::standard`]).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub form: Option<FormSchema>,
    /// The self-check, when the item has its own (else one made from the conditions).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub eligibility: Option<Eligibility>,
}

/// The online depths with their Chinese descriptions.
pub const ONLINE_DEPTHS: [(u8, &str); 5] = [
    (1, "一级：网上发布办事信息"),
    (2, "二级：网上下载表格"),
    (3, "三级：网上预审"),
    (4, "四级：网上受理、办理"),
    (5, "五级：全程网办"),
];

/// The Chinese description of an online depth.
pub fn depth_label(depth: u8) -> &'static str {
    ONLINE_DEPTHS.iter().find(|(d, _)| *d == depth).map_or("", |(_, l)| l)
}

/// The nature code of DOMAIN.md for an item type's text.
pub fn nature_code(type_text: &str) -> &'static str {
    match type_text.trim() {
        "行政许可" => "01",
        "行政处罚" => "02",
        "行政强制" => "03",
        "行政征收" => "04",
        "行政给付" => "05",
        "行政检查" => "06",
        "行政确认" => "07",
        "行政奖励" => "08",
        "行政裁决" => "09",
        "其他行政权力" => "10",
        _ => "11",
    }
}

impl ItemContent {
    /// The application form applicants fill in.
    pub fn application_form(&self) -> FormSchema {
        let mut form = self.form.clone().unwrap_or_else(FormSchema::standard);
        if self.courier {
            crate::form::delivery::add_to(&mut form);
        }
        form
    }

    /// The self-check offered before applying.
    pub fn self_check(&self) -> Eligibility {
        self.eligibility.clone().unwrap_or_else(|| Eligibility::from_conditions(&self.conditions))
    }

    /// The short name and phrases, for lists and search.
    pub fn phrase_text(&self) -> String {
        let mut all: Vec<&str> = Vec::new();
        if !self.short_name.is_empty() {
            all.push(&self.short_name);
        }
        all.extend(self.phrases.iter().map(String::as_str));
        all.join("，")
    }

    /// Whether the guide says nothing about fees: free.
    pub fn is_free(&self) -> bool {
        self.fees.iter().all(|f| f.amount == Money::ZERO && f.rule == FeeRule::Fixed)
    }

    /// The fees due at `due`.
    pub fn fees_due(&self, due: FeeDue) -> impl Iterator<Item = &Fee> + '_ {
        self.fees.iter().filter(move |f| f.due == due && !(f.amount == Money::ZERO && f.rule == FeeRule::Fixed))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_limits_read_the_sources_forms() {
        assert_eq!(TimeLimit::parse("30(工作日)").unwrap(), TimeLimit { amount: 30, unit: LimitUnit::WorkingDays });
        assert_eq!(TimeLimit::parse("5（自然日）").unwrap(), TimeLimit { amount: 5, unit: LimitUnit::NaturalDays });
        assert_eq!(TimeLimit::parse("无").unwrap(), TimeLimit::default());
        assert_eq!(TimeLimit::parse("").unwrap(), TimeLimit::default());
        assert_eq!(TimeLimit::parse("即办").unwrap().unit, LimitUnit::Immediate);
        assert_eq!(TimeLimit::parse("0(工作日)").unwrap().unit, LimitUnit::Immediate);
        assert!(TimeLimit::parse("三十(工作日)").unwrap_err().contains("三十"));
        assert!(TimeLimit::parse("3(月)").unwrap_err().contains("单位"));
        assert_eq!(TimeLimit::parse("20(工作日)").unwrap().label(), "20个工作日");
    }

    #[test]
    fn natures_follow_the_ten_powers() {
        assert_eq!(nature_code("行政许可"), "01");
        assert_eq!(nature_code("其他行政权力"), "10");
        assert_eq!(nature_code("公共服务"), "11");
    }
}
