//! An item's fees (收费): each with the fiscal payment item code (支付项目代码), how its amount is
//! reckoned (a fixed sum, a unit price times a number the applicant gives, or tiers by that
//! number), and when it is due (at submission, or after the decision: 先审后缴). Amounts are
//! integer fen throughout; an amount that cannot be reckoned from the answers is an error that
//! says why, never a guess.

use crate::form::Answers;
use govhall_core::Money;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// When a fee is due.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum FeeDue {
    /// With the application: the case waits for payment before staff take it up.
    #[default]
    Submission,
    /// After a granting decision (先审后缴): the result waits for payment.
    Decision,
}

impl FeeDue {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            FeeDue::Submission => "submission",
            FeeDue::Decision => "decision",
        }
    }

    /// In Chinese, as staff write it in the fee line.
    pub fn label(self) -> &'static str {
        match self {
            FeeDue::Submission => "提交后缴费",
            FeeDue::Decision => "先审后缴",
        }
    }

    /// Reads a stored name or the Chinese label.
    pub fn parse(s: &str) -> Option<FeeDue> {
        match s.trim() {
            "submission" | "提交后缴费" | "" => Some(FeeDue::Submission),
            "decision" | "先审后缴" => Some(FeeDue::Decision),
            _ => None,
        }
    }
}

/// A tier: quantities up to `up_to` (inclusive; the last tier has none) cost `amount`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tier {
    /// The largest quantity of this tier; `None` for everything above the previous tier.
    pub up_to: Option<i64>,
    /// What the tier costs.
    pub amount: Money,
}

/// How a fee's amount is reckoned.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum FeeRule {
    /// The fee's amount as it stands.
    #[default]
    Fixed,
    /// The fee's amount per unit, times the number the applicant gave in `field`.
    PerUnit {
        /// The form field holding the number of units.
        field: String,
    },
    /// The amount of the tier the number in `field` falls in.
    Tiered {
        /// The form field holding the number.
        field: String,
        /// Tiers in increasing order, the last one open.
        tiers: Vec<Tier>,
    },
}

/// A fee (收费).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Fee {
    /// What is charged.
    pub name: String,
    /// The fiscal payment item code (支付项目代码).
    #[serde(default)]
    pub code: String,
    /// The amount (stored in fen): the sum for a fixed fee, the unit price for a per-unit one;
    /// unused for tiers.
    pub amount: Money,
    /// How the amount is reckoned.
    #[serde(default)]
    pub rule: FeeRule,
    /// When it is due.
    #[serde(default)]
    pub due: FeeDue,
}

/// The most units a per-unit fee counts (a typo of extra digits is an error, not a bill).
pub const MAX_UNITS: i64 = 100_000;

impl Fee {
    /// A fixed fee due at submission.
    pub fn fixed(name: &str, code: &str, amount: Money) -> Fee {
        Fee { name: name.into(), code: code.into(), amount, rule: FeeRule::Fixed, due: FeeDue::Submission }
    }

    /// The amount due for these answers, or what is missing to reckon it.
    pub fn amount_for(&self, answers: &Answers) -> Result<Money, String> {
        match &self.rule {
            FeeRule::Fixed => Ok(self.amount),
            FeeRule::PerUnit { field } => {
                let units = quantity(answers, field).map_err(|e| format!("“{}”：{e}", self.name))?;
                if units < 1 {
                    return Err(format!("“{}”按件计费，数量至少为 1", self.name));
                }
                let fen = self
                    .amount
                    .fen()
                    .checked_mul(units)
                    .ok_or_else(|| format!("“{}”的金额超出允许的范围", self.name))?;
                Money::from_fen(fen).map_err(|_| format!("“{}”的金额超出允许的范围", self.name))
            }
            FeeRule::Tiered { field, tiers } => {
                let n = quantity(answers, field).map_err(|e| format!("“{}”：{e}", self.name))?;
                tiers
                    .iter()
                    .find(|t| t.up_to.is_none_or(|up| n <= up))
                    .map(|t| t.amount)
                    .ok_or_else(|| format!("“{}”没有适用于 {n} 的档次", self.name))
            }
        }
    }

    /// Whether the fee can be reckoned at all: names, codes and tiers in order.
    pub fn check(&self) -> Result<(), String> {
        let name = self.name.trim();
        if name.is_empty() || name.chars().count() > 100 {
            return Err("收费项目名称应为 1 到 100 个字".into());
        }
        if !self.code.is_empty() && (self.code.len() > 32 || !self.code.bytes().all(|b| b.is_ascii_alphanumeric())) {
            return Err(format!("“{name}”的支付项目代码只能由不超过 32 位的字母和数字组成"));
        }
        let field_ok =
            |f: &str| !f.is_empty() && f.len() <= 64 && f.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
        match &self.rule {
            FeeRule::Fixed => Ok(()),
            FeeRule::PerUnit { field } if !field_ok(field) => Err(format!("“{name}”按件计费的表单字段“{field}”无效")),
            FeeRule::PerUnit { .. } => Ok(()),
            FeeRule::Tiered { field, .. } if !field_ok(field) => {
                Err(format!("“{name}”分档计费的表单字段“{field}”无效"))
            }
            FeeRule::Tiered { tiers, .. } => {
                let Some(last) = tiers.last() else {
                    return Err(format!("“{name}”分档计费至少需要一档"));
                };
                if last.up_to.is_some() {
                    return Err(format!("“{name}”的最后一档应为“*”（其余数量）"));
                }
                let bounds: Vec<i64> = tiers[..tiers.len() - 1].iter().filter_map(|t| t.up_to).collect();
                if bounds.len() != tiers.len() - 1
                    || bounds.windows(2).any(|w| w[0] >= w[1])
                    || bounds.first() < Some(&0)
                {
                    return Err(format!("“{name}”的档次上限应从小到大排列，只有最后一档为“*”"));
                }
                Ok(())
            }
        }
    }

    /// The fee as staff edit it: `名称|支付项目代码|金额（元）|计费方式|缴费时点`, where 计费方式
    /// is `固定`, `按件:字段` or `分档:字段:10=5.00;20=8.00;*=10.00`.
    pub fn to_line(&self) -> String {
        let rule = match &self.rule {
            FeeRule::Fixed => "固定".to_owned(),
            FeeRule::PerUnit { field } => format!("按件:{field}"),
            FeeRule::Tiered { field, tiers } => {
                let tiers: Vec<String> = tiers
                    .iter()
                    .map(|t| format!("{}={}", t.up_to.map_or("*".to_owned(), |u| u.to_string()), t.amount.yuan()))
                    .collect();
                format!("分档:{field}:{}", tiers.join(";"))
            }
        };
        format!("{}|{}|{}|{}|{}", self.name, self.code, self.amount.yuan(), rule, self.due.label())
    }

    /// Reads [`Fee::to_line`]'s form (the last two parts may be left out: fixed, due at
    /// submission); the error says what is wrong.
    pub fn parse_line(line: &str) -> Result<Fee, String> {
        let parts: Vec<&str> = line.split('|').map(str::trim).collect();
        if !(3..=5).contains(&parts.len()) {
            return Err("应为“名称|支付项目代码|金额（元）|计费方式|缴费时点”，后两项可省略".into());
        }
        let yuan = |s: &str| Money::parse_yuan(s).map_err(|e| govhall_core::Coded::message(&e));
        let amount = yuan(parts[2])?;
        let rule = match parts.get(3).copied().unwrap_or("固定") {
            "" | "固定" => FeeRule::Fixed,
            other if other.starts_with("按件:") => {
                FeeRule::PerUnit { field: other["按件:".len()..].trim().to_owned() }
            }
            other if other.starts_with("分档:") => {
                let (field, list) =
                    other["分档:".len()..].split_once(':').ok_or("分档应写为“分档:字段:10=5.00;20=8.00;*=10.00”")?;
                let mut tiers = Vec::new();
                for part in list.split(';').map(str::trim).filter(|p| !p.is_empty()) {
                    let (bound, price) =
                        part.split_once('=').ok_or_else(|| format!("档次“{part}”应写为“上限=金额”"))?;
                    let up_to = match bound.trim() {
                        "*" => None,
                        b => Some(b.parse::<i64>().map_err(|_| format!("档次上限“{b}”应为整数或“*”"))?),
                    };
                    tiers.push(Tier { up_to, amount: yuan(price)? });
                }
                FeeRule::Tiered { field: field.trim().to_owned(), tiers }
            }
            other => return Err(format!("计费方式“{other}”应为“固定”“按件:字段”或“分档:字段:档次”")),
        };
        let due_text = parts.get(4).copied().unwrap_or("");
        let due = FeeDue::parse(due_text).ok_or_else(|| format!("缴费时点“{due_text}”应为“提交后缴费”或“先审后缴”"))?;
        let fee = Fee { name: parts[0].to_owned(), code: parts[1].to_owned(), amount, rule, due };
        fee.check()?;
        Ok(fee)
    }

    /// How the amount is reckoned, for the guide (`每件 5.00 元`, `按数量分档`).
    pub fn describe(&self) -> String {
        match &self.rule {
            FeeRule::Fixed => format!("{} 元", self.amount.yuan()),
            FeeRule::PerUnit { .. } => format!("每件 {} 元，按申请数量计", self.amount.yuan()),
            FeeRule::Tiered { tiers, .. } => {
                let mut from = 1;
                let parts: Vec<String> = tiers
                    .iter()
                    .map(|t| {
                        let text = match t.up_to {
                            Some(up) => format!("{from}–{up}：{} 元", t.amount.yuan()),
                            None => format!("{from} 以上：{} 元", t.amount.yuan()),
                        };
                        from = t.up_to.map_or(from, |u| u + 1);
                        text
                    })
                    .collect();
                format!("按数量分档（{}）", parts.join("；"))
            }
        }
    }
}

/// The whole number of units an applicant gave in `field` (text or a JSON number).
fn quantity(answers: &Answers, field: &str) -> Result<i64, String> {
    let n = match answers.get(field) {
        Some(Value::Number(n)) => n.as_i64(),
        Some(Value::String(s)) if !s.trim().is_empty() => s.trim().parse::<i64>().ok(),
        _ => return Err(format!("申请中没有填写计费所需的数量（字段 {field}）")),
    };
    match n {
        Some(n) if (0..=MAX_UNITS).contains(&n) => Ok(n),
        _ => Err(format!("计费数量应为 0 到 {MAX_UNITS} 的整数")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn answers(v: Value) -> Answers {
        v.as_object().cloned().unwrap_or_default()
    }

    fn yuan(s: &str) -> Money {
        Money::parse_yuan(s).unwrap_or_default()
    }

    #[test]
    fn fixed_per_unit_and_tiered_amounts_are_reckoned_in_fen() {
        let fixed = Fee::parse_line("工本费|103001|20.00").unwrap();
        assert_eq!(fixed.amount_for(&Answers::new()).unwrap(), yuan("20"));
        assert_eq!(fixed.due, FeeDue::Submission);

        let per = Fee::parse_line("证书费|103002|0.35|按件:copies|先审后缴").unwrap();
        assert_eq!(per.due, FeeDue::Decision);
        assert_eq!(per.amount_for(&answers(json!({"copies": "3"}))).unwrap().fen(), 105);
        assert_eq!(per.amount_for(&answers(json!({"copies": 7}))).unwrap().fen(), 245);
        assert!(per.amount_for(&Answers::new()).unwrap_err().contains("copies"));
        assert!(per.amount_for(&answers(json!({"copies": "0"}))).unwrap_err().contains("至少为 1"));
        assert!(per.amount_for(&answers(json!({"copies": "-1"}))).unwrap_err().contains("整数"));
        assert!(per.amount_for(&answers(json!({"copies": "1.5"}))).unwrap_err().contains("整数"));
        assert!(per.amount_for(&answers(json!({"copies": "100001"}))).is_err());

        let tiered = Fee::parse_line("检测费|103003|0|分档:area:100=50.00;500=120.50;*=300").unwrap();
        let for_area = |a: i64| tiered.amount_for(&answers(json!({ "area": a }))).unwrap().fen();
        assert_eq!(
            (for_area(0), for_area(100), for_area(101), for_area(500), for_area(501)),
            (5000, 5000, 12050, 12050, 30000)
        );
    }

    #[test]
    fn lines_read_back_and_mistakes_are_named() {
        for line in [
            "工本费|103001|20.00|固定|提交后缴费",
            "证书费|103002|0.35|按件:copies|先审后缴",
            "检测费|A1|0.00|分档:area:100=50.00;*=300.00|提交后缴费",
        ] {
            assert_eq!(Fee::parse_line(line).unwrap().to_line(), line);
        }
        let err = |l: &str| Fee::parse_line(l).unwrap_err();
        assert!(err("工本费|1").contains("名称|支付项目代码"));
        assert!(err("工本费|1|二十").contains("数字"));
        assert!(err("工本费|1|1.001").contains("两位小数"));
        assert!(err("工本费|1|1|按斤").contains("计费方式"));
        assert!(err("工本费|1|1|固定|明天").contains("缴费时点"));
        assert!(err("检测费|1|0|分档:area:100=5;50=6;*=7").contains("从小到大"));
        assert!(err("检测费|1|0|分档:area:100=5").contains("最后一档"));
        assert!(err("检测费|1|0|分档:area:x=5;*=6").contains("整数"));
        assert!(err("工本费|10 3|1").contains("支付项目代码"));
        assert!(err("|1|1").contains("名称"));
    }

    #[test]
    fn stored_fees_without_rule_or_due_read_as_fixed_at_submission() {
        let fee: Fee = serde_json::from_value(json!({"name": "工本费", "code": "1", "amount": 2000})).unwrap();
        assert_eq!((&fee.rule, fee.due), (&FeeRule::Fixed, FeeDue::Submission));
        assert_eq!(fee.describe(), "20.00 元");
        let tiered = Fee::parse_line("检测费|1|0|分档:area:100=50;*=300").unwrap();
        assert_eq!(tiered.describe(), "按数量分档（1–100：50.00 元；101 以上：300.00 元）");
    }
}
