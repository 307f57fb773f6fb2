//! Large catalogues derived from the real one, for benchmarks: every derived item is a real item
//! moved to another region, its department renamed for that region, its name sometimes given a
//! variant (变更, 延续 …), with a code of its own.

use govhall_catalog::store::Indexable;
use uuid::Uuid;

/// Variants appended to some derived names, as real catalogues split an item into cases.
const VARIANTS: &[&str] = &["新办", "变更", "延续", "注销", "补办", "迁移", "年度报告", "备案", "换证", "撤销"];

/// A region to move items to: its code, short name and full name.
#[derive(Debug, Clone)]
pub struct Region {
    /// 6-digit code.
    pub code: String,
    /// Short name (越秀区).
    pub name: String,
    /// Full name (广东省广州市越秀区).
    pub full_name: String,
}

/// `n` items derived from `base` across `regions` (deterministic for the same input).
pub fn derive(base: &[Indexable], regions: &[Region], n: usize) -> Vec<Indexable> {
    if base.is_empty() || regions.is_empty() {
        return Vec::new();
    }
    let mut out = Vec::with_capacity(n);
    let mut departments: std::collections::HashMap<(String, String), Uuid> = std::collections::HashMap::new();
    for i in 0..n {
        let source = &base[i % base.len()];
        let region = &regions[(i / base.len() * 7919 + i) % regions.len()];
        let mut x = source.clone();
        x.item.code = format!("{}-G{i:06}", source.item.code);
        let department = format!("{}{}", region.name, strip_region(&source.item.department));
        let id = *departments
            .entry((region.code.clone(), department.clone()))
            .or_insert_with(|| Uuid::from_u128(0x6e0d_0000_0000_0000_0000_0000_0000_0000 | i as u128));
        x.item.department_id = id;
        x.item.department = department;
        x.item.region_code = region.code.clone();
        x.item.region = region.full_name.clone();
        if i % 3 == 1 {
            let variant = VARIANTS[(i / 3) % VARIANTS.len()];
            x.content.name = format!("{}（{variant}）", source.content.name);
            x.item.name = x.content.name.clone();
        }
        x.content.level = if region.code.ends_with("0000") {
            "province".to_owned()
        } else if region.code.ends_with("00") {
            "city".to_owned()
        } else {
            "county".to_owned()
        };
        out.push(x);
    }
    out
}

/// A department's name without the region it starts with (广东省公安厅 → 公安厅).
fn strip_region(name: &str) -> &str {
    for marker in ["自治区", "省", "市", "区", "县"] {
        if let Some((head, rest)) = name.split_once(marker)
            && head.chars().count() <= 4
            && !rest.is_empty()
        {
            return rest;
        }
    }
    name
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn region_names_are_taken_off_departments() {
        assert_eq!(strip_region("广东省公安厅"), "公安厅");
        assert_eq!(strip_region("区经信局"), "经信局");
        assert_eq!(strip_region("公安部"), "公安部");
    }
}
