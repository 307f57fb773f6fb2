//! The self-check (条件自检): a few questions with rules that say "you can apply", or "you
//! cannot, because …; what to do instead". Edited by catalogue staff with the item.

use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// One question.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
pub struct Question {
    /// Its key (a–z, 0–9, _).
    pub key: String,
    /// The question.
    pub text: String,
    /// Help under it.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub help: String,
    /// The answers to choose from; a yes/no question has 是 and 否.
    pub options: Vec<String>,
}

/// A rule: when every named question has one of the given answers, the applicant cannot apply.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
pub struct Rule {
    /// Question key → answers that trigger the rule.
    #[serde(deserialize_with = "one_or_many_map")]
    pub when: BTreeMap<String, Vec<String>>,
    /// Why they cannot apply.
    pub reason: String,
    /// What they can do instead.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub instead: String,
}

/// An item's self-check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
pub struct Eligibility {
    /// The questions, in order.
    pub questions: Vec<Question>,
    /// The rules; the first that matches decides.
    pub rules: Vec<Rule>,
}

fn one_or_many_map<'de, D: serde::Deserializer<'de>>(d: D) -> Result<BTreeMap<String, Vec<String>>, D::Error> {
    #[derive(Deserialize)]
    struct Values(#[serde(deserialize_with = "super::one_or_many")] Vec<String>);
    let map: BTreeMap<String, Values> = BTreeMap::deserialize(d)?;
    Ok(map.into_iter().map(|(k, Values(v))| (k, v)).collect())
}

/// What the self-check concludes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum Outcome {
    /// They can apply.
    Eligible,
    /// They cannot, and why, and what else.
    Ineligible {
        /// Why.
        reason: String,
        /// What to do instead.
        instead: String,
    },
    /// Some questions are unanswered or answered with something not offered.
    Unanswered {
        /// The keys of those questions.
        questions: Vec<String>,
    },
}

impl Eligibility {
    /// Decides from the answers (question key → chosen option).
    pub fn decide(&self, answers: &BTreeMap<String, String>) -> Outcome {
        let missing: Vec<String> = self
            .questions
            .iter()
            .filter(|q| !answers.get(&q.key).is_some_and(|a| q.options.contains(a)))
            .map(|q| q.key.clone())
            .collect();
        if !missing.is_empty() {
            return Outcome::Unanswered { questions: missing };
        }
        for rule in &self.rules {
            if rule.when.iter().all(|(q, values)| answers.get(q).is_some_and(|a| values.contains(a))) {
                return Outcome::Ineligible { reason: rule.reason.clone(), instead: rule.instead.clone() };
            }
        }
        Outcome::Eligible
    }

    /// Checks what an editor wrote; each problem in Chinese.
    pub fn check(&self) -> Result<(), Vec<String>> {
        let mut problems = Vec::new();
        let mut keys = BTreeSet::new();
        for q in &self.questions {
            if q.key.is_empty()
                || !q.key.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
                || !keys.insert(q.key.as_str())
            {
                problems.push(format!("问题“{}”的 key 应为唯一的小写字母、数字或下划线", q.text));
            }
            if q.text.trim().is_empty() {
                problems.push(format!("问题“{}”缺少问题文字（text）", q.key));
            }
            if q.options.len() < 2 {
                problems.push(format!("问题“{}”至少需要两个选项", q.text));
            }
        }
        for (i, rule) in self.rules.iter().enumerate() {
            if rule.reason.trim().is_empty() {
                problems.push(format!("第 {} 条规则缺少原因（reason）", i + 1));
            }
            if rule.when.is_empty() {
                problems.push(format!("第 {} 条规则缺少条件（when）", i + 1));
            }
            for (key, values) in &rule.when {
                match self.questions.iter().find(|q| &q.key == key) {
                    None => problems.push(format!("第 {} 条规则引用了不存在的问题“{key}”", i + 1)),
                    Some(q) => {
                        if let Some(v) = values.iter().find(|v| !q.options.contains(v)) {
                            problems.push(format!("第 {} 条规则的“{v}”不是问题“{}”的选项", i + 1, q.text));
                        }
                    }
                }
            }
        }
        if problems.is_empty() { Ok(()) } else { Err(problems) }
    }

    /// A self-check made from the guide's conditions (受理条件): one yes/no question each,
    /// "否" to any of them means the applicant does not meet it.
    pub fn from_conditions(conditions: &[String]) -> Eligibility {
        let conditions: Vec<&String> = conditions.iter().filter(|c| !c.trim().is_empty()).take(10).collect();
        let questions = conditions
            .iter()
            .enumerate()
            .map(|(i, c)| Question {
                key: format!("c{}", i + 1),
                text: format!("您是否符合：{}", c.trim()),
                help: String::new(),
                options: vec!["是".into(), "否".into()],
            })
            .collect();
        let rules = conditions
            .iter()
            .enumerate()
            .map(|(i, c)| Rule {
                when: BTreeMap::from([(format!("c{}", i + 1), vec!["否".into()])]),
                reason: format!("申请需符合“{}”", c.trim()),
                instead: "如对条件有疑问，请拨打办事指南中的咨询电话或到窗口咨询".into(),
            })
            .collect();
        Eligibility { questions, rules }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check() -> Eligibility {
        serde_json::from_str(
            r#"{"questions":[
                {"key":"resident","text":"您是否具有本省户籍？","options":["是","否"]},
                {"key":"age","text":"您的年龄","options":["未满18周岁","18至60周岁","60周岁以上"]}],
              "rules":[
                {"when":{"resident":["否"]},"reason":"本事项仅受理本省户籍居民","instead":"请向户籍所在地申请"},
                {"when":{"age":["未满18周岁"]},"reason":"申请人须年满18周岁","instead":"请由监护人代为申请"}]}"#,
        )
        .unwrap()
    }

    fn answers(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
    }

    #[test]
    fn rules_decide_in_order() {
        let e = check();
        e.check().unwrap();
        assert_eq!(e.decide(&answers(&[("resident", "是"), ("age", "18至60周岁")])), Outcome::Eligible);
        let Outcome::Ineligible { reason, instead } = e.decide(&answers(&[("resident", "是"), ("age", "未满18周岁")]))
        else {
            panic!("should be ineligible")
        };
        assert_eq!((reason.as_str(), instead.as_str()), ("申请人须年满18周岁", "请由监护人代为申请"));
        assert_eq!(
            e.decide(&answers(&[("resident", "也许")])),
            Outcome::Unanswered { questions: vec!["resident".into(), "age".into()] }
        );
    }

    #[test]
    fn editors_mistakes_are_named() {
        let mut e = check();
        e.rules[0].when.insert("nowhere".into(), vec!["是".into()]);
        e.rules[1].when.insert("resident".into(), vec!["可能".into()]);
        let problems = e.check().unwrap_err().join("\n");
        assert!(problems.contains("不存在的问题“nowhere”"), "{problems}");
        assert!(problems.contains("“可能”不是问题"), "{problems}");
    }

    #[test]
    fn conditions_become_questions() {
        let e = Eligibility::from_conditions(&["具有完全民事行为能力".into(), " ".into()]);
        e.check().unwrap();
        assert_eq!(e.questions.len(), 1);
        assert!(matches!(e.decide(&answers(&[("c1", "否")])), Outcome::Ineligible { .. }));
    }
}
